/**
 * When the staged copy of a SQLite database may stand in for a new online backup.
 *
 * The capture records, after each success, the stats of the live database and its -wal taken
 * BEFORE the backup began, when it began, and the stats of the staged copy it left. The next
 * capture reuses that copy, unread, when:
 *   - the live database and its -wal have the same size, mtime, inode and ctime (every commit
 *     writes one of them: the -wal, or the database itself after a checkpoint or in rollback mode);
 *   - the staged copy is still there with the same size, mtime, inode and ctime (not deleted or
 *     edited by hand, not replaced by another run);
 *   - the recorded capture began more than RACY_MS after the newest of those mtimes. A commit in
 *     the same mtime tick as the stat, but after it (and after the backup's snapshot), would leave
 *     identical stats and a copy without it; past that margin a later commit has a later mtime.
 *     A -wal that restarts from its beginning keeps its size, so only the mtime tells.
 * The copy was checked by integrity_check when it was made, so a reuse skips that too.
 *
 * Run as root, every SQLite connection that opens the database (the application starting, an
 * admin's sqlite3, a second component on the same file) chowns the -wal to the database's owner,
 * which moves its ctime: the next capture then makes a fresh copy, which is merely slower. Our
 * own backup does it too; captureSqlite records the ctime it leaves (settledStamps).
 */
import type { Stats } from "node:fs";
import { lstat } from "node:fs/promises";
import { RACY_MS, type FileStamp, type SqliteCaptureRecord } from "./types.js";


/** The live database as stat'ed before a capture. */
export interface LiveDatabase {
  path: string;
  mode: number;
  db: FileStamp;
  wal?: FileStamp;
}

export function stampOf(st: Stats): FileStamp {
  return { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, ctimeMs: st.ctimeMs };
}

/**
 * The newest mtime of the database and its -wal: committed data may live only in the -wal. An
 * empty -wal holds none (a commit into it changes its size), so its mtime does not count: our own
 * read creates one beside a fully checkpointed database, after the capture began.
 */
export function newestMtime(live: { db: FileStamp; wal?: FileStamp | undefined }): number {
  return Math.max(live.db.mtimeMs, live.wal?.size ? live.wal.mtimeMs : 0);
}

/** The staged copy's current stamp when `record` allows reusing it for `live`; undefined otherwise. */
export async function reusableCopy(record: SqliteCaptureRecord | undefined, live: LiveDatabase, stagedFile: string): Promise<FileStamp | undefined> {
  if (!record || record.livePath !== live.path || record.stagedPath !== stagedFile) return undefined;
  if (!sameStamp(record.db, live.db) || !sameStamp(record.wal, live.wal)) return undefined;
  if (record.startedMs - newestMtime(record) <= RACY_MS) return undefined;
  const st = await lstat(stagedFile).catch(() => undefined);
  if (!st?.isFile()) return undefined;
  const staged = stampOf(st);
  return sameStamp(record.staged, staged) ? staged : undefined;
}

function sameStamp(a: FileStamp | undefined, b: FileStamp | undefined): boolean {
  if (!a || !b) return a === b;
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino && a.ctimeMs === b.ctimeMs;
}
