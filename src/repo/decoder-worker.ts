/** Worker thread body of ChunkDecoder (./decoder.ts). */
import { hash } from "node:crypto";
import { writeSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { unpackSync } from "./compress.js";
import { keyedId, unseal } from "./crypto.js";
import type { DecodeFailure, DecodeJob, DecodeReply } from "./decoder.js";

const { enc, idKey, maxObject } = workerData as { enc: Uint8Array | null; idKey: Uint8Array | null; maxObject: number };
const key = enc && idKey ? { enc: Buffer.from(enc), id: Buffer.from(idKey) } : undefined;
const port = parentPort!;

port.on("message", (job: DecodeJob) => {
  const fail = (failure: DecodeFailure) => port.postMessage({ n: job.n, failure } satisfies DecodeReply);
  let inner: Uint8Array = new Uint8Array(job.data, job.offset, job.length);
  if (key) {
    const opened = unseal(key.enc, inner, job.aad);
    if (!opened) return fail("auth");
    inner = opened;
  }
  if (inner.length < 1) return fail("decompress");
  let plain: Buffer;
  try {
    plain = unpackSync(inner, maxObject, job.size, true); // written out below, before the next job
  } catch {
    return fail("decompress");
  }
  const digest = hash("sha256", plain, "buffer");
  if ((key ? keyedId(key.id, digest) : digest.toString("hex")) !== job.id) return fail("mismatch");
  write(job, plain);
});

/**
 * The plaintext written here, at its place in the restored file: it never crosses back to the
 * main thread, whose only part is then reading the packs (and its heap and malloc arena stay small).
 */
function write(job: DecodeJob, plain: Buffer): void {
  const { fd, position } = job;
  // Positions come from the index's sizes: a chunk of another size would shift the whole file.
  if (plain.length !== job.size) return port.postMessage({ n: job.n, failure: "size" } satisfies DecodeReply);
  try {
    for (let done = 0; done < plain.length; ) done += writeSync(fd, plain, done, plain.length - done, position + done);
  } catch (err) {
    const { code, message } = err as NodeJS.ErrnoException;
    return port.postMessage({ n: job.n, failure: "write", code, message } satisfies DecodeReply);
  }
  port.postMessage({ n: job.n, written: plain.length } satisfies DecodeReply);
}
