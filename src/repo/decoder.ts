/**
 * Chunk decoding (authenticate, decompress, hash-check) and writing on worker threads, for
 * restores and verifies: on the main thread it was about a third of a restore's CPU (sha256 alone
 * 0.5 s per GiB). Each thread writes the plaintext at its place in the file itself, so it never
 * crosses back. The check is the same as Repository.getChunk's; a failure comes back as its kind,
 * and the repository words the message.
 *
 * Two kinds of job: one chunk whose encoded bytes the caller read (any target with ranges), or,
 * when the packs are files on this machine, a whole file that the thread reads, checks, writes
 * and renames itself (FileJob): a restore from a local folder then costs the main thread one
 * message per file (docs/performance.md, tenth pass, item 5).
 */
import { availableParallelism } from "node:os";
import type { Worker } from "node:worker_threads";
import type { MasterKey } from "./crypto.js";
import { startWorker } from "../worker-thread.js";

/** "size": the chunk is sound but not the size the index says, so it cannot go where the index put it. */
export type DecodeFailure = "auth" | "decompress" | "mismatch" | "size";
/** A whole file restored on the thread: its chunks' places in local pack files, and its metadata. */
export interface FileJob {
  n: number;
  file: {
    /** Created (exclusively) and written under this name, renamed to `path` once complete. */
    tmp: string;
    path: string;
    createMode: number;
    /** Set once written, when the umask would not leave createMode whole. */
    chmod: number | undefined;
    mtimeMs: number;
    chunks: { id: string; aad: string; pack: string; offset: number; length: number; size: number }[];
  };
}
/** `chunk`: the index of the chunk that failed, for the failures that are about one. */
export type FileReply =
  | { n: number; written: number }
  | { n: number; chunk: number; failure: DecodeFailure | "truncated" }
  | { n: number; chunk: number; failure: "read"; code: string | undefined; message: string }
  | { n: number; failure: "write"; code: string | undefined; message: string };
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

interface Thread {
  worker: Worker;
  /** Plaintext bytes of the jobs it has queued. */
  queued: number;
  /** Called when it has closed its packs (close()). */
  closed?: () => void;
}

interface Waiting {
  thread: Thread;
  bytes: number;
  reply: (m: DecodeReply | FileReply) => void;
  reject: (e: unknown) => void;
}

export class ChunkDecoder {
  private readonly threads: Thread[] = [];
  private next = 0;
  private readonly waiting = new Map<number, Waiting>();
  private crashed: Error | undefined;

  constructor(key: MasterKey | undefined, maxObject: number, threads = THREADS) {
    const keys = { enc: key ? new Uint8Array(key.enc) : null, idKey: key ? new Uint8Array(key.id) : null, maxObject };
    const die = (err: Error) => {
      this.crashed ??= err;
      for (const w of this.waiting.values()) w.reject(err);
      this.waiting.clear();
      for (const t of this.threads) t.closed?.();
    };
    for (let i = 0; i < threads; i++) {
      const worker = startWorker(new URL("./decoder-worker.js", import.meta.url), keys);
      const thread: Thread = { worker, queued: 0 };
      worker.on("message", (m: DecodeReply | FileReply | { closed: true }) => {
        if ("closed" in m) return thread.closed?.();
        const w = this.waiting.get(m.n);
        if (!w) return;
        this.waiting.delete(m.n);
        w.thread.queued -= w.bytes;
        w.reply(m);
      });
      worker.on("error", die);
      worker.on("exit", (code) => die(new Error(`the chunk decoder thread exited (code ${code})`)));
      this.threads.push(thread);
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
    return new Promise<void>((resolve, reject) => {
      const reply = (m: DecodeReply | FileReply) => {
        if (!("failure" in m)) resolve();
        else if (m.failure === "write") reject(systemError(m.code, m.message));
        else reject(new DecodeError(m.failure as DecodeFailure));
      };
      this.post(job, size, reply, reject, [data]);
    });
  }

  /**
   * Restores a whole file on a decoder thread, reading its chunks from local pack files there
   * (see FileJob). Resolves with the thread's reply, failures included: the caller words them.
   */
  restoreFile(file: FileJob["file"]): Promise<FileReply> {
    if (this.crashed) return Promise.reject(this.crashed);
    const job: FileJob = { n: this.next++, file };
    const bytes = file.chunks.reduce((s, c) => s + c.size, 0);
    return new Promise<FileReply>((resolve, reject) => this.post(job, bytes, (m) => resolve(m as FileReply), reject, []));
  }

  /** To the thread with the fewest bytes queued: chunk and file sizes vary, so turns would not balance. */
  private post(job: DecodeJob | FileJob, bytes: number, reply: Waiting["reply"], reject: Waiting["reject"], transfer: ArrayBuffer[]): void {
    let thread = this.threads[0]!;
    for (const t of this.threads) if (t.queued < thread.queued) thread = t;
    thread.queued += bytes;
    this.waiting.set(job.n, { thread, bytes, reply, reject });
    thread.worker.postMessage(job, transfer);
  }

  async close(): Promise<void> {
    const wasUp = !this.crashed;
    this.crashed ??= new Error("the chunk decoder is closed");
    // The threads' pack descriptors belong to the process: closed before the threads go.
    if (wasUp) {
      await Promise.all(
        this.threads.map(
          (t) =>
            new Promise<void>((resolve) => {
              t.closed = resolve;
              t.worker.postMessage({ close: true });
            }),
        ),
      );
    }
    await Promise.all(this.threads.map((t) => t.worker.terminate()));
  }
}

export class DecodeError extends Error {
  constructor(readonly failure: DecodeFailure) {
    super(failure);
  }
}

/** A system error from a thread's report of it: the message and the `code` as they were. */
export function systemError(code: string | undefined, message: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(message);
  if (code !== undefined) err.code = code;
  return err;
}
