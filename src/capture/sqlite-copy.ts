/**
 * The SQLite-heavy half of a capture: a consistent copy of the live database into a new file,
 * then turning the copy into a single rollback-journal file and `PRAGMA integrity_check` of it.
 *
 * The copy is the database file and its -wal, read with large sequential reads while ONE read
 * transaction on the live database is held, then opened by SQLite, which recovers the copied
 * -wal (checksums and salts decide which frames count) and checkpoints it into the copy. Why that
 * is a consistent snapshot, for both journal modes:
 *   - rollback journal: the read transaction holds a SHARED lock, so no writer can change the
 *     database file until we let go (a writer waits for its busy timeout, as with any reader);
 *   - WAL: our reader pins a read mark. No checkpoint copies frames past it into the database file,
 *     and the -wal cannot restart (be overwritten from its start) while a reader uses it. So the
 *     database file holds nothing newer than our snapshot, and every frame it may have taken from
 *     the -wal during the copy is still in the -wal, copied after it. Frames committed after our
 *     snapshot may be copied too: replayed, they give a later committed state, still consistent;
 *     a frame half-written, or a transaction not yet committed, fails its checksum and is dropped
 *     by SQLite's recovery. A reader on mark 0 (a fully checkpointed -wal) blocks checkpoints
 *     altogether; a restart then may happen under us, and its frames are a later state or fail the
 *     salt check.
 * This is how Litestream takes its snapshots. It replaced sqlite3_backup, which moved the same
 * pages as one 4 KiB pread and pwrite each: 0.45 s of kernel time for 200 MiB against ~0.07 s.
 * integrity_check stays the net under the whole argument.
 *
 * Our own descriptors on the live files must outlive SQLite's connection: POSIX locks belong to
 * the process, and closing ANY descriptor of a file drops all of them, SQLite's SHARED lock
 * included, which would let the application checkpoint, restart or delete the -wal mid-copy.
 *
 * The copy is written over the previous one in place (the staged file, when there is one): each
 * 1 MiB block of the live file is compared with the same block of the old copy and only the pages
 * that differ are written, then the file is cut to the live size. Its bytes are then exactly the
 * live file's whatever the old copy held, damaged or half-written included: it is a base for the
 * comparison, never trusted. A 1% churn of a 200 MiB database thus writes ~2-12 MiB instead of
 * 200 MiB, and the final fdatasync flushes only those (on this VM, writing fresh page-cache
 * pages cost ~0.55 s of a 1.7 s churn apply; on a real disk the sync of 200 MiB costs more).
 * The caller (./sqlite.ts) forgets what the staged file held before it is touched.
 *
 * Large databases are copied on a worker thread (./sqlite-copy-worker.ts), so the copy and check
 * run on the second core while this thread stores the components captured before it; small ones
 * here, where a worker's start-up would cost more. The same function runs in both places.
 */
import { closeSync, fdatasyncSync, fstatSync, ftruncateSync, openSync, readSync, writeSync } from "node:fs";
import { rm } from "node:fs/promises";
import Database from "better-sqlite3";
import { errnoCode } from "./fs-errors.js";
import { startWorker } from "../worker-thread.js";

export interface CopyRequest {
  livePath: string;
  /** An existing regular file (mode 0600): empty, or a previous copy to update in place. */
  dest: string;
  busyTimeoutMs: number;
}

export interface CopyResult {
  /** Pages in the snapshot the read transaction pinned. */
  pages: number;
  /** Bytes read from the database and its -wal. */
  bytes: number;
  /** Bytes written into the copy and its -wal (what differed from the previous copy). */
  written: number;
  copyMs: number;
  integrityMs: number;
  /** integrity_check's rows: ["ok"] for a good copy. */
  integrity: string[];
}

/** Where it failed decides whose fault it is: the live database (open, read) or the copy (write: full disk). */
export class CopyError extends Error {
  constructor(
    message: string,
    readonly phase: "open" | "read" | "write" | "check",
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

/** Databases (with their -wal) at least this large are copied on a worker thread. */
export const WORKER_MIN_BYTES = 16 * 1024 * 1024;

const BLOCK = 1 << 20;
/** Comparison unit inside a block that differs: SQLite's default page size (pages are 512 B-64 KiB). */
const PAGE = 4096;

/**
 * `onCopied` is called once the copy is complete and final (checkpointed, in rollback-journal
 * mode), before `integrity_check` starts: the caller may read the copy while it is checked, and
 * must not trust it before this resolves.
 */
export async function copyDatabase(req: CopyRequest, signal?: AbortSignal, onCopied?: () => void): Promise<CopyResult> {
  let src: Database.Database;
  try {
    src = new Database(req.livePath, { readonly: true, fileMustExist: true, timeout: req.busyTimeoutMs });
  } catch (err) {
    throw copyError(err, "open");
  }
  const r: CopyResult = { pages: 0, bytes: 0, written: 0, copyMs: 0, integrityMs: 0, integrity: [] };
  const t0 = performance.now();
  const liveFds: number[] = [];
  try {
    src.exec("BEGIN");
    src.prepare("SELECT count(*) FROM sqlite_schema").get();
    r.pages = src.pragma("page_count", { simple: true }) as number;
    // The database first, then the -wal: see the header comment.
    const db = copyFile(req.livePath, req.dest, liveFds, signal, true)!;
    const wal = copyFile(`${req.livePath}-wal`, `${req.dest}-wal`, liveFds, signal, false);
    r.bytes = db.read + (wal?.read ?? 0);
    r.written = db.written + (wal?.written ?? 0);
    src.exec("COMMIT");
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    throw copyError(err, "read");
  } finally {
    src.close();
    for (const fd of liveFds) closeSync(fd); // only now: see the header comment
  }
  r.copyMs = performance.now() - t0;

  const t1 = performance.now();
  let copy: Database.Database | undefined;
  let kept: number | undefined;
  let failed: CopyError | undefined;
  try {
    copy = new Database(req.dest, { fileMustExist: true });
    // Durability comes from one fdatasync below, after the check and off the caller's path.
    copy.pragma("synchronous = OFF");
    copy.pragma("journal_mode = DELETE");
    // The caller renames the copy once told, so the sync goes through a descriptor opened now.
    kept = openSync(req.dest, "r");
    onCopied?.();
    r.integrity = (copy.pragma("integrity_check", { simple: false }) as { integrity_check: string }[]).map((x) => x.integrity_check);
  } catch (err) {
    if (errnoCode(err) === "SQLITE_FULL") failed = copyError(err, "check");
    // Damage bad enough that SQLite refuses to read the copy at all.
    else r.integrity = [(err as Error).message];
  } finally {
    copy?.close();
  }
  // The caller records the copy for reuse once this resolves: it must be on disk by then.
  if (kept !== undefined) {
    try {
      if (!failed) fdatasyncSync(kept);
    } catch (err) {
      failed = copyError(err, "write");
    }
    closeSync(kept);
  }
  if (failed) throw failed;
  await rm(`${req.dest}-wal`, { force: true });
  await rm(`${req.dest}-shm`, { force: true });
  r.integrityMs = performance.now() - t1;
  return r;
}

/**
 * Copies `from` into `to`: the database over the file the caller made or kept (in place, see the
 * header comment), or, with `mustExist` false, the -wal into a new file of mode 0600, returning
 * undefined when there is no -wal. The descriptor on `from` is pushed on `liveFds` for the caller
 * to close after SQLite's connection.
 */
function copyFile(from: string, to: string, liveFds: number[], signal: AbortSignal | undefined, mustExist: boolean): { read: number; written: number } | undefined {
  let src: number;
  try {
    src = openSync(from, "r");
  } catch (err) {
    if (!mustExist && errnoCode(err) === "ENOENT") return undefined;
    throw copyError(err, "read");
  }
  liveFds.push(src);
  let dest: number;
  let oldSize: number;
  try {
    dest = openSync(to, mustExist ? "r+" : "wx", 0o600);
    oldSize = mustExist ? fstatSync(dest).size : 0;
  } catch (err) {
    throw copyError(err, "write");
  }
  try {
    const buf = Buffer.allocUnsafe(BLOCK);
    const old = oldSize > 0 ? Buffer.allocUnsafe(BLOCK) : undefined;
    let pos = 0;
    let written = 0;
    for (;;) {
      signal?.throwIfAborted();
      let n: number;
      try {
        n = readSync(src, buf, 0, BLOCK, pos);
      } catch (err) {
        throw copyError(err, "read");
      }
      if (n === 0) break;
      try {
        const had = old && pos < oldSize ? readFully(dest, old, Math.min(n, oldSize - pos), pos) : 0;
        written += had === 0 ? writeAll(dest, buf, 0, n, pos) : writeChanged(dest, buf, old!, had, n, pos);
      } catch (err) {
        throw copyError(err, "write");
      }
      pos += n;
    }
    try {
      if (oldSize > pos) ftruncateSync(dest, pos);
    } catch (err) {
      throw copyError(err, "write");
    }
    return { read: pos, written };
  } finally {
    closeSync(dest);
  }
}

/** Writes the pages of buf[0, n) that differ from old[0, had) (the rest: all of it), adjacent ones in one write. */
function writeChanged(fd: number, buf: Buffer, old: Buffer, had: number, n: number, pos: number): number {
  if (had === n && buf.compare(old, 0, n, 0, n) === 0) return 0;
  let written = 0;
  let run = -1; // start of the pending run of differing pages
  for (let at = 0; at < n; at += PAGE) {
    const end = Math.min(at + PAGE, n);
    const same = end <= had && buf.compare(old, at, end, at, end) === 0;
    if (!same && run < 0) run = at;
    if (same && run >= 0) {
      written += writeAll(fd, buf, run, at - run, pos + run);
      run = -1;
    }
  }
  if (run >= 0) written += writeAll(fd, buf, run, n - run, pos + run);
  return written;
}

function writeAll(fd: number, buf: Buffer, offset: number, length: number, pos: number): number {
  for (let done = 0; done < length; ) done += writeSync(fd, buf, offset + done, length - done, pos + done);
  return length;
}

/** Reads up to `length` bytes at `pos` (short only at the end of the file). */
function readFully(fd: number, buf: Buffer, length: number, pos: number): number {
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, pos + got);
    if (n === 0) break;
    got += n;
  }
  return got;
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
      reject(copyError(err, "read"));
    });
    worker.once("exit", (code) => {
      settle();
      if (code !== 0 && !signal?.aborted) reject(new CopyError(`the SQLite copy thread exited with code ${code}`, "read", undefined));
    });
  });
}


function copyError(err: unknown, phase: CopyError["phase"]): CopyError {
  return err instanceof CopyError ? err : new CopyError((err as Error).message, phase, errnoCode(err));
}
