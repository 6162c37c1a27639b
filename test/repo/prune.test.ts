import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { LockError } from "../../src/errors.js";
import { acquireLock, isStale, listLocks, removeStaleLocks } from "../../src/repo/locks.js";
import { forgetSnapshots, gc } from "../../src/repo/prune.js";
import { restoreSnapshots } from "../../src/repo/restore.js";
import { storeSnapshot } from "../../src/repo/store.js";
import type { LockInfo } from "../../src/repo/types.js";
import { withTmpDir } from "../helpers/tmp.js";
import { captureDir, openRepo, seededBytes } from "./helpers.js";

const MiB = 1024 * 1024;

describe("forget and gc", () => {
  it("gc removes only chunks no manifest references", () =>
    withTmpDir(async (dir) => {
      const data = path.join(dir, "data");
      await mkdir(path.join(data, "uploads"), { recursive: true });
      await writeFile(path.join(data, "uploads", "shared.bin"), seededBytes(3 * MiB, "shared"));
      await writeFile(path.join(data, "uploads", "old.bin"), seededBytes(3 * MiB, "old"));
      const { repo } = await openRepo(path.join(dir, "repo"), "pw");
      const s1 = await storeSnapshot(repo, await captureDir(data, { sub: "uploads" }));
      await writeFile(path.join(data, "uploads", "old.bin"), seededBytes(2 * MiB, "new"));
      const s2 = await storeSnapshot(repo, await captureDir(data, { sub: "uploads" }));
      const m1 = await repo.readSnapshot(s1.id);
      const m2 = await repo.readSnapshot(s2.id);
      const in2 = new Set(m2.entries.flatMap((e) => e.chunks ?? []));
      const onlyIn1 = m1.entries.flatMap((e) => e.chunks ?? []).filter((c) => !in2.has(c));
      expect(onlyIn1.length).toBeGreaterThan(0);

      expect((await gc(repo)).chunksDeleted).toBe(0); // everything referenced
      await forgetSnapshots(repo, [s1.id]);
      expect(await repo.listSnapshotIds()).toEqual([s2.id]);
      const r = await gc(repo);
      expect(r.chunksDeleted).toBe(onlyIn1.length);
      expect(r.chunksKept).toBe(in2.size);
      expect(r.packsRepacked + r.packsDeleted).toBeGreaterThan(0);
      repo.forgetKnownChunks();
      const index = await repo.loadIndex();
      expect([...in2].every((c) => index.has(c))).toBe(true);
      expect(onlyIn1.some((c) => index.has(c))).toBe(false);
      expect(index.orphans).toEqual([]);
      // Every pack left is indexed, and nothing else is on the target.
      expect((await repo.target.list("data/")).length).toBe(index.packs.size);
      await restoreSnapshots(repo, [m2], path.join(dir, "out")); // still whole
      expect(await listLocks(repo)).toEqual([]);
    }));

  it("refuses to gc while a live backup holds a shared lock, naming the holder and the fix", () =>
    withTmpDir(async (dir) => {
      const { repo } = await openRepo(path.join(dir, "repo"));
      await repo.putChunk(seededBytes(1000, "orphan"));
      await repo.flushPacks();
      const held = await acquireLock(repo, { exclusive: false, purpose: "backup openwebui/uploads" });
      const err = await gc(repo).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LockError);
      expect((err as LockError).message).toContain(`host ${os.hostname()}, pid ${process.pid}`);
      expect((err as LockError).message).toContain("backup openwebui/uploads");
      expect((err as LockError).hint).toContain("backplan unlock");
      expect((await repo.target.list("data/")).length).toBe(1);
      // Shared locks coexist; a backup is refused while gc holds the exclusive one.
      const second = await acquireLock(repo, { exclusive: false, purpose: "backup b" });
      await second.release();
      await held.release();
      const ex = await acquireLock(repo, { exclusive: true, purpose: "gc" });
      await expect(acquireLock(repo, { exclusive: false, purpose: "backup c" })).rejects.toBeInstanceOf(LockError);
      await ex.release();
      expect((await gc(repo)).chunksDeleted).toBe(1);
    }));

  it("ignores and removes stale locks: expired, or of a dead process on this host", () =>
    withTmpDir(async (dir) => {
      const { repo } = await openRepo(path.join(dir, "repo"));
      const base: LockInfo = { id: "", host: os.hostname(), pid: process.pid, time: new Date().toISOString(), expires: new Date(Date.now() + 60_000).toISOString(), exclusive: false, purpose: "backup x" };
      await repo.putJson("locks/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", { ...base, expires: new Date(Date.now() - 1000).toISOString(), host: "elsewhere" });
      await repo.putJson("locks/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", { ...base, pid: 2 ** 22 + 12345 }); // no such pid
      await repo.putJson("locks/cccccccccccccccccccccccccccccccc", { ...base, host: "elsewhere", pid: 1 });
      const locks = await listLocks(repo);
      expect(locks.map((l) => isStale(l)).sort()).toEqual([false, true, true]);
      await expect(gc(repo)).rejects.toThrow(/host elsewhere, pid 1/);
      const removed = await removeStaleLocks(repo);
      expect(removed.length).toBe(2);
      expect((await listLocks(repo)).map((l) => l.id)).toEqual(["cccccccccccccccccccccccccccccccc"]);
    }));

  it("a backup whose lock was removed as stale refuses to write its manifest", () =>
    withTmpDir(async (dir) => {
      const data = path.join(dir, "data");
      await mkdir(data);
      await writeFile(path.join(data, "a.bin"), seededBytes(MiB, "a"));
      const { repo, target } = await openRepo(path.join(dir, "repo"));
      // Another host removes our lock as stale just before we check it.
      target.stat = async (k) => {
        if (k.startsWith("locks/")) await target.inner.delete(k);
        return target.inner.stat(k);
      };
      const err = await storeSnapshot(repo, await captureDir(data)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LockError);
      expect(await repo.listSnapshotIds()).toEqual([]);
    }));
});
