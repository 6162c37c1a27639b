/**
 * Reused chunk buffers. A backup copies every chunk out of the read buffer (its encode is
 * asynchronous, and the read buffer moves on); a fresh 1 MiB Buffer per chunk meant ~1 GiB of
 * short-lived external memory per GiB stored, and V8 answers external memory with full
 * collections: ~100 mark-compacts per GiB (docs/performance.md).
 *
 * Buffers come in power-of-two classes from 64 KiB, so a chunk of 1-2 MiB reuses the 2 MiB
 * buffer of any earlier one. A buffer goes back with give() once nothing reads it any more; the
 * free ones are capped (FREE_BYTES), beyond that they are left to the GC as before.
 */
const MIN_CLASS = 64 * 1024;
/** 12, not 24: with fewer full collections (src/cli/heap.ts) RSS needed the room; no slower. */
const FREE_BYTES = 12 * 1024 * 1024;

export class BufferPool {
  private readonly free = new Map<number, ArrayBuffer[]>();
  private freeBytes = 0;
  private readonly lent = new WeakSet<ArrayBuffer>();

  constructor(private readonly freeMax = FREE_BYTES) {}

  /** A Buffer of exactly `length` bytes (contents undefined), a view of a pooled buffer. */
  take(length: number): Buffer {
    const size = classOf(length);
    let ab = this.free.get(size)?.pop();
    if (ab) this.freeBytes -= size;
    else ab = Buffer.allocUnsafeSlow(size).buffer as ArrayBuffer; // its own ArrayBuffer, not zero-filled
    this.lent.add(ab);
    return Buffer.from(ab, 0, length);
  }

  /** Back to the pool: the caller promises nothing reads or writes `buf` any more. */
  give(buf: Buffer): void {
    const ab = buf.buffer as ArrayBuffer;
    if (!this.lent.has(ab)) throw new Error("BufferPool.give: not a buffer this pool lent, or given twice");
    this.lent.delete(ab);
    this.keep(ab);
  }

  /**
   * A buffer of this pool's, back from a worker thread it was transferred to: the same memory
   * under a new ArrayBuffer (the transfer detached the one lent).
   */
  adopt(ab: ArrayBuffer): void {
    if (ab.byteLength !== classOf(ab.byteLength)) throw new Error("BufferPool.adopt: not a buffer of this pool's sizes");
    this.keep(ab);
  }

  private keep(ab: ArrayBuffer): void {
    if (this.freeBytes + ab.byteLength > this.freeMax) return;
    let list = this.free.get(ab.byteLength);
    if (!list) this.free.set(ab.byteLength, (list = []));
    list.push(ab);
    this.freeBytes += ab.byteLength;
  }
}

function classOf(length: number): number {
  let size = MIN_CLASS;
  while (size < length) size *= 2;
  return size;
}
