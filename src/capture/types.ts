/**
 * What a capture hands to the repository layer. A component is captured once per run into a
 * consistent form (SQLite files through the online backup API into a staging folder; plain
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
   * re-checks size/mtime after reading and reads again (or reports) when it changed.
   */
  live?: boolean;
  /** For the stat cache: identity of the live file. Absent for staging copies. */
  ino?: number;
  ctimeMs?: number;
  /** Symlinks: the link text, stored as is, never followed. */
  linkTarget?: string;
  /** This file is a SQLite database captured by the online backup API: verify runs integrity_check. */
  sqlite?: boolean;
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
  /** Removes the staging folder. Idempotent. */
  cleanup(): Promise<void>;
}
