/** Worker thread body of the chunk compressor (./compressor.ts). */
import { parentPort } from "node:worker_threads";
import { zstdFrame } from "./compress.js";
import type { CompressJob, CompressReply } from "./compressor.js";

const port = parentPort!;
port.on("message", (job: CompressJob) => {
  let reply: CompressReply;
  let frame: Buffer | undefined;
  try {
    frame = zstdFrame(new Uint8Array(job.data, 0, job.length));
    reply = { n: job.n, data: job.data, frame: frame ? (frame.buffer as ArrayBuffer) : null };
  } catch (err) {
    reply = { n: job.n, data: job.data, error: (err as Error).message };
  }
  // The chunk's copy goes back too, for the next chunk: nothing is left here for a collection.
  port.postMessage(reply, frame ? [job.data, frame.buffer as ArrayBuffer] : [job.data]);
});
port.postMessage({ ready: true } satisfies CompressReply);
