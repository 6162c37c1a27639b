import { readFileSync } from "node:fs";
import path from "node:path";
import wabtInit from "wabt";
import { describe, expect, it } from "vitest";
import { Chunker, DEFAULT_CHUNKER } from "../../src/repo/chunker.js";
import { GEAR_WASM } from "../../src/repo/gear-wasm.js";
import { seededBytes } from "./helpers.js";

describe("gear loop in WebAssembly", () => {
  it("is exactly what wabt makes of src/repo/gear.wat", async () => {
    const wabt = await wabtInit();
    const source = readFileSync(path.join(import.meta.dirname, "../../src/repo/gear.wat"), "utf8");
    const module = wabt.parseWat("gear.wat", source);
    module.validate();
    expect(Buffer.from(module.toBinary({}).buffer).equals(GEAR_WASM)).toBe(true);
  });

  // Small sizes make thousands of cuts (both masks, odd and even offsets, every length class).
  const cases = [
    ["default sizes", DEFAULT_CHUNKER],
    ["small sizes", { ...DEFAULT_CHUNKER, min: 61, avg: 256, max: 1031, seed: "0a1b" }],
  ] as const;
  for (const [name, params] of cases) {
    it(`cuts every read buffer exactly as the JavaScript reference (${name})`, () => {
      const c = new Chunker(params);
      const buf = c.readBuffer();
      const random = seededBytes(buf.length, name);
      // Random bytes, then runs of one byte (no cut before max) and a short repeating pattern.
      buf.set(random);
      buf.fill(7, 100_000, 100_000 + 2 * params.max);
      for (let i = buf.length - 200_000; i < buf.length - 100_000; i++) buf[i] = i % 5;
      let cuts = 0;
      for (const end of [buf.length, buf.length - 1, 2_500_001]) {
        for (let pos = 0; pos < end; ) {
          const len = c.cut(buf, pos, end);
          expect(len).toBe(c.cutJs(buf, pos, end));
          pos += len;
          cuts++;
        }
      }
      // Short tails around each size limit, at odd and even offsets.
      for (const n of [0, 1, params.min - 1, params.min, params.min + 1, params.min + 2, params.avg - 1, params.avg, params.avg + 1, params.max - 1, params.max, params.max + 1]) {
        for (const start of [12_345, 12_346]) expect(c.cut(buf, start, start + n)).toBe(c.cutJs(buf, start, start + n));
      }
      // A view into the middle of the read buffer is still the scanner's memory.
      const view = buf.subarray(4097, 4097 + 4 * params.max);
      expect(c.cut(view, 3, view.length)).toBe(c.cutJs(view, 3, view.length));
      expect(cuts).toBeGreaterThan(params === DEFAULT_CHUNKER ? 10 : 10_000);
    });
  }

  it("gives each read buffer its own memory, and plain buffers the JavaScript loop", () => {
    const c = new Chunker();
    const a = c.readBuffer();
    const b = c.readBuffer();
    expect(a.buffer).not.toBe(b.buffer);
    const plain = Buffer.from(seededBytes(8 * 1024 * 1024, "plain"));
    a.set(plain);
    expect(c.cut(plain, 0, plain.length)).toBe(c.cut(a, 0, plain.length));
  });
});
