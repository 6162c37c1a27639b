/**
 * The files walker: lists a component's folder (or single file) as capture entries without
 * reading file contents — the store step reads live files later and re-checks size/mtime.
 *
 * One lstat per entry, readdir withFileTypes (so excluded entries cost no lstat and excluded
 * folders are never entered), and a bounded number of file-system calls in flight. The lstats
 * are synchronous while they are fast (see StatPace).
 * Symlinks are recorded as links and never followed. Sockets, fifos and devices are skipped with
 * a warning. Entries come back sorted by path, so manifests are deterministic.
 */
import { lstat } from "node:fs/promises";
import { accessSync, constants, lstat as lstatCb, readdir as readdirCb, readlink as readlinkCb, type Dirent, type Stats } from "node:fs";
import path from "node:path";
import picomatch from "../vendor/picomatch.js";
import { UserError } from "../errors.js";
import type { CaptureEntry } from "./types.js";
import { captureFsError, errnoCode, modeAllowsRead } from "./fs-errors.js";
import { StatPace } from "../stat-pace.js";

export interface WalkOptions {
  /** Globs relative to the component folder; empty = everything. A matching folder includes all below it. */
  include?: string[];
  /** Globs relative to the component folder; exclude wins; an excluded folder is not entered. */
  exclude?: string[];
  signal?: AbortSignal;
  /** File-system calls in flight at once. */
  concurrency?: number;
  /** Every lstat through the thread pool from the start, as a slow file system gets after one batch. */
  statsOnPool?: boolean;
}

export interface WalkResult {
  entries: CaptureEntry[];
  warnings: string[];
}

/**
 * Walks `<instanceRoot>/<componentPath>`; entry paths are relative to the instance root.
 * `componentPath` "" or "." means the instance root itself (no entry for the root).
 */
export async function walkFiles(instanceRoot: string, componentPath: string, opts: WalkOptions = {}): Promise<WalkResult> {
  const rel = normaliseRel(componentPath);
  // Normalised once, so that a child's path is its folder's and its name, without path.join (its
  // normalising was ~11 ms of a 2 000-file walk; a dirent name holds no "/" to normalise).
  const abs = rel === "" ? path.normalize(instanceRoot) : path.join(instanceRoot, ...rel.split("/"));
  const entries: CaptureEntry[] = [];
  const warnings: string[] = [];
  // Folders walked only because something below might match an include glob.
  const tentative = new Set<string>();
  const isIncluded = matcher(opts.include ?? []);
  const isExcluded = matcher(opts.exclude ?? []);
  const includeAll = (opts.include ?? []).length === 0;
  const pool = new Pool(opts.concurrency ?? 64, opts.signal);
  const pace = new StatPace(opts.statsOnPool !== true);

  let rootStat: Stats;
  try {
    rootStat = await lstat(abs);
  } catch (err) {
    throw captureFsError(err, abs, "path");
  }

  const join = (parent: string, name: string) => (parent === "" ? name : `${parent}/${name}`);
  // `inside` is the path relative to the component folder, which is what globs match.
  const entryPath = (inside: string) => (inside === "" ? rel : join(rel, inside));

  // Callbacks rather than a promise per entry: the walk of 100 000 files spent most of its time
  // in promise bookkeeping and garbage collection.
  const onStat = (absPath: string, inside: string, st: Stats, included: boolean): void => {
    const p = entryPath(inside);
    const mode = st.mode & 0o7777;
    if (st.isDirectory()) {
      if (p !== "") entries.push({ path: p, type: "dir", mode, mtimeMs: st.mtimeMs, size: 0 });
      if (!included) tentative.add(p);
      if (!modeAllowsRead(st, true)) checkReadable(absPath, "folder");
      pool.run((finish) =>
        readdirCb(absPath, { withFileTypes: true }, (err, dirents) => {
          try {
            if (err) throw captureFsError(err, absPath, "folder");
            for (const d of dirents) onDirent(absPath, inside, d, included);
          } catch (e) {
            pool.fail(e);
          }
          finish();
        }),
      );
    } else if (st.isFile()) {
      if (!modeAllowsRead(st, false)) checkReadable(absPath, "file");
      entries.push({ path: p, type: "file", mode, mtimeMs: st.mtimeMs, size: st.size, source: absPath, live: true, ino: st.ino, ctimeMs: st.ctimeMs });
    } else if (st.isSymbolicLink()) {
      pool.run((finish) =>
        readlinkCb(absPath, (err, linkTarget) => {
          if (err) pool.fail(captureFsError(err, absPath, "path"));
          else entries.push({ path: p, type: "symlink", mode, mtimeMs: st.mtimeMs, size: 0, linkTarget });
          finish();
        }),
      );
    } else {
      warnings.push(`${p || abs}: skipped a ${kindOf(st)} (only files, folders and symlinks are backed up)`);
    }
  };

  const onDirent = (absDir: string, inside: string, d: Dirent, included: boolean): void => {
    const childInside = join(inside, d.name);
    if (isExcluded(childInside)) return;
    const childIncluded = included || isIncluded(childInside);
    // Without a match here, only a folder can still hold something included further down.
    if (!childIncluded && !d.isDirectory()) return;
    const childAbs = absDir.endsWith("/") ? absDir + d.name : `${absDir}/${d.name}`;
    const onLstat = (err: unknown, st: Stats | undefined): void => {
      try {
        if (!err) onStat(childAbs, childInside, st!, childIncluded);
        else if (errnoCode(err) !== "ENOENT") throw captureFsError(err, childAbs, "path");
        // Gone between readdir and lstat (a live folder), or a name that is not valid UTF-8.
        else if (d.name.includes("\uFFFD")) warnings.push(`${entryPath(childInside)}: skipped a name that is not valid UTF-8; rename it to back it up`);
        else warnings.push(`${entryPath(childInside)}: vanished during the walk`);
      } catch (e) {
        pool.fail(e);
      }
    };
    if (pace.sync) {
      // Thrown to the readdir callback, which fails the pool, as the pool's own check would.
      if (opts.signal?.aborted) throw opts.signal.reason;
      let st: Stats | undefined;
      try {
        st = pace.lstat(childAbs);
      } catch (err) {
        return onLstat(err, undefined);
      }
      onLstat(undefined, st);
    } else {
      pool.run((finish) =>
        lstatCb(childAbs, (err, st) => {
          onLstat(err, st);
          finish();
        }),
      );
    }
  };

  onStat(abs, "", rootStat, includeAll || !rootStat.isDirectory());
  await pool.idle();
  if (rootStat.isSymbolicLink()) {
    warnings.push(`${rel}: the component path is a symlink; it is stored as a link and its target is not backed up — point \`path:\` at the real folder`);
  }
  const kept = tentative.size === 0 ? entries : pruneToIncluded(entries, rel, tentative);
  kept.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { entries: kept, warnings };
}

/**
 * At most `limit` file-system callbacks in flight, newest first (depth-first keeps the backlog
 * small); `idle()` settles when none is left, or with the first failure.
 */
class Pool {
  private readonly stack: (() => void)[] = [];
  private active = 0;
  private pending = 0;
  private failed = false;
  private settle?: { resolve: () => void; reject: (e: unknown) => void };
  private error: unknown;

  constructor(
    private readonly limit: number,
    private readonly signal?: AbortSignal,
  ) {}

  /** `op` must call `finish` exactly once, after scheduling any follow-up work. */
  run(op: (finish: () => void) => void): void {
    this.pending++;
    this.stack.push(() => op(this.finish));
    this.pump();
  }

  fail(err: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.error = err;
    this.settle?.reject(err);
  }

  idle(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.failed) reject(this.error);
      else if (this.pending === 0) resolve();
      else this.settle = { resolve, reject };
    });
  }

  private readonly finish = (): void => {
    this.active--;
    this.pending--;
    if (this.failed) return;
    if (this.pending === 0) this.settle?.resolve();
    else this.pump();
  };

  private pump(): void {
    if (this.signal?.aborted) this.fail(this.signal.reason);
    if (this.failed) {
      // Drop the backlog; callbacks already in flight still call finish.
      this.pending -= this.stack.length;
      this.stack.length = 0;
      return;
    }
    while (this.active < this.limit && this.stack.length > 0) {
      this.active++;
      this.stack.pop()!();
    }
  }
}

/** With include globs, keep the folders that match or lead to something that does. */
function pruneToIncluded(entries: CaptureEntry[], rel: string, tentative: Set<string>): CaptureEntry[] {
  const needed = new Set<string>([rel]);
  for (const e of entries) {
    if (tentative.has(e.path)) continue;
    for (let p = e.path; p.includes("/") && !needed.has(p.slice(0, p.lastIndexOf("/"))); ) {
      p = p.slice(0, p.lastIndexOf("/"));
      needed.add(p);
    }
  }
  return entries.filter((e) => !tentative.has(e.path) || needed.has(e.path));
}

function checkReadable(absPath: string, what: "file" | "folder"): void {
  // Only reached when the mode bits say no; ACLs or capabilities may still say yes. Rare, so sync.
  try {
    accessSync(absPath, what === "folder" ? constants.R_OK | constants.X_OK : constants.R_OK);
  } catch (err) {
    throw captureFsError(err, absPath, what);
  }
}

export function normaliseRel(componentPath: string): string {
  const p = path.posix.normalize(componentPath.replaceAll("\\", "/")).replace(/\/+$/, "");
  if (p === "." || p === "") return "";
  if (path.posix.isAbsolute(p) || p === ".." || p.startsWith("../")) {
    throw new UserError(`component path "${componentPath}" must be relative to the instance folder and stay inside it`, {
      hint: "write component paths like `uploads` or `vector_db`, relative to the instance `path:`",
    });
  }
  return p;
}

function matcher(globs: string[]): (p: string) => boolean {
  if (globs.length === 0) return () => false;
  return picomatch(globs, { dot: true });
}

function kindOf(st: Stats): string {
  if (st.isFIFO()) return "fifo";
  if (st.isSocket()) return "socket";
  if (st.isBlockDevice()) return "block device";
  if (st.isCharacterDevice()) return "character device";
  return "special file";
}
