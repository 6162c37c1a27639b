/**
 * The SQLite-heavy half of a capture: the online backup of the live database into a new file,
 * then turning the copy into a single rollback-journal file and `PRAGMA integrity_check` of it.
 * For a 200 MiB database that is ~0.45 s of CPU. Large databases are copied on a worker thread
 * (./sqlite-copy-worker.ts), so the copy runs on the second core while this thread stores the
 * components captured before it; small ones here, where a worker's start-up would cost more.
 * The same function runs in both places.
 */
import { rm } from "node:fs/promises";
import Database from "better-sqlite3";
import { errnoCode } from "./fs-errors.js";
import { startWorker } from "../worker-thread.js";

export interface CopyRequest {
  livePath: string;
  dest: string;
  busyTimeoutMs: number;
  pagesPerStep: number;
}

export interface CopyResult {
  pages: number;
  steps: number;
  restarts: number;
  backupMs: number;
  integrityMs: number;
  /** integrity_check's rows: ["ok"] for a good copy. */
  integrity: string[];
}

/** Where it failed decides whose fault it is: the live database (open, backup) or the copy (full disk). */
export class CopyError extends Error {
  constructor(
    message: string,
    readonly phase: "open" | "backup" | "check",
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

/** Databases (with their -wal) at least this large are copied on a worker thread. */
export const WORKER_MIN_BYTES = 16 * 1024 * 1024;

/**
 * `onCopied` is called once the copy is complete and final (backed up, in rollback-journal mode),
 * before `integrity_check` starts: the caller may read the copy while it is checked, and must not
 * trust it before this resolves.
 */
export async function copyDatabase(req: CopyRequest, signal?: AbortSignal, onCopied?: () => void): Promise<CopyResult> {
  let src: Database.Database;
  try {
    src = new Database(req.livePath, { readonly: true, fileMustExist: true, timeout: req.busyTimeoutMs });
  } catch (err) {
    throw copyError(err, "open");
  }
  const r: CopyResult = { pages: 0, steps: 0, restarts: 0, backupMs: 0, integrityMs: 0, integrity: [] };
  const t0 = performance.now();
  try {
    // Pin one snapshot (WAL content included) for the whole copy; see ./sqlite.ts.
    src.exec("BEGIN");
    src.prepare("SELECT count(*) FROM sqlite_schema").get();
    let lastRemaining = Infinity;
    const done = await src.backup(req.dest, {
      progress: ({ remainingPages }) => {
        signal?.throwIfAborted();
        if (remainingPages > lastRemaining) r.restarts++;
        lastRemaining = remainingPages;
        r.steps++;
        return req.pagesPerStep;
      },
    });
    r.pages = done.totalPages;
    src.exec("COMMIT");
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    throw copyError(err, "backup");
  } finally {
    src.close();
  }
  r.backupMs = performance.now() - t0;

  const t1 = performance.now();
  let copy: Database.Database | undefined;
  try {
    copy = new Database(req.dest, { fileMustExist: true });
    copy.pragma("journal_mode = DELETE");
    onCopied?.();
    r.integrity = (copy.pragma("integrity_check", { simple: false }) as { integrity_check: string }[]).map((x) => x.integrity_check);
  } catch (err) {
    if (errnoCode(err) === "SQLITE_FULL") throw copyError(err, "check");
    // Damage bad enough that SQLite refuses to read the copy at all.
    r.integrity = [(err as Error).message];
  } finally {
    copy?.close();
  }
  await rm(`${req.dest}-wal`, { force: true });
  await rm(`${req.dest}-shm`, { force: true });
  r.integrityMs = performance.now() - t1;
  return r;
}

/** copyDatabase on a worker thread; an abort terminates the worker (SQLite's files are left to the caller). */
export function copyDatabaseInWorker(req: CopyRequest, signal?: AbortSignal, onCopied?: () => void): Promise<CopyResult> {
  signal?.throwIfAborted();
  const worker = startWorker(new URL("./sqlite-copy-worker.js", import.meta.url), req);
  return new Promise<CopyResult>((resolve, reject) => {
    const onAbort = () => {
      void worker.terminate();
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    const settle = () => signal?.removeEventListener("abort", onAbort);
    worker.on("message", (m: { copied: true } | { ok: true; result: CopyResult } | { ok: false; message: string; phase: CopyError["phase"]; code?: string }) => {
      if ("copied" in m) return onCopied?.();
      settle();
      if (m.ok) resolve(m.result);
      else reject(new CopyError(m.message, m.phase, m.code));
    });
    worker.once("error", (err) => {
      settle();
      reject(copyError(err, "backup"));
    });
    worker.once("exit", (code) => {
      settle();
      if (code !== 0 && !signal?.aborted) reject(new CopyError(`the SQLite copy thread exited with code ${code}`, "backup", undefined));
    });
  });
}


function copyError(err: unknown, phase: CopyError["phase"]): CopyError {
  return err instanceof CopyError ? err : new CopyError((err as Error).message, phase, errnoCode(err));
}
