/**
 * Chunk compression on a thread of its own. zstd is one synchronous call, and this thread (read,
 * cut, hash, seal) is a full backup's critical path: compressing here put ~0.48 s on it, so the
 * full backup was no faster than with brotli on the pool although it used 0.85 s less CPU.
 *
 * The thread is an optimisation only, never a dependency: until it has started (~40 ms, while
 * the first chunks are compressed here) and if it ever fails, chunks are compressed here with the
 * same function, giving the same bytes. It keeps the process alive only while it has work.
 */
import type { Worker } from "node:worker_threads";
import { BufferPool } from "./buffer-pool.js";
import { packed, worthTrying, zstdFrame } from "./compress.js";
import { startWorker } from "../worker-thread.js";

/** Below this a chunk is compressed here: the hop to the thread costs more than the work. */
export const OFF_THREAD_MIN = 64 * 1024;

/** Copies kept for reuse: as many as chunks in flight (store.ts WRITES), of up to 4 MiB. */
const SPARE_BYTES = 16 * 1024 * 1024;

/** `data[0, length)` is the chunk; `data` comes back with the reply, for the next copy. */
export interface CompressJob {
  n: number;
  data: ArrayBuffer;
  length: number;
}
export type CompressReply = { ready: true } | { n: number; data: ArrayBuffer; frame: ArrayBuffer | null } | { n: number; data: ArrayBuffer; error: string };

interface Waiting {
  plain: Uint8Array;
  resolve: (parts: [Uint8Array, Uint8Array]) => void;
}

export class Compressor {
  /** Chunks the thread compressed (the rest were compressed here). */
  onThread = 0;
  private worker: Worker | undefined;
  private ready = false;
  private broken = false;
  private next = 0;
  private readonly waiting = new Map<number, Waiting>();
  /**
   * The chunks' copies, back from the thread with their frames. Without them every chunk was a
   * new buffer that the thread let go only at its next collection, which an idle isolate puts
   * off: peak RSS of the full backup 258-266 MiB, against 231-247 with brotli on the pool.
   */
  private readonly copies = new BufferPool(SPARE_BYTES);

  /** `worker`: the thread's script; tests give others. */
  constructor(private readonly script = new URL("./compressor-worker.js", import.meta.url)) {}

  /** compress.pack's result for `plain`, computed on the thread when it is up. */
  pack(plain: Uint8Array): Promise<[Uint8Array, Uint8Array]> | [Uint8Array, Uint8Array] {
    if (!worthTrying(plain)) return packed(plain, undefined);
    if (plain.length < OFF_THREAD_MIN || !this.started()) return packed(plain, zstdFrame(plain));
    const n = this.next++;
    // A copy that owns its memory, handed over: the caller's buffer goes back to its pool.
    const copy = this.copies.take(plain.length);
    copy.set(plain);
    const data = copy.buffer as ArrayBuffer;
    if (this.waiting.size === 0) this.worker!.ref();
    return new Promise((resolve) => {
      this.waiting.set(n, { plain, resolve });
      this.worker!.postMessage({ n, data, length: plain.length } satisfies CompressJob, [data]);
    });
  }

  /** "idle": not started; "starting": chunks are compressed here meanwhile; "down": it failed, for good. */
  get state(): "idle" | "starting" | "up" | "down" {
    return this.broken ? "down" : this.ready ? "up" : this.worker ? "starting" : "idle";
  }

  /** Whether the thread takes jobs; starts it on first use. */
  private started(): boolean {
    if (this.broken) return false;
    if (!this.worker) {
      const worker = startWorker(this.script, null);
      worker.on("message", (m: CompressReply) => this.reply(m));
      worker.on("error", () => this.fail());
      worker.on("exit", () => this.fail());
      // After the listeners: adding a "message" listener refs the port again.
      worker.unref();
      this.worker = worker;
    }
    return this.ready;
  }

  private reply(m: CompressReply): void {
    if ("ready" in m) {
      this.ready = true;
      return;
    }
    const w = this.waiting.get(m.n);
    if (!w) return;
    this.waiting.delete(m.n);
    if (this.waiting.size === 0) this.worker?.unref();
    this.copies.adopt(m.data);
    if ("error" in m) return w.resolve(packed(w.plain, zstdFrame(w.plain)));
    this.onThread++;
    w.resolve(packed(w.plain, m.frame ? Buffer.from(m.frame) : undefined));
  }

  /** The thread died: what it had is compressed here, and so is everything after. */
  private fail(): void {
    this.broken = true;
    this.ready = false;
    const left = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of left) w.resolve(packed(w.plain, zstdFrame(w.plain)));
  }
}

/** One per process (per thread that stores): chunks of every store share it. */
export const compressor = new Compressor();
