import { appendFileSync } from "node:fs";
import { appendFile, mkdir, readFile, utimes, writeFile } from "node:fs/promises";
import { Worker } from "node:worker_threads";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { UserError } from "../../src/errors.js";
import { Repository } from "../../src/repo/repository.js";
import { restoreSnapshots } from "../../src/repo/restore.js";
import { storeSnapshot } from "../../src/repo/store.js";
import { SQLITE_CHUNK } from "../../src/repo/chunker.js";
import { withTmpDir } from "../helpers/tmp.js";
import { captureDir, MemoryStatCache, openRepo, seededBytes } from "./helpers.js";

const MiB = 1024 * 1024;
const past = new Date(Date.now() - 3600_000);

async function fixture(root: string) {
  await mkdir(path.join(root, "uploads"), { recursive: true });
  for (let i = 0; i < 5; i++) await writeFile(path.join(root, "uploads", `file-${i}.bin`), seededBytes(3 * MiB + i * 1000, `up${i}`));
  await writeFile(path.join(root, "uploads", "small.txt"), "hello\n");
  for (const n of ["file-0.bin", "file-1.bin", "file-2.bin", "file-3.bin", "file-4.bin", "small.txt"]) await utimes(path.join(root, "uploads", n), past, past);
}

describe("storeSnapshot", () => {
  it("makes every chunk durable (flush) before the manifest is written, and the manifest before it returns", () =>
    withTmpDir(async (dir) => {
      const data = path.join(dir, "data");
      await fixture(data);
      const { repo, target } = await openRepo(path.join(dir, "repo"));
      target.reset();
      await storeSnapshot(repo, await captureDir(data, { sub: "uploads", live: true }));
      const log = target.log.filter((l) => !l.startsWith("put locks/"));
      const manifest = log.findIndex((l) => l.startsWith("put snapshots/"));
      const lastChunk = log.map((l) => l.startsWith("put data/")).lastIndexOf(true);
      expect(lastChunk).toBeGreaterThan(0);
      expect(log.slice(lastChunk + 1, manifest)).toContain("flush");
      expect(log.slice(manifest + 1)).toContain("flush");
    }));

  it("reads a copy while its check runs, and writes no snapshot when the check fails", () =>
    withTmpDir(async (dir) => {
      const data = path.join(dir, "data");
      await fixture(data);
      const { repo, target } = await openRepo(path.join(dir, "repo"));
      let fail!: (e: unknown) => void;
      const captured = await captureDir(data, { sub: "uploads" });
      captured.entries.find((e) => e.type === "file")!.checked = new Promise<void>((_, reject) => (fail = reject));
      target.reset();
      const stored = storeSnapshot(repo, captured);
      await new Promise((r) => setTimeout(r, 300));
      expect(target.log.some((l) => l.startsWith("put data/"))).toBe(true); // read and written meanwhile
      fail(new UserError("the online backup of x.db failed PRAGMA integrity_check: page 3"));
      await expect(stored).rejects.toThrow(/failed PRAGMA integrity_check/);
      expect(target.log.some((l) => l.startsWith("put snapshots/"))).toBe(false);
      expect(await repo.listSnapshotIds()).toEqual([]);
    }));

  it("writes a manifest last, and a second store of unchanged data writes no chunk", () =>
    withTmpDir(async (dir) => {
      const data = path.join(dir, "data");
      await fixture(data);
      const { repo, target } = await openRepo(path.join(dir, "repo"));
      const cap = await captureDir(data, { sub: "uploads", live: true });
      const s1 = await storeSnapshot(repo, cap);
      expect(s1.stats.files).toBe(6);
      expect(s1.stats.chunksNew).toBeGreaterThan(5);
      expect(s1.stats.bytes).toBe(5 * 3 * MiB + 10000 + 6);
      // 15 MiB of new chunks in 8 MiB packs: two pack objects, not one per chunk.
      expect(target.chunkPuts.length).toBe(2);
      expect(new Set(target.chunkPuts.map((p) => p.key)).size).toBe(target.chunkPuts.length); // never twice
      const m1 = await repo.readSnapshot(s1.id);
      const packs = new Set(await Promise.all(m1.entries.flatMap((e) => e.chunks ?? []).map(async (c) => (await repo.locateChunk(c))!.key)));
      expect([...packs].sort()).toEqual(target.chunkPuts.map((p) => p.key).sort());
      expect(await repo.listSnapshotIds()).toEqual([s1.id]);
      target.reset();
      const s2 = await storeSnapshot(repo, await captureDir(data, { sub: "uploads", live: true }));
      expect(s2.stats.chunksNew).toBe(0);
      expect(s2.stats.bytesWritten).toBe(0);
      expect(target.chunkPuts).toEqual([]);
      expect((await repo.listSnapshotIds()).sort()).toEqual([s1.id, s2.id].sort());
      const m = await repo.readSnapshot(s2.id);
      expect(m.instance).toBe("openwebui");
      expect(m.tool).toMatch(/^backplan /);
      expect(m.entries.map((e) => e.path)).toContain("uploads/small.txt");
    }));

  it("after changing one file writes only that file's changed chunks", () =>
    withTmpDir(async (dir) => {
      const data = path.join(dir, "data");
      await fixture(data);
      const { repo, target } = await openRepo(path.join(dir, "repo"));
      await storeSnapshot(repo, await captureDir(data, { sub: "uploads" }));
      target.reset();
      await appendFile(path.join(data, "uploads", "file-2.bin"), "appended");
      const s = await storeSnapshot(repo, await captureDir(data, { sub: "uploads" }));
      expect(s.stats.chunksNew).toBeGreaterThanOrEqual(1);
      expect(s.stats.chunksNew).toBeLessThanOrEqual(2);
      expect(target.bytesPut).toBeLessThan(3 * MiB);
    }));

  it("a small change in the middle of a large file writes a small fraction of it", () =>
    withTmpDir(async (dir) => {
      const data = path.join(dir, "data");
      await mkdir(data);
      const big = seededBytes(40 * MiB, "big");
      await writeFile(path.join(data, "webui.db"), big);
      const { repo, target } = await openRepo(path.join(dir, "repo"));
      const s1 = await storeSnapshot(repo, await captureDir(data, { sub: "webui.db" }));
      target.reset();
      big.write("a changed row!", 17 * MiB + 12345); // in place, as SQLite updates a page
      await writeFile(path.join(data, "webui.db"), big);
      const s2 = await storeSnapshot(repo, await captureDir(data, { sub: "webui.db" }));
      expect(s2.stats.chunksNew).toBeLessThanOrEqual(2);
      expect(target.bytesPut / s1.stats.bytesWritten).toBeLessThan(0.15);
    }));

  it("chunks a SQLite database in fixed, aligned chunks: scattered page writes store only their chunks", () =>
    withTmpDir(async (dir) => {
      const data = path.join(dir, "data");
      await mkdir(data);
      const db = seededBytes(40 * SQLITE_CHUNK + 4096 * 3, "db");
      await writeFile(path.join(data, "webui.db"), db);
      const { repo, target } = await openRepo(path.join(dir, "repo"));
      const s1 = await storeSnapshot(repo, await captureDir(data, { sub: "webui.db", sqlite: () => true }));
      const m1 = await repo.readSnapshot(s1.id);
      expect(m1.entries[0]!.chunks).toHaveLength(41); // 40 whole, and the last 12 KiB
      target.reset();
      // Ten pages rewritten in place, far apart: a content-defined 1 MiB chunker would store ~10 MiB.
      for (let i = 0; i < 10; i++) seededBytes(4096, `page${i}`).copy(db, (i * 4 + 1) * SQLITE_CHUNK + 4096 * (i % 16));
      await writeFile(path.join(data, "webui.db"), db);
      const s2 = await storeSnapshot(repo, await captureDir(data, { sub: "webui.db", sqlite: () => true }));
      expect(s2.stats.chunksNew).toBe(10);
      expect(target.bytesPut).toBeLessThan(11 * SQLITE_CHUNK);
      const m2 = await repo.readSnapshot(s2.id);
      expect(m2.entries[0]!.chunks!.filter((id) => !m1.entries[0]!.chunks!.includes(id))).toHaveLength(10);
      await restoreSnapshots(repo, [m2], path.join(dir, "out"));
      expect((await readFile(path.join(dir, "out", "webui.db"))).equals(db)).toBe(true);
    }));

  it("skips reading unchanged live files when the stat cache knows them, and reads them when it does not", () =>
    withTmpDir(async (dir) => {
      const data = path.join(dir, "data");
      await fixture(data);
      const cache = new MemoryStatCache();
      const { repo } = await openRepo(path.join(dir, "repo"));
      await storeSnapshot(repo, await captureDir(data, { sub: "uploads", live: true }), { statCache: cache });
      expect(cache.map.size).toBe(6);
      // Point every source somewhere unreadable: only a cache hit can succeed.
      const cap = await captureDir(data, { sub: "uploads", live: true });
      for (const e of cap.entries) if (e.source) e.source = path.join(dir, "gone", e.path);
      const s = await storeSnapshot(repo, cap, { statCache: cache });
      expect(s.stats.files).toBe(6);
      // A different repository lacks the chunks: the cache is not trusted there, so the files are
      // read, and (being gone) left out with a warning.
      const other = await openRepo(path.join(dir, "repo2"));
      const warnings: string[] = [];
      const s2 = await storeSnapshot(other.repo, cap, { statCache: cache, onWarning: (w) => warnings.push(w) });
      expect(s2.stats.files).toBe(0);
      expect(warnings.length).toBe(6);
    }));

  it("reads a live file again when it changed while read, and names it when it never settles", () =>
    withTmpDir(async (dir) => {
      const data = path.join(dir, "data");
      await mkdir(data);
      const f = path.join(data, "busy.log");
      await writeFile(f, seededBytes(2 * MiB, "busy"));
      const { repo } = await openRepo(path.join(dir, "repo"));
      const cap = await captureDir(data, { sub: "busy.log", live: true });
      // Sources are read synchronously, so the change must land from inside the read (sync) or
      // from another thread, as it does in life (another process writes the file).
      let writes = 0;
      const s = await storeSnapshot(repo, cap, { onProgress: () => void (writes++ < 1 && appendFileSync(f, "more")) });
      expect(writes).toBeGreaterThan(1);
      const m = await repo.readSnapshot(s.id);
      expect(m.entries[0]!.size).toBe((await readFile(f)).length);

      // Large enough that every read of it spans many of the writer's appends, also on a busy
      // machine (a 2 MiB read took ~2 ms: one descheduled writer and an attempt saw no change).
      await writeFile(f, seededBytes(48 * MiB, "busy"));
      const writer = new Worker(
        `const fs = require("node:fs"); const f = ${JSON.stringify(f)};
         require("node:worker_threads").parentPort.postMessage("go");
         for (;;) { fs.appendFileSync(f, "x"); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1); }`,
        { eval: true },
      );
      try {
        await new Promise((resolve) => writer.once("message", resolve));
        const err = await storeSnapshot(repo, await captureDir(data, { sub: "busy.log", live: true })).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(UserError);
        expect((err as Error).message).toMatch(/busy\.log .*kept changing/);
      } finally {
        await writer.terminate();
      }
    }));

  it("leaves out a live file deleted before it was read, with a warning", () =>
    withTmpDir(async (dir) => {
      const data = path.join(dir, "data");
      await fixture(data);
      const cap = await captureDir(data, { sub: "uploads", live: true });
      const { rm } = await import("node:fs/promises");
      await rm(path.join(data, "uploads", "small.txt"));
      const { repo } = await openRepo(path.join(dir, "repo"));
      const warnings: string[] = [];
      const s = await storeSnapshot(repo, cap, { onWarning: (w) => warnings.push(w) });
      expect(s.stats.files).toBe(5);
      expect(warnings.join()).toMatch(/small\.txt/);
    }));

  it("a staged copy that has disappeared is an error, never a snapshot without its database", () =>
    withTmpDir(async (dir) => {
      const data = path.join(dir, "data");
      await fixture(data);
      const cap = await captureDir(data, { sub: "uploads", live: true });
      const e = cap.entries.find((x) => x.path === "uploads/file-3.bin")!;
      Object.assign(e, { live: undefined, staged: true, source: path.join(dir, "staging", "gone.db") });
      const { repo } = await openRepo(path.join(dir, "repo"));
      const warnings: string[] = [];
      const err = await storeSnapshot(repo, cap, { onWarning: (w) => warnings.push(w) }).catch((x: unknown) => x);
      expect(err).toBeInstanceOf(UserError);
      expect((err as Error).message).toContain("cannot read uploads/file-3.bin");
      expect(warnings).toEqual([]);
      expect(await repo.listSnapshotIds()).toEqual([]);
    }));

  it("an unreadable (non-live) source is a clear error naming the file, and no snapshot is written", () =>
    withTmpDir(async (dir) => {
      const data = path.join(dir, "data");
      await fixture(data);
      const cap = await captureDir(data, { sub: "uploads" });
      const e = cap.entries.find((x) => x.path === "uploads/file-3.bin")!;
      e.source = path.join(dir, "staging", "file-3.bin");
      const { repo } = await openRepo(path.join(dir, "repo"));
      const err = await storeSnapshot(repo, cap).catch((x: unknown) => x);
      expect(err).toBeInstanceOf(UserError);
      expect((err as Error).message).toContain("cannot read uploads/file-3.bin");
      expect(await repo.listSnapshotIds()).toEqual([]);
    }));

  it("stores into an encrypted repository and restores identically", () =>
    withTmpDir(async (dir) => {
      const data = path.join(dir, "data");
      await fixture(data);
      const { repo } = await openRepo(path.join(dir, "repo"), "pw");
      const s = await storeSnapshot(repo, await captureDir(data, { sub: "uploads" }));
      const again = (await Repository.open(repo.target, { passphrase: "pw", create: false }))!;
      await restoreSnapshots(again, [await again.readSnapshot(s.id)], path.join(dir, "out"));
      for (let i = 0; i < 5; i++) {
        const a = await readFile(path.join(data, "uploads", `file-${i}.bin`));
        const b = await readFile(path.join(dir, "out", "uploads", `file-${i}.bin`));
        expect(a.equals(b)).toBe(true);
      }
    }));
});
