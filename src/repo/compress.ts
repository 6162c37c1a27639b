/**
 * Compression where it pays. Most backup bytes are either very compressible (SQLite pages, JSON,
 * text) or not at all (PDFs, images, HNSW floats). An 8 KiB sample decides cheaply; the whole
 * chunk is compressed only when the sample saves, and kept only when the result saves >= 10%.
 * One leading byte records the choice, so the rule can change without a format change.
 */
import { promisify } from "node:util";
import zlib from "node:zlib";

export const RAW = 0;
export const DEFLATE = 1;

const deflate = promisify(zlib.deflateRaw);
const inflate = promisify(zlib.inflateRaw);
const SAMPLE = 8 * 1024;
const KEEP_RATIO = 0.9;

/** [header byte, payload]: two parts so raw data is never copied just to prepend a byte. */
export async function pack(plain: Uint8Array): Promise<[Uint8Array, Uint8Array]> {
  if (plain.length >= 512 && worthTrying(plain)) {
    // Level 1: restic-like throughput matters more than the last few percent.
    const z = await deflate(plain, { level: 1 });
    if (z.length <= plain.length * KEEP_RATIO) return [Uint8Array.of(DEFLATE), z];
  }
  return [Uint8Array.of(RAW), plain];
}

export async function unpack(data: Uint8Array, maxSize: number): Promise<Buffer> {
  const body = Buffer.from(data.buffer, data.byteOffset + 1, data.length - 1);
  switch (data[0]) {
    case RAW:
      return body;
    case DEFLATE:
      return inflate(body, { maxOutputLength: maxSize });
    default:
      throw new Error(`unknown compression ${String(data[0])}`);
  }
}

function worthTrying(plain: Uint8Array): boolean {
  if (plain.length <= SAMPLE * 2) return true;
  // Sample from the middle: file headers are often compressible when the body is not.
  const mid = Math.floor((plain.length - SAMPLE) / 2);
  const sample = plain.subarray(mid, mid + SAMPLE);
  return zlib.deflateRawSync(sample, { level: 1 }).length <= SAMPLE * KEEP_RATIO;
}
