/**
 * Content-defined chunking, FastCDC style (Xia et al. 2016): a gear rolling hash, the first `min`
 * bytes of each chunk skipped, and normalised chunking (a stricter mask before `avg`, a looser one
 * after) so chunk sizes cluster around `avg`. Boundaries depend only on nearby content, so an
 * insert in a large file moves one or two boundaries and every other chunk dedups.
 *
 * The hash is 32-bit (fits V8's small-integer fast path; no BigInt) and the masks test its top
 * bits, which depend on the last 32 bytes. The gear table comes from a seed kept in the repo
 * config, so a future repository may change it without breaking older ones.
 */
import { createHash } from "node:crypto";
import { closeSync, openSync, readSync } from "node:fs";
import { type GearCut, gearScanner } from "./gear-wasm.js";
import type { ChunkerParams } from "./types.js";

export const DEFAULT_CHUNKER: ChunkerParams = {
  algorithm: "fastcdc-gear32",
  min: 256 * 1024,
  avg: 1024 * 1024,
  max: 4 * 1024 * 1024,
  seed: "6261636b706c616e2d676561722d7631", // "backplan-gear-v1"
};

const tables = new Map<string, Int32Array>();

export function gearTable(seed: string): Int32Array {
  let t = tables.get(seed);
  if (!t) {
    t = new Int32Array(256); // signed: keeps the hash loop in int32 arithmetic
    for (let i = 0; i < 256; i++) t[i] = createHash("sha256").update(seed).update(String(i)).digest().readInt32LE(0);
    tables.set(seed, t);
  }
  return t;
}

export function checkChunkerParams(p: ChunkerParams): string | undefined {
  if (p.algorithm !== "fastcdc-gear32") return `unknown chunker "${String(p.algorithm)}"`;
  const bits = Math.log2(p.avg);
  if (!Number.isInteger(bits) || bits < 8 || bits > 28) return `chunker avg ${p.avg} is not a power of two`;
  if (!(p.min > 0 && p.min <= p.avg && p.avg <= p.max && p.max <= 64 * 1024 * 1024)) return "chunker sizes out of order";
  if (typeof p.seed !== "string" || p.seed.length === 0) return "chunker seed missing";
  return undefined;
}

/**
 * Finds cut points. One instance serves any number of files; the read buffers it makes
 * (`readBuffer`) are cut by WebAssembly, any other buffer by the JavaScript loop (`cutJs`, the
 * reference both must equal: tests compare them).
 */
export class Chunker {
  readonly min: number;
  readonly avg: number;
  readonly max: number;
  private readonly gear: Int32Array;
  private readonly maskS: number;
  private readonly maskL: number;
  private readonly scanners = new WeakMap<ArrayBufferLike, GearCut>();

  constructor(params: ChunkerParams = DEFAULT_CHUNKER) {
    const problem = checkChunkerParams(params);
    if (problem) throw new Error(problem);
    ({ min: this.min, avg: this.avg, max: this.max } = params);
    this.gear = gearTable(params.seed);
    const bits = Math.log2(params.avg);
    // Normalisation level 2: two more mask bits before avg, two fewer after.
    this.maskS = topBits(bits + 2);
    this.maskL = topBits(bits - 2);
  }

  /**
   * Length of the chunk starting at `start`. The caller guarantees `end - start >= max` unless
   * the data ends at `end` (then the rest is the last chunk), so nothing is ever scanned twice.
   */
  cut(buf: Uint8Array, start: number, end: number): number {
    const wasm = this.scanners.get(buf.buffer);
    if (wasm) return wasm(buf.byteOffset + start, end - start, this.min, this.avg, this.max, this.maskS, this.maskL);
    return this.cutJs(buf, start, end);
  }

  /** The same cut in JavaScript: ~5x slower here, kept as the reference and for foreign buffers. */
  cutJs(buf: Uint8Array, start: number, end: number): number {
    const n = end - start;
    if (n <= this.min) return n;
    const limit = start + (n < this.max ? n : this.max);
    const normal = start + (n < this.avg ? n : this.avg);
    const gear = this.gear;
    const maskS = this.maskS;
    const maskL = this.maskL;
    let h = 0;
    let i = start + this.min;
    for (; i < normal; i++) {
      h = ((h << 1) + gear[buf[i]!]!) | 0;
      if ((h & maskS) === 0) return i - start + 1;
    }
    for (; i < limit; i++) {
      h = ((h << 1) + gear[buf[i]!]!) | 0;
      if ((h & maskL) === 0) return i - start + 1;
    }
    return limit - start;
  }

  /**
   * A read buffer for chunkFile, in the memory of its own WebAssembly scanner; reuse one per
   * sequence of files (making 12 MiB per small file is slow). Zero-filled, unlike allocUnsafe.
   */
  readBuffer(): Buffer {
    const { buffer, cut } = gearScanner(this.gear, this.max + BLOCK);
    this.scanners.set(buffer.buffer, cut);
    return buffer;
  }

  /** All chunks of an in-memory buffer (tests, small objects). Views, not copies. */
  split(buf: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (let pos = 0; pos < buf.length; ) {
      const len = this.cut(buf, pos, buf.length);
      out.push(buf.subarray(pos, pos + len));
      pos += len;
    }
    return out;
  }
}

/** Read block size: large reads are what keeps a streaming chunker near disk speed. */
const BLOCK = 8 * 1024 * 1024;

function topBits(n: number): number {
  return n >= 32 ? -1 : (~0 << (32 - n)) | 0;
}

/**
 * Streams the chunks of a file. Memory: the read buffer (max + 8 MiB), plus each yielded chunk (a
 * Buffer from `take` the consumer owns, so it may be handed to async writers). `buf` may be
 * shared by calls that do not overlap.
 *
 * Reads are synchronous on purpose: the sources are local files, this thread is busy cutting what
 * it reads anyway, and each async call costs a thread-pool hand-off (measured: open/read/close of
 * the 2000 uploads took 2.5-3.5x the CPU async than sync, ~40 µs per call on these VMs).
 */
export async function* chunkFile(
  file: string,
  chunker: Chunker,
  buf: Buffer = chunker.readBuffer(),
  take: (length: number) => Buffer = Buffer.allocUnsafe,
): AsyncGenerator<Buffer> {
  if (buf.length < chunker.max + 1) throw new RangeError("read buffer smaller than the chunker's max");
  const fd = openSync(file, "r");
  try {
    let start = 0;
    let end = 0;
    let eof = false;
    while (true) {
      if (!eof && end - start < chunker.max) {
        if (start > 0) {
          buf.copyWithin(0, start, end);
          end -= start;
          start = 0;
        }
        while (end < buf.length) {
          const bytesRead = readSync(fd, buf, end, buf.length - end, null);
          if (bytesRead === 0) {
            eof = true;
            break;
          }
          end += bytesRead;
        }
      }
      if (start === end) return;
      const len = chunker.cut(buf, start, end);
      const chunk = take(len);
      buf.copy(chunk, 0, start, start + len);
      start += len;
      yield chunk;
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Chunk size of SQLite databases: fixed and aligned, not content-defined. A database changes in
 * place, page by page (512 B to 64 KiB, always a divisor of this), and its pages never shift, so
 * boundaries at fixed offsets dedup every untouched page. A content-defined 1 MiB chunk is
 * invalidated by any page in it: a 1% churn of the bench's 200 MiB webui.db (578 of 51 224
 * pages) touched 151 of its 201 chunks, so 150 MiB were cut, compressed and sealed again for 26
 * MiB written; in 256 KiB chunks it touches 159 of 801.
 * Why 256 KiB and not smaller: the churn apply did not tell 64, 128 and 256 KiB apart (nine
 * interleaved rounds; the store runs beside integrity_check, which is the longer), while every
 * chunk costs in the full backup and the restore: at 64 KiB (3 202 chunks) each took ~0.5 s more
 * CPU than with 1 MiB CDC, at 256 KiB ~0.15-0.3 s. Smaller chunks also compress worse one by one
 * (brotli q0 on that file: 27.8 MiB in 1 MiB chunks, 29.6 in 256 KiB, 35.0 in 64 KiB) but each
 * churn stores less: after ten bench churns the repositories held 531 MiB (64 KiB), 542 (128),
 * 567 (256); restic's 588. A writer's choice: readers only follow chunk lists, so older snapshots
 * stay readable and the first snapshot after a change stores the database once more.
 */
export const SQLITE_CHUNK = 256 * 1024;

/** Streams `file` in chunks of `size` bytes (the last shorter); memory and reads as chunkFile. */
export async function* chunkFixed(file: string, size: number, buf: Buffer, take: (length: number) => Buffer = Buffer.allocUnsafe): AsyncGenerator<Buffer> {
  const cap = Math.floor(buf.length / size) * size;
  if (cap === 0) throw new RangeError("read buffer smaller than the chunk size");
  const fd = openSync(file, "r");
  try {
    for (;;) {
      let end = 0;
      while (end < cap) {
        const n = readSync(fd, buf, end, cap - end, null);
        if (n === 0) break;
        end += n;
      }
      for (let pos = 0; pos < end; pos += size) {
        const len = Math.min(size, end - pos);
        const chunk = take(len);
        buf.copy(chunk, 0, pos, pos + len);
        yield chunk;
      }
      if (end < cap) return;
    }
  } finally {
    closeSync(fd);
  }
}
