import zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import { createRequire } from "node:module";
import { BROTLI, DEFLATE, pack, RAW, unpack, unpackSync, ZSTD } from "../../src/repo/compress.js";
import { seededBytes } from "./helpers.js";

const join = ([h, body]: [Uint8Array, Uint8Array]) => Buffer.concat([h, body]);

describe("compress", () => {
  it("zstd-codes compressible data and round-trips it, on and off the pool path", async () => {
    const text = Buffer.from("SELECT * FROM chat WHERE id = 42;\n".repeat(4000));
    const packed = join(pack(text));
    expect(packed[0]).toBe(ZSTD);
    expect(packed.length).toBeLessThan(text.length / 4);
    expect((await unpack(packed, 1 << 20)).equals(text)).toBe(true);
    expect(unpackSync(packed, 1 << 20, text.length).equals(text)).toBe(true);
  });

  it("a transient result is this thread's scratch: right until the next call, then reused", () => {
    const a = Buffer.from("first object, first object\n".repeat(2000));
    const b = Buffer.from("second one, second one, second\n".repeat(2000));
    const first = unpackSync(join(pack(a)), 1 << 20, a.length, true);
    expect(first.equals(a)).toBe(true);
    const second = unpackSync(join(pack(b)), 1 << 20, b.length, true);
    expect(second.equals(b)).toBe(true);
    expect(first.buffer).toBe(second.buffer);
    // Not transient: a buffer of its own, untouched by later calls.
    const kept = unpackSync(join(pack(a)), 1 << 20, a.length);
    unpackSync(join(pack(b)), 1 << 20, b.length, true);
    expect(kept.equals(a)).toBe(true);
  });

  it("refuses a zstd frame that does not say its size, or is cut short, as damaged", () => {
    const zstd = createRequire(import.meta.url)("zstd-napi") as { compress(b: Buffer, p?: object): Buffer };
    const text = Buffer.from("a frame from elsewhere\n".repeat(500));
    const sized = zstd.compress(text);
    expect(unpackSync(Buffer.concat([Uint8Array.of(ZSTD), sized]), 1 << 20).equals(text)).toBe(true);
    const unsized = zstd.compress(text, { contentSizeFlag: false });
    expect(() => unpackSync(Buffer.concat([Uint8Array.of(ZSTD), unsized]), 1 << 20)).toThrow(/unknown/);
    expect(() => unpackSync(Buffer.concat([Uint8Array.of(ZSTD), sized.subarray(0, sized.length - 4)]), 1 << 20)).toThrow();
    expect(() => unpackSync(Buffer.concat([Uint8Array.of(ZSTD), Buffer.from("not a frame at all")]), 1 << 20)).toThrow();
  });

  it("keeps incompressible data raw", async () => {
    const noise = seededBytes(300_000, "noise");
    const packed = join(pack(noise));
    expect(packed[0]).toBe(RAW);
    expect((await unpack(packed, 1 << 20)).equals(Buffer.from(noise))).toBe(true);
  });

  it("still reads deflate-coded objects written before brotli and zstd", async () => {
    const text = Buffer.from("an older object\n".repeat(1000));
    const old = Buffer.concat([Uint8Array.of(DEFLATE), zlib.deflateRawSync(text, { level: 1 })]);
    expect((await unpack(old, 1 << 20)).equals(text)).toBe(true);
  });

  it("reads brotli objects (written before zstd) of any quality: the quality is the writer's choice, not part of the format", async () => {
    const text = Buffer.from("INSERT INTO chat VALUES ('an older object', 1700000000);\n".repeat(3000));
    for (const quality of [0, 1, 5, 11]) {
      const z = zlib.brotliCompressSync(text, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: quality } });
      const old = Buffer.concat([Uint8Array.of(BROTLI), z]);
      expect((await unpack(old, 1 << 20)).equals(text)).toBe(true);
    }
  });

  it("refuses to decompress past the size limit, before allocating it", async () => {
    const packed = join(pack(Buffer.alloc(2 << 20)));
    expect(packed[0]).toBe(ZSTD);
    await expect(unpack(packed, 1 << 20)).rejects.toThrow(/limit/);
    const brotli = Buffer.concat([Uint8Array.of(BROTLI), zlib.brotliCompressSync(Buffer.alloc(2 << 20))]);
    await expect(unpack(brotli, 1 << 20)).rejects.toThrow();
  });
});
