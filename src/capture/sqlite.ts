/**
 * Hot, consistent capture of a live SQLite database through the online backup API.
 *
 * A step-wise backup normally takes and drops a read lock per step, and restarts from page 1
 * whenever another process commits in between — against a busy application it may never finish.
 * We instead open ONE read transaction on the source before the backup starts: every step then
 * copies pages of the same snapshot, nothing restarts, and writers (in WAL mode) carry on
 * committing to the -wal meanwhile. Steps stay small so the event loop keeps turning.
 *
 * The source is opened read-only but not `immutable`, so SQLite reads the -wal through the
 * -shm index like any reader, and a read-only connection never checkpoints the application's
 * files on close.
 */
import { lstat, open, rm } from "node:fs/promises";
import Database from "better-sqlite3";
import { UserError } from "../errors.js";
import type { CaptureEntry } from "./types.js";
import { captureFsError, errnoCode } from "./fs-errors.js";

export interface SqliteCaptureOptions {
  signal?: AbortSignal;
  /** How long to wait for a lock held by the application (ms). */
  busyTimeoutMs?: number;
  /** Pages per backup step; the whole copy is one snapshot whatever this is. */
  pagesPerStep?: number;
  /** Measured figures, for benchmarks and logs. */
  onStats?: (s: SqliteCaptureStats) => void;
}

export interface SqliteCaptureStats {
  pages: number;
  steps: number;
  /** Times the backup started over; stays 0 because the read snapshot is held. */
  restarts: number;
  backupMs: number;
  integrityMs: number;
}

const MAGIC = "SQLite format 3\0";

/**
 * Copies the database at `absPath` into `stagedFile` (a single self-contained file in
 * rollback-journal mode), checks it with `PRAGMA integrity_check`, and returns its entry.
 * `relPath` is the entry path relative to the instance root.
 */
export async function captureSqlite(
  absPath: string,
  relPath: string,
  stagedFile: string,
  opts: SqliteCaptureOptions = {},
): Promise<CaptureEntry> {
  const live = await statDatabase(absPath);
  await rm(stagedFile, { force: true });
  const stats: SqliteCaptureStats = { pages: 0, steps: 0, restarts: 0, backupMs: 0, integrityMs: 0 };

  let src: Database.Database;
  try {
    src = new Database(absPath, { readonly: true, fileMustExist: true, timeout: opts.busyTimeoutMs ?? 15_000 });
  } catch (err) {
    throw sqliteError(err, absPath);
  }
  const t0 = performance.now();
  try {
    // Pin one snapshot (WAL content included) for the whole copy; see the header comment.
    src.exec("BEGIN");
    src.prepare("SELECT count(*) FROM sqlite_schema").get();
    let lastRemaining = Infinity;
    const pagesPerStep = opts.pagesPerStep ?? 2048;
    const done = await src.backup(stagedFile, {
      progress: ({ remainingPages }) => {
        opts.signal?.throwIfAborted();
        if (remainingPages > lastRemaining) stats.restarts++;
        lastRemaining = remainingPages;
        stats.steps++;
        return pagesPerStep;
      },
    });
    stats.pages = done.totalPages;
    src.exec("COMMIT");
  } catch (err) {
    await rm(stagedFile, { force: true });
    if (opts.signal?.aborted) throw opts.signal.reason;
    throw sqliteError(err, absPath);
  } finally {
    src.close();
  }
  stats.backupMs = performance.now() - t0;

  const t1 = performance.now();
  await finishStagedCopy(stagedFile, absPath);
  stats.integrityMs = performance.now() - t1;
  opts.onStats?.(stats);

  const staged = await lstat(stagedFile);
  return {
    path: relPath,
    type: "file",
    source: stagedFile,
    sqlite: true,
    size: staged.size,
    mode: live.mode & 0o7777,
    mtimeMs: live.mtimeMs,
  };
}

/** Checks the live file is there and looks like SQLite; returns its mode and newest mtime (db or -wal). */
async function statDatabase(absPath: string): Promise<{ mode: number; mtimeMs: number }> {
  let st;
  try {
    st = await lstat(absPath);
  } catch (err) {
    throw captureFsError(err, absPath, "file");
  }
  if (!st.isFile()) {
    throw new UserError(`${absPath} is not a SQLite database file (it is a ${st.isDirectory() ? "folder" : "special file"})`, {
      hint: "point the component's `path:` at the database file, or use `kind: files` for a folder",
    });
  }
  if (st.size > 0) {
    const header = Buffer.alloc(16);
    let fh;
    try {
      fh = await open(absPath, "r");
      await fh.read(header, 0, 16, 0);
    } catch (err) {
      throw captureFsError(err, absPath, "file");
    } finally {
      await fh?.close();
    }
    if (header.toString("latin1") !== MAGIC) throw notSqlite(absPath);
  }
  // The newest committed data may live only in the -wal: its mtime is the database's real age.
  const wal = await lstat(`${absPath}-wal`).catch(() => undefined);
  return { mode: st.mode, mtimeMs: Math.max(st.mtimeMs, wal?.mtimeMs ?? 0) };
}

/** Makes the staged copy a single rollback-journal file and proves it is intact. */
async function finishStagedCopy(stagedFile: string, livePath: string): Promise<void> {
  let result: string[];
  let copy: Database.Database | undefined;
  try {
    copy = new Database(stagedFile, { fileMustExist: true });
    copy.pragma("journal_mode = DELETE");
    result = (copy.pragma("integrity_check", { simple: false }) as { integrity_check: string }[]).map((r) => r.integrity_check);
  } catch (err) {
    // Damage bad enough that SQLite refuses to read the copy at all.
    result = [(err as Error).message];
  } finally {
    copy?.close();
  }
  await rm(`${stagedFile}-wal`, { force: true });
  await rm(`${stagedFile}-shm`, { force: true });
  if (result.length !== 1 || result[0] !== "ok") {
    await rm(stagedFile, { force: true });
    throw new UserError(
      `the online backup of ${livePath} failed PRAGMA integrity_check: ${result.slice(0, 5).join("; ")}`,
      {
        hint:
          "the live database itself is probably damaged: stop the application, run `sqlite3 <file> 'PRAGMA integrity_check'` " +
          "and repair it (e.g. `.recover`) before backing it up again",
      },
    );
  }
}

function notSqlite(absPath: string): UserError {
  return new UserError(`${absPath} is not a SQLite database`, {
    hint: "check the component's `path:` in backup.yaml, or use `kind: files` for a file that is not SQLite",
  });
}

function sqliteError(err: unknown, absPath: string): unknown {
  const code = errnoCode(err);
  if (code === "SQLITE_NOTADB") return notSqlite(absPath);
  if (code === "SQLITE_BUSY" || code === "SQLITE_LOCKED") {
    return new UserError(`${absPath} stayed locked by another process for longer than the busy timeout`, {
      hint: "the application holds an exclusive lock (e.g. locking_mode=EXCLUSIVE or a long write); retry later or use `consistency: cold`",
      cause: err,
    });
  }
  if (code === "SQLITE_CANTOPEN" || code === "SQLITE_READONLY_CANTINIT" || code === "SQLITE_READONLY_RECOVERY") {
    return new UserError(`cannot open ${absPath} (${code})`, {
      hint:
        "backplan needs read access to the database and read-write access to its -shm/-wal beside it (SQLite's WAL index); " +
        "run backplan as the application's user or fix the permissions of the folder",
      cause: err,
    });
  }
  if (code === "SQLITE_READONLY_ROLLBACK") {
    return new UserError(`${absPath} has an unfinished transaction left by a crash (a hot ${absPath}-journal), which a read-only backup cannot roll back`, {
      hint: "start the application once (or open the database with `sqlite3` as its user) so SQLite rolls the transaction back, then run the backup again",
      cause: err,
    });
  }
  if (code === "SQLITE_CORRUPT") {
    return new UserError(`${absPath} is corrupt: ${(err as Error).message}`, {
      hint: "stop the application and repair the database (sqlite3 `.recover`) before backing it up",
      cause: err,
    });
  }
  return captureFsError(err, absPath, "file");
}
