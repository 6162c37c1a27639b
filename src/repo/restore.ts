/**
 * Recreates an instance's data directory from snapshot manifests (one per component).
 * Every path is checked before anything is written; every chunk is checked against its id as it
 * is read; files appear under their name only once complete (temp name, then rename), so an
 * interrupted restore never leaves a truncated file that looks whole. Folder modes and mtimes are
 * set last, deepest first, since writing into a folder changes its mtime.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { chmod, lstat, lutimes, mkdir, open, readdir, rename, rm, symlink, utimes, type FileHandle } from "node:fs/promises";
import path from "node:path";
import { errorMessage, IntegrityError, NotFoundError, UserError } from "../errors.js";
import { errnoCode } from "../capture/fs-errors.js";
import { treeProblems } from "./paths.js";
import type { ChunkDecoder } from "./decoder.js";
import type { Repository } from "./repository.js";
import type { ManifestEntry, SnapshotManifest } from "./types.js";

/**
 * Chunks in flight, and their bytes, across the files restored at once. With decoder threads this
 * thread holds only their encoded bytes (the threads write the plaintext). Before, 4 files × 4
 * chunks of plaintext crossed to this thread, and RSS neared the 250 MiB goal.
 */
const IN_FLIGHT = 32;
const IN_FLIGHT_BYTES = 32 * 1024 * 1024;
/** Files restored concurrently: small files are a few syscalls each, and those wait on the pool. */
const FILES = 16;
/** From this much on, decoding on its own thread pays for the thread's start (~40 ms). */
const DECODER_MIN_BYTES = 32 * 1024 * 1024;

export interface RestoreOptions {
  /** Restore into a non-empty folder, replacing what is at the same paths. */
  force?: boolean;
  /**
   * When given, a file that cannot be restored (missing or corrupt chunk) is reported here and
   * the restore goes on with the next one (verify). Otherwise the first problem throws.
   */
  onProblem?: (message: string) => void;
  onProgress?: (p: { bytesDone: number; bytesTotal: number }) => void;
  /** Where chunks are decoded and checked; by default a worker thread from DECODER_MIN_BYTES on. */
  decodeOn?: "worker" | "here";
}

export interface RestoreResult {
  files: number;
  dirs: number;
  symlinks: number;
  bytes: number;
}

export async function restoreSnapshots(repo: Repository, manifests: SnapshotManifest[], destDir: string, opts: RestoreOptions = {}): Promise<RestoreResult> {
  const entries = manifests.flatMap((m) => m.entries);
  const problems = treeProblems(entries);
  if (problems.length > 0) {
    throw new IntegrityError(
      `refusing to restore snapshot ${manifests.map((m) => m.id.slice(0, 8)).join(", ")}: its manifest has unsafe paths: ${problems.slice(0, 5).join("; ")}${problems.length > 5 ? ` (and ${problems.length - 5} more)` : ""}`,
      { hint: "a manifest like this was not written by backplan; do not use this repository until you know who changed it" },
    );
  }
  const dest = path.resolve(destDir);
  await prepareDest(dest, Boolean(opts.force));

  const result: RestoreResult = { files: 0, dirs: 0, symlinks: 0, bytes: 0 };
  const total = entries.reduce((n, e) => n + (e.type === "file" ? e.size : 0), 0);
  const onWorker = opts.decodeOn === "worker" || (opts.decodeOn === undefined && total >= DECODER_MIN_BYTES);
  const decoder = onWorker ? repo.decoder() : undefined;
  // Whole files on the decoder threads when they can read the packs themselves (local folders):
  // no trip through this thread and the pool per chunk and per file system call.
  const onThreads = decoder !== undefined && repo.packsAreLocal;
  const slots = new Slots(IN_FLIGHT, IN_FLIGHT_BYTES);
  // Promises, not flags: files are restored FILES at a time and may need the same folder at once.
  const checked = new Map<string, Promise<void>>([["", Promise.resolve()]]);
  const ensureDir = (rel: string): Promise<void> => {
    let p = checked.get(rel);
    if (!p) {
      p = (async () => {
        await ensureDir(path.posix.dirname(rel) === "." ? "" : path.posix.dirname(rel));
        const abs = path.join(dest, rel);
        const st = await lstat(abs).catch(() => undefined);
        if (!st) await mkdir(abs, { mode: 0o700 });
        else if (!st.isDirectory()) {
          // Includes symlinks: never follow one out of the destination.
          throw new UserError(`cannot restore into ${abs}: it exists and is not a folder`, { hint: "restore into an empty folder" });
        }
      })();
      checked.set(rel, p);
    }
    return p;
  };
  const parentOf = (p: string) => (p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : "");

  const dirs = entries.filter((e) => e.type === "dir").sort((a, b) => a.path.localeCompare(b.path));
  for (const d of dirs) {
    await ensureDir(d.path);
    result.dirs++;
  }
  let done = 0;
  const restoreOne = async (e: ManifestEntry): Promise<void> => {
    const abs = path.join(dest, e.path);
    const tmp = path.join(path.dirname(abs), `.${path.basename(abs).slice(0, 100)}.backplan-${randomBytes(4).toString("hex")}`);
    try {
      await ensureDir(parentOf(e.path));
      // Without --force the destination was empty and manifest paths are unique (treeProblems):
      // nothing can be in the way, and 2000 lstats were a tenth of a restore's main thread.
      const existing = opts.force ? await lstat(abs).catch(() => undefined) : undefined;
      if (existing?.isDirectory()) throw new UserError(`cannot restore ${abs}: a folder is in the way`);
      if (e.type === "symlink") {
        await symlink(e.linkTarget ?? "", tmp);
        await rename(tmp, abs);
        await lutimes(abs, e.mtimeMs / 1000, e.mtimeMs / 1000).catch(() => undefined);
        result.symlinks++;
      } else {
        if (onThreads) await restoreOnThread(repo, e, tmp, abs, decoder!);
        else {
          await writeFile(repo, e, tmp, decoder, slots);
          await rename(tmp, abs);
        }
        result.files++;
        result.bytes += e.size;
      }
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined);
      if (!opts.onProblem || !(err instanceof IntegrityError || err instanceof NotFoundError)) throw destinationError(err, abs, dest);
      opts.onProblem(`${e.path}: ${errorMessage(err)}`);
    }
    done += e.type === "file" ? e.size : 0;
    opts.onProgress?.({ bytesDone: done, bytesTotal: total });
  };
  // Several files at once: one at a time left the disk and the pool idle between small files.
  const queue = entries.filter((e) => e.type !== "dir");
  // Largest first on the threads: a file is one thread's, and a large one last would end the
  // restore on one core (the database comes last in a snapshot's order).
  if (onThreads) queue.sort((a, b) => (b.type === "file" ? b.size : 0) - (a.type === "file" ? a.size : 0));
  let next = 0;
  let failure: { err: unknown } | undefined;
  try {
    await Promise.all(
      Array.from({ length: FILES }, async () => {
        while (!failure && next < queue.length) {
          try {
            await restoreOne(queue[next++]!);
          } catch (err) {
            failure ??= { err };
          }
        }
      }),
    );
  } finally {
    await decoder?.close();
  }
  if (failure) throw failure.err;
  for (const d of [...dirs].reverse()) {
    const abs = path.join(dest, d.path);
    await chmod(abs, d.mode & 0o7777);
    await utimes(abs, d.mtimeMs / 1000, d.mtimeMs / 1000);
  }
  return result;
}

/**
 * The umask, read where no race is possible (/proc; process.umask() sets 0 for a moment, while
 * the thread pool may be creating folders); undefined elsewhere, and files then take the fchmod.
 */
function readUmask(): number | undefined {
  try {
    const m = /^Umask:\s*([0-7]+)$/m.exec(readFileSync("/proc/self/status", "utf8"));
    return m ? parseInt(m[1]!, 8) : undefined;
  } catch {
    return undefined;
  }
}
let umaskRead: { value: number | undefined } | undefined;
const processUmask = () => (umaskRead ??= { value: readUmask() }).value;

/** A full disk or a folder we may not write, as something the user can act on; anything else as is. */
function destinationError(err: unknown, abs: string, dest: string): unknown {
  const code = errnoCode(err);
  const kept = "the files restored before it are complete; the one that failed was removed";
  if (code === "ENOSPC" || code === "EDQUOT") {
    return new UserError(`cannot restore ${abs}: no space left on the device`, {
      hint: `free space on the disk that holds ${dest}, or restore to another folder (--to); ${kept}`,
      cause: err,
    });
  }
  if (code === "EACCES" || code === "EPERM" || code === "EROFS") {
    return new UserError(`cannot restore ${abs}: ${code === "EROFS" ? "the file system is read-only" : "permission denied"}`, {
      hint: `restore to a folder this user can write (--to), or run as a user that can write ${dest}; ${kept}`,
      cause: err,
    });
  }
  return err;
}

async function prepareDest(dest: string, force: boolean): Promise<void> {
  try {
    await mkdir(dest, { recursive: true });
  } catch (err) {
    throw new UserError(`cannot create the restore folder ${dest}: ${errorMessage(err)}`, { cause: err });
  }
  const names = await readdir(dest);
  if (names.length > 0 && !force) {
    throw new UserError(`the restore folder ${dest} is not empty`, {
      hint: "restore into a new or empty folder, or pass --force to overwrite files at the same paths",
    });
  }
}

/** Refuses a manifest entry whose chunks do not add up to its size, before anything is written. */
async function checkSizes(repo: Repository, e: ManifestEntry): Promise<number[]> {
  const sizes = await repo.chunkSizes(e.chunks ?? []);
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total !== e.size) throw new IntegrityError(`${e.path}: its chunks hold ${total} bytes, the manifest says ${e.size}`);
  return sizes;
}

/**
 * The mode a file is created with, and the one set afterwards if any. Created with its final
 * mode when the umask leaves that mode whole (0644 under 022): one fchmod fewer per file. Never
 * wider than the file will be; setuid and friends still by fchmod.
 */
function modes(e: ManifestEntry): { createMode: number; chmod: number | undefined } {
  const mode = e.mode & 0o7777;
  const umask = processUmask();
  const direct = umask !== undefined && (mode & ~0o777) === 0 && (mode & umask) === 0;
  return direct ? { createMode: mode, chmod: undefined } : { createMode: 0o600, chmod: mode };
}

/** The whole file on a decoder thread (Repository.restoreFile), renamed to `abs` there once complete. */
async function restoreOnThread(repo: Repository, e: ManifestEntry, tmp: string, abs: string, decoder: ChunkDecoder): Promise<void> {
  await checkSizes(repo, e);
  await repo.restoreFile(decoder, e.chunks ?? [], { tmp, path: abs, ...modes(e), mtimeMs: e.mtimeMs });
}

/**
 * Chunks are fetched as slots allow and written at their place (positions from the index's
 * sizes), each hash-checked as it is decoded; with a decoder, its thread writes them.
 */
async function writeFile(repo: Repository, e: ManifestEntry, tmp: string, decoder: ChunkDecoder | undefined, slots: Slots): Promise<void> {
  const chunks = e.chunks ?? [];
  const sizes = await checkSizes(repo, e);
  const { createMode, chmod } = modes(e);
  const fh = await open(tmp, "wx", createMode);
  try {
    const writes: Promise<void>[] = [];
    let failed = false;
    let position = 0;
    for (let i = 0; i < chunks.length; i++) {
      const taken = await slots.take(sizes[i]!);
      if (failed) {
        slots.give(taken);
        break;
      }
      const at = position;
      position += sizes[i]!;
      const write = decoder ? repo.writeChunk(chunks[i]!, decoder, fh.fd, at) : writeHere(repo, chunks[i]!, sizes[i]!, fh, at);
      const settled = write.finally(() => slots.give(taken));
      settled.catch(() => (failed = true));
      writes.push(settled);
    }
    // Every write settles before the file is closed: a decoder thread may still hold its fd.
    const failure = (await Promise.allSettled(writes)).find((r) => r.status === "rejected");
    if (failure) throw failure.reason;
    if (chmod !== undefined) await fh.chmod(chmod);
    await fh.utimes(e.mtimeMs / 1000, e.mtimeMs / 1000); // last: nothing writes to it after this
  } finally {
    await fh.close();
  }
}

async function writeHere(repo: Repository, id: string, size: number, fh: FileHandle, at: number): Promise<void> {
  const data = await repo.getChunk(id);
  if (data.length !== size) throw new IntegrityError(`chunk ${id} is ${data.length} bytes, the index says ${size}`);
  for (let done = 0; done < data.length; ) done += (await fh.write(data, done, data.length - done, at + done)).bytesWritten;
}

/**
 * Chunks and bytes in flight, shared by the files restored at once. Waiters are served in turn
 * (a large chunk is not overtaken for ever by small ones); one larger than the whole budget
 * goes alone.
 */
class Slots {
  private readonly waiting: { bytes: number; go: () => void }[] = [];
  constructor(
    private chunks: number,
    private readonly budget: number,
    private bytes = budget,
  ) {}

  take(size: number): Promise<number> {
    const bytes = Math.min(size, this.budget);
    if (this.waiting.length === 0 && this.fits(bytes)) return Promise.resolve(this.grant(bytes));
    return new Promise((resolve) => this.waiting.push({ bytes, go: () => resolve(this.grant(bytes)) }));
  }

  /** `taken` is what take resolved to. */
  give(taken: number): void {
    this.chunks++;
    this.bytes += taken;
    while (this.waiting.length > 0 && this.fits(this.waiting[0]!.bytes)) this.waiting.shift()!.go();
  }

  private fits(bytes: number): boolean {
    return this.chunks > 0 && this.bytes >= bytes;
  }

  private grant(bytes: number): number {
    this.chunks--;
    this.bytes -= bytes;
    return bytes;
  }
}
