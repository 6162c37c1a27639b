/**
 * Test scaffolding: a hand-rolled capture (the real walkers live in src/capture) and repository
 * factories on real temp folders.
 */
import { createCipheriv, createHash, randomBytes } from "node:crypto";
import { lstat, readdir, readlink } from "node:fs/promises";
import path from "node:path";
import type { CaptureEntry, CapturedComponent } from "../../src/capture/types.js";
import { Repository } from "../../src/repo/repository.js";
import type { ChunkRef, StatCache, StatKey } from "../../src/repo/types.js";
import { LocalTarget } from "../../src/targets/local.js";
import type { ObjectInfo, Target } from "../../src/targets/target.js";

/** Walks `root/sub` into a CapturedComponent whose paths are relative to `root` (the instance). */
export async function captureDir(
  root: string,
  opts: { sub?: string; component?: string; live?: boolean; sqlite?: (rel: string) => boolean } = {},
): Promise<CapturedComponent> {
  const entries: CaptureEntry[] = [];
  const walk = async (rel: string) => {
    for (const name of (await readdir(path.join(root, rel))).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const abs = path.join(root, r);
      const st = await lstat(abs);
      const base = { path: r, mode: st.mode & 0o7777, mtimeMs: st.mtimeMs };
      if (st.isSymbolicLink()) entries.push({ ...base, type: "symlink", size: 0, linkTarget: await readlink(abs) });
      else if (st.isDirectory()) {
        entries.push({ ...base, type: "dir", size: 0 });
        await walk(r);
      } else if (st.isFile()) {
        entries.push({
          ...base,
          type: "file",
          size: st.size,
          source: abs,
          ...(opts.live ? { live: true, ino: st.ino, ctimeMs: st.ctimeMs } : {}),
          ...(opts.sqlite?.(r) ? { sqlite: true } : {}),
        });
      }
    }
  };
  if (opts.sub) {
    const st = await lstat(path.join(root, opts.sub));
    if (st.isDirectory()) {
      entries.push({ path: opts.sub, type: "dir", mode: st.mode & 0o7777, mtimeMs: st.mtimeMs, size: 0 });
      await walk(opts.sub);
    } else {
      const abs = path.join(root, opts.sub);
      entries.push({ path: opts.sub, type: "file", mode: st.mode & 0o7777, mtimeMs: st.mtimeMs, size: st.size, source: abs, ...(opts.live ? { live: true, ino: st.ino, ctimeMs: st.ctimeMs } : {}), ...(opts.sqlite?.(opts.sub) ? { sqlite: true } : {}) });
    }
  } else await walk("");
  const now = new Date();
  return {
    instance: "openwebui",
    component: opts.component ?? opts.sub ?? "all",
    kind: "files",
    consistency: "hot",
    entries,
    warnings: [],
    startedAt: now,
    finishedAt: now,
    cleanup: async () => {},
  };
}

/** A target that counts puts of chunks, wrapping a real local folder. */
export class CountingTarget implements Target {
  chunkPuts: { key: string; size: number }[] = [];
  gets = 0;
  readonly localFile?: LocalTarget["localFile"];
  constructor(
    readonly inner: LocalTarget,
    localFiles = false,
  ) {
    if (localFiles) this.localFile = (key) => inner.localFile(key);
  }
  get name() {
    return this.inner.name;
  }
  get where() {
    return this.inner.where;
  }
  /** Order of puts (resolved) and flushes: "put <key>" / "flush". */
  log: string[] = [];
  async put(key: string, data: Uint8Array) {
    if (key.startsWith("data/")) this.chunkPuts.push({ key, size: data.length });
    await this.inner.put(key, data);
    this.log.push(`put ${key}`);
  }
  async flush() {
    await this.inner.flush();
    this.log.push("flush");
  }
  get(key: string) {
    this.gets++;
    return this.inner.get(key);
  }
  stat(key: string): Promise<ObjectInfo | undefined> {
    return this.inner.stat(key);
  }
  list(prefix: string) {
    return this.inner.list(prefix);
  }
  delete(key: string) {
    return this.inner.delete(key);
  }
  close() {
    return this.inner.close();
  }
  reset() {
    this.chunkPuts = [];
    this.log = [];
  }
  get bytesPut() {
    return this.chunkPuts.reduce((n, p) => n + p.size, 0);
  }
}

/**
 * The ways a restore decodes, for describe.each: chunks on this thread, on the decoder threads
 * chunk by chunk (large restores from remote targets), and whole files on the decoder threads
 * (large restores from local folders).
 */
export const DECODE_PATHS = [
  { decodeOn: "here", localFiles: false },
  { decodeOn: "worker", localFiles: false },
  { decodeOn: "worker", localFiles: true },
] as const;

/** `localFiles`: the target says where its objects are (as a local folder does), so large restores run whole files on the decoder threads. */
export async function openRepo(dir: string, passphrase?: string, opts: { localFiles?: boolean } = {}): Promise<{ repo: Repository; target: CountingTarget }> {
  const target = new CountingTarget(new LocalTarget("nas", dir), opts.localFiles);
  const repo = await Repository.open(target, { create: true, ...(passphrase !== undefined ? { passphrase } : {}) });
  return { repo, target };
}

export class MemoryStatCache implements StatCache {
  readonly map = new Map<string, ChunkRef[]>();
  get(k: StatKey) {
    return this.map.get(JSON.stringify(k));
  }
  set(k: StatKey, v: ChunkRef[]) {
    this.map.set(JSON.stringify(k), v);
  }
}

/** Deterministic pseudo-random bytes (tests must not depend on luck). */
export function seededBytes(n: number, seed: string): Buffer {
  const key = createHash("sha256").update(seed).digest();
  return createCipheriv("aes-256-ctr", key, Buffer.alloc(16)).update(Buffer.alloc(n));
}

export const rand = (n: number) => randomBytes(n);
