/**
 * Chunk decoding (authenticate, decompress, hash-check) and writing on worker threads, for
 * restores and verifies: on the main thread it was about a third of a restore's CPU (sha256 alone
 * 0.5 s per GiB). Each thread writes the plaintext at its place in the file itself, so it never
 * crosses back. The check is the same as Repository.getChunk's; a failure comes back as its kind,
 * and the repository words the message.
 */
import { availableParallelism } from "node:os";
import type { Worker } from "node:worker_threads";
import type { MasterKey } from "./crypto.js";
import { startWorker } from "../worker-thread.js";

/** "size": the chunk is sound but not the size the index says, so it cannot go where the index put it. */
export type DecodeFailure = "auth" | "decompress" | "mismatch" | "size";
export type DecodeReply =
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
  /** Plaintext size, from the index: sizes the output, and a chunk of another size is refused. */
  size: number;
  /** Where the checked plaintext is written: a file descriptor of this process, and an offset. */
  fd: number;
  position: number;
}

/**
 * Threads decoding at once. One left the main thread idle half of a restore while it waited for
 * the decoder (5.4 s restore: decoder busy 3.7 s, main 2.5 s); two share the second core with it.
 */
const THREADS = Math.max(1, Math.min(2, availableParallelism()));

export class ChunkDecoder {
  private readonly threads: { worker: Worker; busy: number }[] = [];
  private next = 0;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (e: unknown) => void; thread: { busy: number } }>();
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
        else w.resolve();
      });
      worker.on("error", die);
      worker.on("exit", (code) => die(new Error(`the chunk decoder thread exited (code ${code})`)));
      this.threads.push({ worker, busy: 0 });
    }
  }

  /**
   * Decodes `encoded` and checks it is the chunk `id` (DecodeError if not), then writes it at
   * `position` of the open file `fd` from the decoder thread. A failed write rejects with the
   * system error, its `code` kept.
   */
  decodeInto(id: string, aad: string, encoded: Buffer, size: number, fd: number, position: number): Promise<void> {
    if (this.crashed) return Promise.reject(this.crashed);
    const n = this.next++;
    // Hand the bytes over without copying when the buffer owns its memory (small ones share a pool).
    const own = encoded.byteOffset === 0 && encoded.byteLength === encoded.buffer.byteLength && !(encoded.buffer instanceof SharedArrayBuffer);
    const data = own ? (encoded.buffer as ArrayBuffer) : new Uint8Array(encoded).buffer;
    const job: DecodeJob = { n, id, aad, data, offset: 0, length: encoded.length, size, fd, position };
    // The thread with the fewest jobs queued: chunk sizes vary, so turns would not balance.
    let thread = this.threads[0]!;
    for (const t of this.threads) if (t.busy < thread.busy) thread = t;
    thread.busy++;
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(n, { resolve, reject, thread });
      thread.worker.postMessage(job, [data]);
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
