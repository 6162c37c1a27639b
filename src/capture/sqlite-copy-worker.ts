/** Worker thread body for copyDatabaseInWorker (./sqlite-copy.ts): one copy, one message, exit. */
import { parentPort, workerData } from "node:worker_threads";
import { copyDatabase, CopyError, type CopyRequest } from "./sqlite-copy.js";

try {
  const copied = () => parentPort!.postMessage({ copied: true });
  parentPort!.postMessage({ ok: true, result: await copyDatabase(workerData as CopyRequest, undefined, copied) });
} catch (err) {
  const e = err as CopyError;
  parentPort!.postMessage({ ok: false, message: e.message, phase: e instanceof CopyError ? e.phase : "read", ...(e.code ? { code: e.code } : {}) });
}
