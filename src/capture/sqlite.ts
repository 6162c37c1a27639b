/**
 * Hot, consistent capture of a live SQLite database: the database file and its -wal copied under
 * ONE read transaction on the source, then recovered and checked by SQLite (./sqlite-copy.ts
 * says why that is a consistent snapshot). Writers in WAL mode carry on committing meanwhile.
 *
 * The source is opened read-only but not `immutable`, so SQLite takes its locks and reads the
 * -wal through the -shm index like any reader, and a read-only connection never checkpoints the
 * application's files on close.
 *
 * The copy is written over the staged file in place, only the pages that changed
 * (./sqlite-copy.ts). What a staged file holds is trusted only through the record a capture
 * leaves once its copy passed integrity_check and is on disk; that record is forgotten before
 * the file is touched: a failed capture removes the file, and one killed midway leaves a file no
 * record vouches for (the next capture compares against it and writes what differs). With
 * `reuse`, an unchanged database is not copied at all (the rule is in ./sqlite-reuse.ts).
 */
import { constants } from "node:fs";
import { lstat, open, rm, utimes } from "node:fs/promises";
import { UserError } from "../errors.js";
import type { CaptureEntry, FileStamp, SqliteCaptureRecords } from "./types.js";
import { captureFsError, errnoCode } from "./fs-errors.js";
import { type LiveDatabase, newestMtime, reusableCopy, stampOf } from "./sqlite-reuse.js";
import { stagingError } from "./staging.js";
import { copyDatabase, copyDatabaseInWorker, CopyError, WORKER_MIN_BYTES } from "./sqlite-copy.js";

export interface SqliteCaptureOptions {
  signal?: AbortSignal;
  /** How long to wait for a lock held by the application (ms). */
  busyTimeoutMs?: number;
  /** Measured figures, for benchmarks and logs. */
  onStats?: (s: SqliteCaptureStats) => void;
  /** Where the copy is made; by default a worker thread for databases of WORKER_MIN_BYTES or more. */
  copyOn?: "worker" | "here";
  /** Reuse the staged copy while the database is unchanged since the capture recorded here. */
  reuse?: { records: SqliteCaptureRecords; instance: string; component: string };
}

export interface SqliteCaptureStats {
  /** The staged copy was reused: no copy, no integrity_check (the other figures are 0). */
  reused: boolean;
  /** Pages in the snapshot copied. */
  pages: number;
  /** Bytes read from the database file and its -wal. */
  bytes: number;
  /** Bytes written into the staged copy: what differed from the previous one. */
  written: number;
  copyMs: number;
  integrityMs: number;
}

const MAGIC = "SQLite format 3\0";

/**
 * Copies the database at `absPath` into `stagedFile` (a single self-contained file in
 * rollback-journal mode, mode 0600), checks it with `PRAGMA integrity_check`, and returns its
 * entry. `relPath` is the entry path relative to the instance root. The staged file's mtime is
 * set to the live database's (the newer of it and its -wal, the entry's mtime as always; utimes
 * keeps it to the microsecond), and the entry takes the copy's own stat, so the two agree exactly
 * for the stat cache.
 */
export async function captureSqlite(
  absPath: string,
  relPath: string,
  stagedFile: string,
  opts: SqliteCaptureOptions = {},
): Promise<CaptureEntry> {
  const startedMs = Date.now();
  // Before the copy: a commit after this stat must make the next capture see a difference.
  const live = await statDatabase(absPath);
  const key = opts.reuse && { instance: opts.reuse.instance, component: opts.reuse.component, path: relPath };
  const stats: SqliteCaptureStats = { reused: false, pages: 0, bytes: 0, written: 0, copyMs: 0, integrityMs: 0 };

  const kept = key && (await reusableCopy(opts.reuse!.records.sqliteCapture(key), live, stagedFile));
  if (kept) {
    opts.onStats?.({ ...stats, reused: true });
    return stagedEntry(relPath, stagedFile, live, kept);
  }

  let recorded: LiveDatabase;
  let check: Promise<void>;
  let staged: FileStamp;
  try {
    // From the first byte written over it, the staged file holds nothing a reuse may trust.
    if (key) opts.reuse!.records.forgetSqliteCapture(key);
    await prepareStaged(stagedFile);
    ({ checked: check } = await makeCopy(stagedFile, live, opts, stats));
    recorded = await settledStamps(live);
    const mtime = newestMtime(live) / 1000;
    await utimes(stagedFile, mtime, mtime);
    staged = stampOf(await lstat(stagedFile));
  } catch (err) {
    await removeCopy(stagedFile);
    throw err;
  }
  const checked = check.then(
    () => {
      opts.onStats?.(stats);
      if (key) {
        const { db, wal } = recorded;
        opts.reuse!.records.rememberSqliteCapture(key, { livePath: absPath, db, ...(wal ? { wal } : {}), startedMs, stagedPath: stagedFile, staged });
      }
    },
    async (err: unknown) => {
      await removeCopy(stagedFile);
      throw err;
    },
  );
  checked.catch(() => undefined); // the store awaits it before the manifest
  return { ...stagedEntry(relPath, stagedFile, live, staged), checked };
}

/**
 * Marked staged, with the copy's inode and ctime: the store then remembers its chunks in the stat
 * cache, and an unchanged copy (same path, inode, mtime, ctime) is not read again.
 */
function stagedEntry(relPath: string, stagedFile: string, live: LiveDatabase, staged: FileStamp): CaptureEntry {
  return {
    path: relPath,
    type: "file",
    source: stagedFile,
    sqlite: true,
    size: staged.size,
    mode: live.mode & 0o7777,
    mtimeMs: staged.mtimeMs,
    staged: true,
    ino: staged.ino,
    ctimeMs: staged.ctimeMs,
  };
}

/**
 * The consistent copy of `live` into `dest` (made ready by prepareStaged); see the header
 * comment. Resolves once the copy is written (a failure before that rejects); `checked` is its
 * integrity_check verdict.
 */
async function makeCopy(dest: string, live: LiveDatabase, opts: SqliteCaptureOptions, stats: SqliteCaptureStats): Promise<{ checked: Promise<void> }> {
  const req = { livePath: live.path, dest, busyTimeoutMs: opts.busyTimeoutMs ?? 15_000 };
  const onWorker = opts.copyOn === "worker" || (opts.copyOn === undefined && live.db.size + (live.wal?.size ?? 0) >= WORKER_MIN_BYTES);
  let copied!: () => void;
  const written = new Promise<void>((resolve) => (copied = resolve));
  const checked = (onWorker ? copyDatabaseInWorker : copyDatabase)(req, opts.signal, copied).then(
    (r) => {
      Object.assign(stats, { pages: r.pages, bytes: r.bytes, written: r.written, copyMs: r.copyMs, integrityMs: r.integrityMs });
      if (r.integrity.length !== 1 || r.integrity[0] !== "ok") {
        throw new UserError(`the online backup of ${live.path} failed PRAGMA integrity_check: ${r.integrity.slice(0, 5).join("; ")}`, {
          hint:
            "the live database itself is probably damaged: stop the application, run `sqlite3 <file> 'PRAGMA integrity_check'` " +
            "and repair it (e.g. `.recover`) before backing it up again",
        });
      }
    },
    (err: unknown) => {
      if (opts.signal?.aborted) throw opts.signal.reason;
      if (!(err instanceof CopyError)) throw err;
      // Only the copy can be full: the source is open read-only.
      if (err.phase === "write" || err.code === "SQLITE_FULL") throw stagingError(err, dest);
      throw sqliteError(err, live.path);
    },
  );
  checked.catch(() => undefined); // awaited by the caller, or through the entry by the store
  // A failure before the copy is written (busy, not a database, abort) rejects here.
  await Promise.race([written, checked]);
  return { checked };
}

/**
 * The stamps to record. Running as root, SQLite chowns the -wal to the database's owner when it
 * opens it (a no-op chown, but it moves the ctime): our own read changed the -wal's ctime. A file
 * whose size, mtime and inode are as they were before the backup was not written since, so its
 * ctime now is the one the next capture must find; anything else keeps the stamp from before,
 * which the next capture will not match.
 */
async function settledStamps(before: LiveDatabase): Promise<LiveDatabase> {
  const settle = async (file: string, old: FileStamp | undefined) => {
    const st = old && (await lstat(file).catch(() => undefined));
    return st && st.size === old.size && st.mtimeMs === old.mtimeMs && st.ino === old.ino ? stampOf(st) : old;
  };
  const db = (await settle(before.path, before.db))!;
  const wal = before.wal ? await settle(`${before.path}-wal`, before.wal) : await appearedEmpty(`${before.path}-wal`);
  return { ...before, db, ...(wal ? { wal } : {}) };
}

/**
 * A read-only connection that finds no -wal beside a WAL database creates an empty one, which
 * would make the next capture see a change and copy again. Empty, it holds no commit: a commit
 * after our snapshot makes it grow, and a checkpoint on close removes it.
 */
async function appearedEmpty(walPath: string): Promise<FileStamp | undefined> {
  const st = await lstat(walPath).catch(() => undefined);
  return st?.isFile() && st.size === 0 ? stampOf(st) : undefined;
}

/** Checks the live file is there and looks like SQLite; returns its mode and the stamps of it and its -wal. */
async function statDatabase(absPath: string): Promise<LiveDatabase> {
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
  // The newest committed data may live only in the -wal: its stats tell a change as well.
  const wal = await lstat(`${absPath}-wal`).catch(() => undefined);
  return { path: absPath, mode: st.mode, db: stampOf(st), ...(wal?.isFile() ? { wal: stampOf(wal) } : {}) };
}

/**
 * The staged file as a regular file of mode 0600 (it holds the users' data; SQLite gives its
 * journal the same mode): the previous copy, kept to be written over, or a new empty one. Nothing
 * may lie beside it: a -journal left by a crash during the conversion would be "rolled back" into
 * the fresh copy when SQLite opens it, and a stale -wal replayed.
 */
async function prepareStaged(file: string): Promise<void> {
  try {
    await removeSidecars(file);
    const st = await lstat(file).catch((err: unknown) => (errnoCode(err) === "ENOENT" ? undefined : Promise.reject(err)));
    if (st && !st.isFile()) await rm(file, { recursive: true, force: true });
    const fh = await open(file, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
    try {
      await fh.chmod(0o600);
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw stagingError(err, file);
  }
}

/**
 * A copy that did not make it, with whatever SQLite left beside it. Its record is already gone, so
 * it would be harmless as the next copy's base; removed all the same: no staged file looks like
 * a copy that is not one. (A killed run leaves it, unrecorded, and the next capture writes over it.)
 */
async function removeCopy(file: string): Promise<void> {
  await Promise.all([rm(file, { force: true }), removeSidecars(file)]);
}

/** What SQLite may leave beside a copy. */
async function removeSidecars(file: string): Promise<void> {
  await Promise.all(["-journal", "-wal", "-shm"].map((s) => rm(file + s, { force: true })));
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
