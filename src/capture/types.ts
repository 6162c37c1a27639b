/**
 * What a capture hands to the repository layer. A component is captured once per run into a
 * consistent form (SQLite files copied online into a staging folder, see ./sqlite-copy.ts; plain
 * files read live) and then stored to every target that is due.
 */
import type { ComponentKind, Consistency } from "../spec/types.js";

export interface CaptureEntry {
  /** Path relative to the INSTANCE root, posix separators, e.g. "webui.db", "uploads/a b.pdf". */
  path: string;
  type: "file" | "dir" | "symlink";
  /** Permission bits (mode & 0o7777). */
  mode: number;
  mtimeMs: number;
  /** Bytes of a file; 0 for dirs and symlinks. */
  size: number;
  /** Absolute path to read the bytes from (a staging copy, or the live file). Files only. */
  source?: string;
  /**
   * True when `source` is the live file the application may still be writing: the store step
   * re-checks size/mtime after reading and reads again (or reports) when it changed, and a file
   * deleted before it is read is left out with a warning (the folder as it is now).
   */
  live?: boolean;
  /**
   * True when `source` is a persistent copy backplan made (the SQLite staging area): remembered in
   * the stat cache like a live file, so an unchanged copy is not read again, but a copy that has
   * disappeared is an error, never a snapshot silently missing its database.
   */
  staged?: boolean;
  /** For the stat cache: identity of `source` (the live file, or the staged copy). */
  ino?: number;
  ctimeMs?: number;
  /** Symlinks: the link text, stored as is, never followed. */
  linkTarget?: string;
  /** This file is a SQLite database copied online (consistent, then integrity_checked): verify runs integrity_check too. */
  sqlite?: boolean;
  /**
   * The copy's check, still running when the capture returns (a fresh SQLite copy's
   * integrity_check). The store may read the file meanwhile; the snapshot exists only once this
   * has resolved, and a rejection (a damaged database) fails it.
   */
  checked?: Promise<void>;
}

export interface CapturedComponent {
  instance: string;
  component: string;
  kind: ComponentKind;
  consistency: Consistency;
  entries: CaptureEntry[];
  /**
   * Things skipped or worth knowing that did not fail the capture, one sentence each
   * (e.g. "uploads/x.sock: skipped a socket …"). Empty when all went well.
   */
  warnings: string[];
  startedAt: Date;
  finishedAt: Date;
  /** Removes a temporary staging folder (never the persistent staging area). Idempotent. */
  cleanup(): Promise<void>;
}

/**
 * A file whose mtime is less than this before the moment it was stat'ed may still change within
 * the same mtime tick: neither the store's stat cache nor the SQLite staging trusts such a stat.
 * Coarser than the tick of the file systems data lives on (ext4, xfs, btrfs, zfs: a few ms or
 * less; some network file systems: 1 s).
 */
export const RACY_MS = 1000;

/** What tells a file's content apart without reading it: lstat fields. */
export interface FileStamp {
  size: number;
  mtimeMs: number;
  ino: number;
  ctimeMs: number;
}

export interface SqliteCaptureKey {
  instance: string;
  component: string;
  /** Entry path of the database, relative to the instance root. */
  path: string;
}

/** The last successful capture of one SQLite database into the persistent staging area. */
export interface SqliteCaptureRecord {
  livePath: string;
  /** The live database and its -wal (absent when there was none), stat'ed before the backup began. */
  db: FileStamp;
  wal?: FileStamp;
  /** When that capture started (ms since the epoch, wall clock), taken before those stats. */
  startedMs: number;
  stagedPath: string;
  /** The staged copy as it was left. */
  staged: FileStamp;
}

/** Where those records are kept between runs: the catalog. */
export interface SqliteCaptureRecords {
  sqliteCapture(key: SqliteCaptureKey): SqliteCaptureRecord | undefined;
  rememberSqliteCapture(key: SqliteCaptureKey, record: SqliteCaptureRecord): void;
  /** Called before the staged copy is written over: from then on it holds nothing to trust. */
  forgetSqliteCapture(key: SqliteCaptureKey): void;
}
