/**
 * Chunk decoding (authenticate, decompress, hash-check) on a worker thread, for restores and
 * verifies: on the main thread it was about a third of a restore's CPU (sha256 alone 0.5 s per
 * GiB), on the thread that also writes the files. The check is the same as Repository.getChunk's;
 * a failure comes back as its kind, and the repository words the message.
 */
import { availableParallelism } from "node:os";
import type { Worker } from "node:worker_threads";
import type { MasterKey } from "./crypto.js";
import { startWorker } from "../worker-thread.js";

/** "size": the chunk is sound but not the size the index says, so it cannot go where the index put it. */
export type DecodeFailure = "auth" | "decompress" | "mismatch" | "size";
export type DecodeReply =
  | { n: number; plain: ArrayBuffer; offset: number; length: number }
  | { n: number; written: number }
  | { n: number; failure: DecodeFailure }
  | { n: number; failure: "write"; code: string | undefined; message: string };
export interface DecodeJob {
  n: number;
  id: string;
  aad: string;
  data: ArrayBuffer;
  offset: number;
  length: number;
  /** Plaintext size, from the index (sizes the output; a different size still fails the hash). */
  size?: number;
  /** Write the checked plaintext there (a file descriptor of this process) instead of replying with it. */
  into?: { fd: number; position: number };
}

/**
 * Threads decoding at once. One left the main thread idle half of a restore while it waited for
 * the decoder (5.4 s restore: decoder busy 3.7 s, main 2.5 s); two share the second core with it.
 */
const THREADS = Math.max(1, Math.min(2, availableParallelism()));

export class ChunkDecoder {
  private readonly threads: { worker: Worker; busy: number }[] = [];
  private next = 0;
  private readonly waiting = new Map<number, { resolve: (b: Buffer | undefined) => void; reject: (e: unknown) => void; thread: { busy: number } }>();
  private crashed: Error | undefined;

  constructor(key: MasterKey | undefined, maxObject: number, threads = THREADS) {
    const keys = { enc: key ? new Uint8Array(key.enc) : null, idKey: key ? new Uint8Array(key.id) : null, maxObject };
    const die = (err: Error) => {
      this.crashed ??= err;
      for (const w of this.waiting.values()) w.reject(err);
      this.waiting.clear();
    };
    for (let i = 0; i < threads; i++) {
      const worker = startWorker(new URL("./decoder-worker.js", import.meta.url), keys);
      worker.on("message", (m: DecodeReply) => {
        const w = this.waiting.get(m.n);
        if (!w) return;
        this.waiting.delete(m.n);
        w.thread.busy--;
        if ("failure" in m) w.reject(m.failure === "write" ? writeError(m.code, m.message) : new DecodeError(m.failure));
        else w.resolve("plain" in m ? Buffer.from(m.plain, m.offset, m.length) : undefined);
      });
      worker.on("error", die);
      worker.on("exit", (code) => die(new Error(`the chunk decoder thread exited (code ${code})`)));
      this.threads.push({ worker, busy: 0 });
    }
  }

  /** The checked plaintext of `encoded`; DecodeError when it is not the chunk `id`. */
  decode(id: string, aad: string, encoded: Buffer, size?: number): Promise<Buffer> {
    return this.post({ id, aad, encoded, ...(size !== undefined ? { size } : {}) }) as Promise<Buffer>;
  }

  /**
   * Decodes and checks `encoded` as decode does, then writes it at `position` of the open file
   * `fd` from the decoder thread. A failed write rejects with the system error (its `code` kept).
   */
  decodeInto(id: string, aad: string, encoded: Buffer, size: number, fd: number, position: number): Promise<void> {
    return this.post({ id, aad, encoded, size, into: { fd, position } }) as Promise<void>;
  }

  private post(job: Omit<DecodeJob, "n" | "data" | "offset" | "length"> & { encoded: Buffer }): Promise<Buffer | undefined> {
    if (this.crashed) return Promise.reject(this.crashed);
    const n = this.next++;
    const { encoded, ...rest } = job;
    // Hand the bytes over without copying when the buffer owns its memory (small ones share a pool).
    const own = encoded.byteOffset === 0 && encoded.byteLength === encoded.buffer.byteLength && !(encoded.buffer instanceof SharedArrayBuffer);
    const data = own ? (encoded.buffer as ArrayBuffer) : new Uint8Array(encoded).buffer;
    const message: DecodeJob = { n, ...rest, data, offset: 0, length: encoded.length };
    // The thread with the fewest jobs queued: chunk sizes vary, so turns would not balance.
    let thread = this.threads[0]!;
    for (const t of this.threads) if (t.busy < thread.busy) thread = t;
    thread.busy++;
    return new Promise<Buffer | undefined>((resolve, reject) => {
      this.waiting.set(n, { resolve, reject, thread });
      thread.worker.postMessage(message, [data]);
    });
  }

  async close(): Promise<void> {
    this.crashed ??= new Error("the chunk decoder is closed");
    await Promise.all(this.threads.map((t) => t.worker.terminate()));
  }
}

export class DecodeError extends Error {
  constructor(readonly failure: DecodeFailure) {
    super(failure);
  }
}


function writeError(code: string | undefined, message: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(message);
  if (code !== undefined) err.code = code;
  return err;
}
