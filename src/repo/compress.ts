/**
 * Compression where it pays. Most backup bytes are either very compressible (SQLite pages, JSON,
 * text) or not at all (PDFs, images, HNSW floats). An 8 KiB sample decides cheaply; the whole
 * chunk is compressed only when the sample saves, and kept only when the result saves >= 10%.
 * One leading byte records the choice, so the rule can change without a format change: objects
 * written with any earlier rule (deflate, then brotli) stay readable.
 *
 * zstd level 1 (zstd-napi, zstd 1.5.7 linked in), in one call with contexts kept per thread;
 * chunks are compressed on a thread of their own (./compressor.ts), other objects here.
 * Measured here on 1 MiB chunks against brotli quality 0, the choice before:
 *   - 33 MiB of JavaScript: ratio 0.222 vs 0.248, compress 427 vs 367 MiB/s, decompress 1503 vs
 *     472 MiB/s;
 *   - the bench's 200 MiB SQLite file: 17.2 vs 26.7 MiB, 940 vs 558 MiB/s, 2937 vs 510 MiB/s.
 * Level 3 (restic's default) was 9% smaller on the JavaScript and 22% slower to compress; the
 * full backup's critical path is this thread, so speed first, as before.
 */
import { createRequire } from "node:module";
import { promisify } from "node:util";
import zlib from "node:zlib";
import type * as ZstdBinding from "zstd-napi/binding.js";

export const RAW = 0;
export const DEFLATE = 1;
export const BROTLI = 2;
export const ZSTD = 3;

const unbrotli = promisify(zlib.brotliDecompress);
const inflate = promisify(zlib.inflateRaw);
const SAMPLE = 8 * 1024;
const KEEP_RATIO = 0.9;
const LEVEL = 1;
/** Scratch kept between calls up to this size; a larger object gets a buffer of its own. */
const SCRATCH_MAX = 16 * 1024 * 1024;

/** [header byte, payload]: two parts so raw data is never copied just to prepend a byte. */
export function pack(plain: Uint8Array): [Uint8Array, Uint8Array] {
  return packed(plain, worthTrying(plain) ? zstdFrame(plain) : undefined);
}

/** pack's result for a zstd frame from zstdFrame (possibly made on another thread), or for none. */
export function packed(plain: Uint8Array, frame: Uint8Array | undefined): [Uint8Array, Uint8Array] {
  return frame ? [Uint8Array.of(ZSTD), frame] : [Uint8Array.of(RAW), plain];
}

/**
 * Whether compressing `plain` may pay, from an 8 KiB sample (cheap: the whole chunk is
 * compressed only when this says yes).
 */
export function worthTrying(plain: Uint8Array): boolean {
  if (plain.length < 512) return false;
  if (plain.length <= SAMPLE * 2) return true;
  // Sample from the middle: file headers are often compressible when the body is not.
  const mid = Math.floor((plain.length - SAMPLE) / 2);
  const { c, lib } = zstd();
  return c.compress(scratchOf(lib.compressBound(SAMPLE)), plain.subarray(mid, mid + SAMPLE), LEVEL) <= SAMPLE * KEEP_RATIO;
}

/**
 * The zstd frame of `plain`, or undefined when it does not save 10%. The frame owns its memory
 * (it may be handed to another thread).
 */
export function zstdFrame(plain: Uint8Array): Buffer | undefined {
  const { c, lib } = zstd();
  const out = scratchOf(lib.compressBound(plain.length));
  const n = c.compress(out, plain, LEVEL);
  if (n > plain.length * KEEP_RATIO) return undefined;
  // A copy of just the frame: the scratch is the next call's.
  const frame = Buffer.from(new ArrayBuffer(n));
  out.copy(frame, 0, 0, n);
  return frame;
}

export async function unpack(data: Uint8Array, maxSize: number): Promise<Buffer> {
  return unpackWith(data, maxSize, unbrotli, inflate);
}

/**
 * unpack on the calling thread (the decoder thread, which has nothing else to do). `expected`,
 * the plaintext size when known (restores know it from the index), sizes zlib's one output
 * buffer so that nothing is concatenated. With `transient`, a zstd object is decompressed into
 * this thread's scratch buffer, valid only until the next call: for a caller that writes it out
 * at once, one allocation (and its page faults) fewer per chunk.
 */
export function unpackSync(data: Uint8Array, maxSize: number, expected?: number, transient = false): Buffer {
  return unpackWith(data, maxSize, zlib.brotliDecompressSync, zlib.inflateRawSync, expected, transient);
}

function unpackWith<T>(
  data: Uint8Array,
  maxSize: number,
  brotliFn: (b: Buffer, o: zlib.ZlibOptions) => T,
  inflateFn: (b: Buffer, o: zlib.ZlibOptions) => T,
  expected?: number,
  transient = false,
): T | Buffer {
  const body = Buffer.from(data.buffer, data.byteOffset + 1, data.length - 1);
  // A little room past the expected end, so the stream ends inside the first buffer.
  const chunkSize = expected !== undefined && expected < maxSize ? Math.max(64, expected + 64) : outputChunk(body.length * 8, 1 << 20);
  const opts = { maxOutputLength: maxSize, chunkSize };
  switch (data[0]) {
    case RAW:
      return body;
    case ZSTD:
      return decompress(body, maxSize, transient);
    case BROTLI:
      return brotliFn(body, opts);
    case DEFLATE:
      return inflateFn(body, opts);
    default:
      throw new Error(`unknown compression ${String(data[0])}`);
  }
}

// ---- zstd ------------------------------------------------------------------------------------

let loaded: { c: ZstdBinding.CCtx; d: ZstdBinding.DCtx; lib: typeof ZstdBinding } | undefined;
let scratch = Buffer.alloc(0);

/** Loaded on first use (module state is per thread, so each thread gets its own contexts). */
function zstd(): { c: ZstdBinding.CCtx; d: ZstdBinding.DCtx; lib: typeof ZstdBinding } {
  if (!loaded) {
    const lib = createRequire(import.meta.url)("zstd-napi/binding") as typeof ZstdBinding;
    loaded = { c: new lib.CCtx(), d: new lib.DCtx(), lib };
  }
  return loaded;
}

function scratchOf(size: number): Buffer {
  if (size > SCRATCH_MAX) return Buffer.allocUnsafe(size);
  if (scratch.length < size) scratch = Buffer.allocUnsafe(Math.max(size, 64 * 1024));
  return scratch;
}

function decompress(frame: Buffer, maxSize: number, transient: boolean): Buffer {
  const { d, lib } = zstd();
  // Our frames always say their size: one without it, or over the limit, is not ours.
  const size = lib.getFrameContentSize(frame);
  if (size === null || size > maxSize) throw new Error(`zstd frame of ${size === null ? "unknown" : size} bytes (limit ${maxSize})`);
  const out = transient ? scratchOf(size).subarray(0, size) : Buffer.allocUnsafe(size);
  const n = d.decompress(out, frame);
  if (n !== size) throw new Error(`zstd frame gave ${n} bytes, its header says ${size}`);
  return out;
}

/**
 * Output buffer size of a zlib call (older objects). Each buffer filled is one round trip to the
 * pool and one callback here: with the default 16 KiB, restoring spent more time in those
 * callbacks than in brotli itself (measured: 1 MiB buffers inflate 3x faster). Small objects
 * keep small buffers.
 */
function outputChunk(expected: number, max: number): number {
  return Math.min(max, Math.max(16 * 1024, expected));
}
