/**
 * Stores one captured component as a snapshot: chunks first, the manifest last.
 *
 * Reading and chunking run on this thread while up to WRITES chunk writes (compress, seal, put)
 * are in flight, so the disk or network is kept busy without holding more than a few chunks in
 * memory. Unchanged files are not even read when the stat cache knows their chunks and every one
 * of them is on this repository. A crash anywhere before the manifest leaves only chunks no
 * manifest references, which a later gc collects; the next run reuses them.
 */
import { hash, randomBytes } from "node:crypto";
import { statSync } from "node:fs";
import os from "node:os";
import { BugError, UserError } from "../errors.js";
import { RACY_MS, type CaptureEntry, type CapturedComponent } from "../capture/types.js";
import { toolVersion } from "../version.js";
import { BufferPool } from "./buffer-pool.js";
import { chunkFile, chunkFixed, SQLITE_CHUNK } from "./chunker.js";
import { acquireLock, type HeldLock } from "./locks.js";
import { treeProblems } from "./paths.js";
import type { KnownChunks, Repository } from "./repository.js";
import type { ChunkRef, ManifestEntry, SnapshotManifest, SnapshotSummary, StatCache, StatKey } from "./types.js";

/**
 * Chunk encodes in flight (compress on the pool, seal, add to a pack). With packs, writes are
 * in-memory appends; 4 keeps the pool busy, 8 measured no faster and 20 MiB more RSS...
 */
const WRITES = 4;
/** ...but no more plaintext than this (each write also holds its compressed and sealed copies). */
const WRITE_BYTES = 16 * 1024 * 1024;
const LIVE_ATTEMPTS = 3;
/** Chunk copies, shared by the stores of one process (they run on one thread). */
const chunkBuffers = new BufferPool();

export interface StoreProgress {
  bytesDone: number;
  bytesTotal: number;
  filesDone: number;
  filesTotal: number;
  chunksNew: number;
  bytesWritten: number;
}

export interface StoreOptions {
  statCache?: StatCache;
  onProgress?: (p: StoreProgress) => void;
  /** A problem that did not stop the snapshot, e.g. a live file deleted before it was read. */
  onWarning?: (message: string) => void;
  /** Snapshot time (the capture's start by default). */
  time?: Date;
  host?: string;
  /**
   * A shared lock the caller holds for several stores to this repository (apply holds one per
   * target): the index read under it stays valid between them instead of being read again per
   * store. Checked before the manifest like our own; the caller releases it.
   */
  lock?: HeldLock;
  /** prepareStore's answers for this capture, found while the key was still being unlocked. */
  prepared?: PreparedStore;
}

/**
 * What a store can learn before the repository's key is unlocked: whether the capture is safe
 * to store, and the stat cache's chunk lists. apply prepares while scrypt runs (~0.1 s), which
 * took a no-change store of 2 500 uploads ~25 ms off its path. The chunk ids (keyed) and the
 * check that each chunk is on the target wait for the key, as before.
 */
export interface PreparedStore {
  readonly captured: CapturedComponent;
  /**
   * The stat cache's chunks of each file it knows unchanged, by capture entry; every file was
   * asked. Undefined when none was (no stat cache, or over PREPARE_MAX files).
   */
  readonly cached: ReadonlyMap<CaptureEntry, ChunkRef[]> | undefined;
}

/** Beyond this many files a store asks the stat cache as it goes: the lists would all be held at once. */
const PREPARE_MAX = 20_000;

export function prepareStore(captured: CapturedComponent, statCache: StatCache | undefined): PreparedStore {
  const problems = treeProblems(captured.entries);
  if (problems.length > 0) throw new BugError(`capture of ${captured.instance}/${captured.component} has unsafe entries: ${problems.slice(0, 3).join("; ")}`);
  const files = captured.entries.filter((e) => e.type === "file");
  if (!statCache || files.length > PREPARE_MAX) return { captured, cached: undefined };
  const cached = new Map<CaptureEntry, ChunkRef[]>();
  statCache.prefetch?.(captured.instance, files.map((e) => e.path));
  try {
    for (const e of files) {
      const key = statKey(captured.instance, e);
      const refs = key && statCache.get(key);
      if (refs) cached.set(e, refs);
    }
  } finally {
    statCache.forget?.();
  }
  return { captured, cached };
}

function statKey(instance: string, e: CaptureEntry): StatKey | undefined {
  return e.ino !== undefined && e.ctimeMs !== undefined ? { instance, path: e.path, size: e.size, mtimeMs: e.mtimeMs, ino: e.ino, ctimeMs: e.ctimeMs } : undefined;
}

export async function storeSnapshot(repo: Repository, captured: CapturedComponent, opts: StoreOptions = {}): Promise<SnapshotSummary> {
  const t0 = Date.now();
  if (opts.prepared && opts.prepared.captured !== captured) throw new BugError("storeSnapshot given another capture's preparation");
  const prepared = opts.prepared ?? prepareStore(captured, opts.statCache);

  const lock = opts.lock ?? (await acquireLock(repo, { exclusive: false, purpose: `backup ${captured.instance}/${captured.component}` }));
  try {
    const run = new StoreRun(repo, captured, prepared, opts);
    const entries = await run.storeAll();
    const summary: SnapshotSummary = {
      id: randomBytes(16).toString("hex"),
      instance: captured.instance,
      component: captured.component,
      kind: captured.kind,
      time: (opts.time ?? captured.startedAt).toISOString(),
      host: opts.host ?? os.hostname(),
      tool: toolVersion,
      consistency: captured.consistency,
      stats: { ...run.stats, durationMs: Date.now() - t0 },
    };
    const manifest: SnapshotManifest = { ...summary, formatVersion: 1, entries };
    // A SQLite copy is chunked while its integrity_check runs: no snapshot of it before that passed.
    await Promise.all(captured.entries.map((e) => e.checked));
    // Only now, with every chunk durably written and our lock still ours, may the snapshot exist.
    await lock.assertHeld();
    await repo.writeSnapshot(manifest);
    return summary;
  } finally {
    // A failed store may still have packs on their way: no writes after the lock is gone.
    await repo.settleWrites();
    if (!opts.lock) await lock.release();
  }
}

class StoreRun {
  readonly stats = { files: 0, dirs: 0, symlinks: 0, bytes: 0, chunksNew: 0, bytesWritten: 0 };
  private readonly inflight = new Set<Promise<void>>();
  private inflightBytes = 0;
  private failure: { err: unknown } | undefined;
  private readonly progress: StoreProgress;
  private lastProgress = 0;
  private readonly buf: Buffer;
  private known: KnownChunks | undefined;

  constructor(
    private readonly repo: Repository,
    private readonly captured: CapturedComponent,
    private readonly prepared: PreparedStore,
    private readonly opts: StoreOptions,
  ) {
    this.buf = repo.chunker.readBuffer();
    const files = captured.entries.filter((e) => e.type === "file");
    this.progress = { bytesDone: 0, bytesTotal: files.reduce((n, e) => n + e.size, 0), filesDone: 0, filesTotal: files.length, chunksNew: 0, bytesWritten: 0 };
  }

  async storeAll(): Promise<ManifestEntry[]> {
    // One view for the whole store: it asks the index and the packs being written as it goes.
    this.known = await this.repo.knownChunks();
    const out: ManifestEntry[] = [];
    try {
      for (const e of this.captured.entries) {
        const base = { path: e.path, type: e.type, mode: e.mode & 0o7777, mtimeMs: e.mtimeMs, size: 0 };
        if (e.type === "dir") {
          this.stats.dirs++;
          out.push(base);
        } else if (e.type === "symlink") {
          if (e.linkTarget === undefined) throw new BugError(`symlink ${e.path} captured without its target`);
          this.stats.symlinks++;
          out.push({ ...base, linkTarget: e.linkTarget });
        } else {
          const file = await this.storeFile(e);
          if (!file) continue;
          this.stats.files++;
          this.stats.bytes += file.size;
          // A literal, not a spread over `base`: V8 gave every spread-and-override copy a shape of
          // its own (27 MiB of shapes for a snapshot of 100 000 files).
          const entry: ManifestEntry = { path: e.path, type: "file", mode: base.mode, mtimeMs: file.mtimeMs, size: file.size, chunks: file.chunks };
          if (e.sqlite) entry.sqlite = true;
          out.push(entry);
          this.progress.filesDone++;
          this.report(false); // throttled: per file, a no-change store of 2 500 files spent 5 ms here
        }
      }
      this.report(true);
    } finally {
      await Promise.allSettled(this.inflight);
    }
    if (this.failure) throw this.failure.err;
    return out;
  }

  private async storeFile(e: CaptureEntry): Promise<{ size: number; mtimeMs: number; chunks: string[] } | undefined> {
    if (!e.source) throw new BugError(`file ${e.path} captured without a source`);
    const cached = this.prepared.cached ? this.prepared.cached.get(e) : this.lookUp(e);
    if (cached && cached.reduce((n, r) => n + r.size, 0) === e.size) {
      const ids = cached.map((r) => this.repo.chunkId(r.digest));
      const known = this.known!;
      if (ids.every((id) => known.has(id))) {
        this.progress.bytesDone += e.size;
        return { size: e.size, mtimeMs: e.mtimeMs, chunks: ids };
      }
    }

    for (let attempt = 1; ; attempt++) {
      const before = await this.statSource(e);
      if (!before) return undefined;
      const readStart = Date.now();
      const { refs, ids, size } = await this.chunkAndWrite(e);
      if (!e.live && !e.staged) return { size, mtimeMs: e.mtimeMs, chunks: ids };
      const after = await this.statSource(e);
      const stable = after && after.size === before.size && after.mtimeMs === before.mtimeMs && after.ino === before.ino && size === after.size;
      if (stable) {
        if (this.opts.statCache && readStart - before.mtimeMs > RACY_MS) {
          this.opts.statCache.set({ instance: this.captured.instance, path: e.path, size, mtimeMs: before.mtimeMs, ino: before.ino, ctimeMs: before.ctimeMs }, refs);
        }
        return { size, mtimeMs: before.mtimeMs, chunks: ids };
      }
      if (attempt >= LIVE_ATTEMPTS) {
        throw new UserError(`${e.path} (${e.source}) kept changing while it was read (${LIVE_ATTEMPTS} attempts)`, {
          hint: "something is writing it constantly: use a `cold` capture for this component, or exclude the file",
        });
      }
    }
  }

  /** The stat cache asked as the store goes: a capture too large to prepare (PREPARE_MAX). */
  private lookUp(e: CaptureEntry): ChunkRef[] | undefined {
    const key = statKey(this.captured.instance, e);
    return key && this.opts.statCache?.get(key);
  }

  /** Synchronous, like the reads (see chunkFile): a local stat is cheaper than the hand-off. */
  private async statSource(e: CaptureEntry) {
    try {
      return statSync(e.source!);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT" && e.live && !e.staged) {
        // Deleted between the walk and now: the snapshot shows the folder as it is now.
        this.opts.onWarning?.(`${e.path} was deleted before it could be read; it is not in this snapshot`);
        return undefined;
      }
      throw unreadable(e, err);
    }
  }

  private async chunkAndWrite(e: CaptureEntry): Promise<{ refs: ChunkRef[]; ids: string[]; size: number }> {
    const refs: ChunkRef[] = [];
    const ids: string[] = [];
    let size = 0;
    try {
      // SQLite pages change in place and never shift: fixed, aligned chunks (see SQLITE_CHUNK).
      const chunks = e.sqlite ? chunkFixed(e.source!, SQLITE_CHUNK, this.buf, take) : chunkFile(e.source!, this.repo.chunker, this.buf, take);
      for await (const chunk of chunks) {
        if (this.failure) {
          chunkBuffers.give(chunk);
          throw this.failure.err;
        }
        const digest = hash("sha256", chunk, "buffer"); // one-shot: no Hash object (and native context) per chunk
        const hex = digest.toString("hex");
        refs.push({ digest: hex, size: chunk.length });
        ids.push(this.repo.encrypted ? this.repo.chunkId(digest) : hex); // one string, not two, per chunk
        size += chunk.length;
        // Not awaited beyond a free slot: the next chunk (or file) is read while this one is written.
        await this.write(chunk, digest);
        this.progress.bytesDone += chunk.length;
        this.report(false);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).syscall !== undefined && !(err instanceof UserError)) throw unreadable(e, err);
      throw err;
    }
    return { refs, ids, size };
  }

  /** Starts a chunk write, waiting first while WRITES or WRITE_BYTES are in flight (bounded memory). */
  private async write(chunk: Buffer, digest: Buffer): Promise<void> {
    while (this.inflight.size >= WRITES || (this.inflight.size > 0 && this.inflightBytes + chunk.length > WRITE_BYTES)) {
      await Promise.race(this.inflight);
    }
    if (this.failure) throw this.failure.err;
    this.inflightBytes += chunk.length;
    const p: Promise<void> = this.repo
      .putChunk(chunk, digest)
      .finally(() => {
        // Settled: the encode has read the chunk (or failed), nothing holds it now.
        this.inflightBytes -= chunk.length;
        chunkBuffers.give(chunk);
      })
      .then(
      ({ written }) => {
        if (written > 0) {
          this.stats.chunksNew++;
          this.stats.bytesWritten += written;
          this.progress.chunksNew = this.stats.chunksNew;
          this.progress.bytesWritten = this.stats.bytesWritten;
        }
        this.inflight.delete(p);
      },
      (err: unknown) => {
        this.failure ??= { err };
        this.inflight.delete(p);
      },
    );
    this.inflight.add(p);
  }

  private report(force: boolean): void {
    if (!this.opts.onProgress) return;
    const now = Date.now();
    if (!force && now - this.lastProgress < 100) return;
    this.lastProgress = now;
    this.opts.onProgress({ ...this.progress });
  }
}

const take = (length: number) => chunkBuffers.take(length);

function unreadable(e: CaptureEntry, err: unknown): UserError {
  const code = (err as NodeJS.ErrnoException).code ?? "";
  const why = code === "EACCES" || code === "EPERM" ? "permission denied" : code === "ENOENT" ? "it does not exist" : (err as Error).message;
  return new UserError(`cannot read ${e.path} (${e.source}): ${why}`, {
    hint: code === "EACCES" || code === "EPERM" ? "run backplan as a user that can read the data directory, or exclude the file" : "check the file, then run again",
    cause: err,
  });
}
