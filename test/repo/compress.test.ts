import zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import { BROTLI, DEFLATE, pack, RAW, unpack } from "../../src/repo/compress.js";
import { seededBytes } from "./helpers.js";

const join = ([h, body]: [Uint8Array, Uint8Array]) => Buffer.concat([h, body]);

describe("compress", () => {
  it("brotli-codes compressible data and round-trips it", async () => {
    const text = Buffer.from("SELECT * FROM chat WHERE id = 42;\n".repeat(4000));
    const packed = join(await pack(text));
    expect(packed[0]).toBe(BROTLI);
    expect(packed.length).toBeLessThan(text.length / 4);
    expect((await unpack(packed, 1 << 20)).equals(text)).toBe(true);
  });

  it("keeps incompressible data raw", async () => {
    const noise = seededBytes(300_000, "noise");
    const packed = join(await pack(noise));
    expect(packed[0]).toBe(RAW);
    expect((await unpack(packed, 1 << 20)).equals(Buffer.from(noise))).toBe(true);
  });

  it("still reads deflate-coded objects written before brotli", async () => {
    const text = Buffer.from("an older object\n".repeat(1000));
    const old = Buffer.concat([Uint8Array.of(DEFLATE), zlib.deflateRawSync(text, { level: 1 })]);
    expect((await unpack(old, 1 << 20)).equals(text)).toBe(true);
  });

  it("reads brotli objects of any quality: the quality is the writer's choice, not part of the format", async () => {
    const text = Buffer.from("INSERT INTO chat VALUES ('an older object', 1700000000);\n".repeat(3000));
    for (const quality of [0, 1, 5, 11]) {
      const z = zlib.brotliCompressSync(text, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: quality } });
      const old = Buffer.concat([Uint8Array.of(BROTLI), z]);
      expect((await unpack(old, 1 << 20)).equals(text)).toBe(true);
    }
  });

  it("refuses to inflate past the size limit", async () => {
    const packed = join(await pack(Buffer.alloc(2 << 20)));
    await expect(unpack(packed, 1 << 20)).rejects.toThrow();
  });
});
