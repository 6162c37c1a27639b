/** Worker thread body of ChunkDecoder (./decoder.ts). */
import { hash } from "node:crypto";
import { closeSync, fchmodSync, futimesSync, openSync, readSync, renameSync, rmSync, writeSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { unpackSync } from "./compress.js";
import { keyedId, unseal } from "./crypto.js";
import type { DecodeFailure, DecodeJob, DecodeReply, FileJob, FileReply } from "./decoder.js";

const { enc, idKey, maxObject } = workerData as { enc: Uint8Array | null; idKey: Uint8Array | null; maxObject: number };
const key = enc && idKey ? { enc: Buffer.from(enc), id: Buffer.from(idKey) } : undefined;
const port = parentPort!;

port.on("message", (job: DecodeJob | FileJob | { close: true }) => {
  if ("close" in job) {
    closePacks();
    return port.postMessage({ closed: true });
  }
  if ("file" in job) return port.postMessage(restoreFile(job));
  const plain = decode(new Uint8Array(job.data, job.offset, job.length), job.id, job.aad, job.size);
  if (typeof plain === "string") return port.postMessage({ n: job.n, failure: plain } satisfies DecodeReply);
  try {
    writeAll(job.fd, plain, job.position);
  } catch (err) {
    const { code, message } = err as NodeJS.ErrnoException;
    return port.postMessage({ n: job.n, failure: "write", code, message } satisfies DecodeReply);
  }
  port.postMessage({ n: job.n, written: plain.length } satisfies DecodeReply);
});

/** The checked plaintext of one chunk, or why not. The check is Repository.getChunk's. */
function decode(encoded: Uint8Array, id: string, aad: string, size: number): Buffer | DecodeFailure {
  let inner = encoded;
  if (key) {
    const opened = unseal(key.enc, inner, aad);
    if (!opened) return "auth";
    inner = opened;
  }
  if (inner.length < 1) return "decompress";
  let plain: Buffer;
  try {
    plain = unpackSync(inner, maxObject, size, true); // written out by the caller, before the next chunk
  } catch {
    return "decompress";
  }
  const digest = hash("sha256", plain, "buffer");
  if ((key ? keyedId(key.id, digest) : digest.toString("hex")) !== id) return "mismatch";
  // Positions come from the index's sizes: a chunk of another size would shift the whole file.
  if (plain.length !== size) return "size";
  return plain;
}

/**
 * The plaintext is written here, at its place in the restored file: it never crosses back to the
 * main thread, whose only part is then reading the packs (and its heap and malloc arena stay small).
 */
function writeAll(fd: number, buf: Buffer, position: number): void {
  for (let done = 0; done < buf.length; ) done += writeSync(fd, buf, done, buf.length - done, position + done);
}

// ---- whole files (local packs) ------------------------------------------------------------------

/** Pack files open for reading, most recently used last. */
const packs = new Map<string, number>();
const PACKS_OPEN = 16;
let readBuf = Buffer.allocUnsafe(0);

/**
 * One file, start to end, with synchronous calls on this thread: created under its temporary
 * name, each chunk read from its pack, checked and written, then its mode and times, then renamed
 * to its name. A failure removes the temporary file and says where it failed.
 */
function restoreFile(job: FileJob): FileReply {
  const { n, file } = job;
  let fd: number;
  try {
    fd = openSync(file.tmp, "wx", file.createMode);
  } catch (err) {
    return writeFailure(n, err);
  }
  let failure = fill(fd, job);
  try {
    closeSync(fd); // can fail (EIO, a full network file system): the file is not whole then
  } catch (err) {
    failure ??= writeFailure(n, err);
  }
  if (!failure) {
    try {
      renameSync(file.tmp, file.path);
      return { n, written: file.chunks.reduce((s, c) => s + c.size, 0) };
    } catch (err) {
      failure = writeFailure(n, err);
    }
  }
  try {
    rmSync(file.tmp, { force: true });
  } catch {
    // The caller removes it too, and reports the failure that matters.
  }
  return failure;
}

/** Every chunk of the file into `fd`, then its mode and times: the first failure, if any. */
function fill(fd: number, { n, file }: FileJob): FileReply | undefined {
  let position = 0;
  for (const [i, c] of file.chunks.entries()) {
    const encoded = readRange(c.pack, c.offset, c.length);
    if ("failure" in encoded) return { n, chunk: i, ...encoded };
    const plain = decode(encoded.bytes, c.id, c.aad, c.size);
    if (typeof plain === "string") return { n, chunk: i, failure: plain };
    try {
      writeAll(fd, plain, position);
    } catch (err) {
      return writeFailure(n, err);
    }
    position += c.size;
  }
  try {
    if (file.chmod !== undefined) fchmodSync(fd, file.chmod);
    futimesSync(fd, file.mtimeMs / 1000, file.mtimeMs / 1000); // last: nothing writes to it after this
  } catch (err) {
    return writeFailure(n, err);
  }
  return undefined;
}

function writeFailure(n: number, err: unknown): FileReply {
  return { n, failure: "write", ...errno(err) };
}

function readRange(pack: string, offset: number, length: number): { bytes: Buffer } | { failure: "read"; code: string | undefined; message: string } | { failure: "truncated" } {
  try {
    let fd = packs.get(pack);
    if (fd === undefined) {
      fd = openSync(pack, "r");
      while (packs.size >= PACKS_OPEN) {
        const [oldest, ofd] = packs.entries().next().value as [string, number];
        packs.delete(oldest);
        closeSync(ofd);
      }
    } else packs.delete(pack); // re-inserted: most recently used last
    packs.set(pack, fd);
    if (readBuf.length < length) readBuf = Buffer.allocUnsafe(Math.max(length, 1 << 20));
    let got = 0;
    while (got < length) {
      const r = readSync(fd, readBuf, got, length - got, offset + got);
      if (r === 0) return { failure: "truncated" };
      got += r;
    }
    return { bytes: readBuf.subarray(0, length) };
  } catch (err) {
    return { failure: "read", ...errno(err) };
  }
}

function errno(err: unknown): { code: string | undefined; message: string } {
  const { code, message } = err as NodeJS.ErrnoException;
  return { code, message };
}

/** Closes the packs this thread has open: descriptors are the process's, and it goes on after a restore. */
function closePacks(): void {
  for (const fd of packs.values()) closeSync(fd);
  packs.clear();
}
