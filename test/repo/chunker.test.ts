import { writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { Chunker, chunkFile, chunkFixed, DEFAULT_CHUNKER } from "../../src/repo/chunker.js";
import { withTmpDir } from "../helpers/tmp.js";
import { seededBytes } from "./helpers.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("base64").slice(0, 40) + b.length;

describe("chunker", () => {
  const c = new Chunker();
  const data = seededBytes(24 * 1024 * 1024, "chunker");

  it("is deterministic and respects min/max; sizes cluster near avg", () => {
    const a = c.split(data);
    const b = c.split(Buffer.from(data));
    expect(a.map(hex)).toEqual(b.map(hex));
    expect(Buffer.concat(a).equals(data)).toBe(true);
    for (const ch of a.slice(0, -1)) {
      expect(ch.length).toBeGreaterThanOrEqual(DEFAULT_CHUNKER.min);
      expect(ch.length).toBeLessThanOrEqual(DEFAULT_CHUNKER.max);
    }
    const avg = data.length / a.length;
    expect(avg).toBeGreaterThan(600 * 1024);
    expect(avg).toBeLessThan(1800 * 1024);
  });

  it("keeps almost every boundary after an insert near the start", () => {
    const before = c.split(data).map(hex);
    const edited = Buffer.concat([data.subarray(0, 3000), Buffer.from("a few inserted bytes"), data.subarray(3000)]);
    const after = c.split(edited).map(hex);
    const same = after.filter((h) => before.includes(h)).length;
    expect(same).toBeGreaterThanOrEqual(before.length - 2);
  });

  it("cuts the same way streaming from a file as in memory, and handles small and empty files", () =>
    withTmpDir(async (dir) => {
      const f = path.join(dir, "f");
      await writeFile(f, data);
      const streamed: string[] = [];
      for await (const ch of chunkFile(f, c)) streamed.push(hex(ch));
      expect(streamed).toEqual(c.split(data).map(hex));
      await writeFile(f, "tiny");
      const tiny: Buffer[] = [];
      for await (const ch of chunkFile(f, c)) tiny.push(ch);
      expect(tiny.map(String)).toEqual(["tiny"]);
      await writeFile(f, "");
      const none: Buffer[] = [];
      for await (const ch of chunkFile(f, c)) none.push(ch);
      expect(none).toEqual([]);
    }));

  it("cuts uniform data at max", () => {
    const zeros = Buffer.alloc(10 * 1024 * 1024);
    const parts = c.split(zeros);
    expect(parts[0]!.length).toBe(DEFAULT_CHUNKER.max);
  });

  it("gives different boundaries for a different gear seed", () => {
    const other = new Chunker({ ...DEFAULT_CHUNKER, seed: "00ff" });
    expect(other.split(data).map(hex)).not.toEqual(c.split(data).map(hex));
  });

  it("chunkFixed streams fixed-size chunks across read-buffer boundaries; the last is shorter", () =>
    withTmpDir(async (dir) => {
      const f = path.join(dir, "f");
      const size = 64 * 1024;
      for (const length of [0, 1, size, size + 1, 5 * size - 3, 40 * size + 100]) {
        const bytes = data.subarray(0, length);
        await writeFile(f, bytes);
        const got: Buffer[] = [];
        // A read buffer of 3.5 chunks: reads end inside a chunk, which must not split it.
        for await (const ch of chunkFixed(f, size, Buffer.alloc(size * 3 + size / 2))) got.push(ch);
        expect(got.length).toBe(Math.ceil(length / size));
        for (const ch of got.slice(0, -1)) expect(ch.length).toBe(size);
        expect(Buffer.concat(got).equals(bytes)).toBe(true);
      }
    }));
});
