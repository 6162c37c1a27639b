import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { IntegrityError } from "../../src/errors.js";
import { readPackHeader } from "../../src/repo/pack.js";
import { forgetSnapshots, gc, MAX_INDEX_OBJECTS } from "../../src/repo/prune.js";
import { Repository } from "../../src/repo/repository.js";
import { restoreSnapshots } from "../../src/repo/restore.js";
import { storeSnapshot } from "../../src/repo/store.js";
import { LocalTarget } from "../../src/targets/local.js";
import { withTmpDir } from "../helpers/tmp.js";
import { captureDir, CountingTarget, openRepo, seededBytes } from "./helpers.js";

const MiB = 1024 * 1024;
const PASS = "pack test";

async function files(root: string, names: Record<string, number>) {
  await mkdir(root, { recursive: true });
  for (const [n, size] of Object.entries(names)) await writeFile(path.join(root, n), seededBytes(size, n));
}

async function restoredEquals(repo: Repository, id: string, out: string, data: string) {
  const m = await repo.readSnapshot(id);
  await restoreSnapshots(repo, [m], out);
  for (const e of m.entries) if (e.type === "file") expect((await readFile(path.join(out, e.path))).equals(await readFile(path.join(data, e.path))), e.path).toBe(true);
}

describe("pack files", () => {
  it("pack headers list their chunks, so the index can be checked against the packs", () =>
    withTmpDir(async (dir) => {
      const data = path.join(dir, "data");
      await files(data, { "a.bin": 2 * MiB, "b.bin": 300_000, "c.txt": 10 });
      const { repo } = await openRepo(path.join(dir, "repo"), PASS);
      const s = await storeSnapshot(repo, await captureDir(data));
      const chunks = (await repo.readSnapshot(s.id)).entries.flatMap((e) => e.chunks ?? []);
      const packs = await repo.target.list("data/");
      expect(packs.length).toBe(1);
      const records = await readPackHeader(repo, packs[0]!.key, await repo.target.get(packs[0]!.key), repo.target.where);
      expect(records.map((r) => r[0]).sort()).toEqual([...new Set(chunks)].sort());
      for (const c of chunks) expect((await repo.locateChunk(c))!.key).toBe(packs[0]!.key);
    }));

  it("a chunk whose pack has gone is not trusted: the next backup writes it again", () =>
    withTmpDir(async (dir) => {
      const data = path.join(dir, "data");
      await files(data, { "a.bin": 3 * MiB });
      const root = path.join(dir, "repo");
      const { repo } = await openRepo(root, PASS);
      await storeSnapshot(repo, await captureDir(data));
      for (const o of await repo.target.list("data/")) await rm(path.join(root, o.key));
      const again = (await Repository.open(new LocalTarget("nas", root), { create: false, passphrase: PASS }))!;
      const s2 = await storeSnapshot(again, await captureDir(data));
      expect(s2.stats.chunksNew).toBeGreaterThan(0);
      await restoredEquals(again, s2.id, path.join(dir, "out"), data);
    }));

  it("a failed pack upload fails the snapshot, which is never written; the next run completes", () =>
    withTmpDir(async (dir) => {
      const data = path.join(dir, "data");
      await files(data, { "a.bin": 12 * MiB, "b.bin": 5 * MiB });
      const root = path.join(dir, "repo");
      const target = new CountingTarget(new LocalTarget("nas", root));
      const repo = await Repository.open(target, { create: true, passphrase: PASS });
      let puts = 0;
      target.put = async (key, bytes) => {
        if (key.startsWith("data/") && ++puts === 2) throw new Error("disk on fire");
        return target.inner.put(key, bytes);
      };
      await expect(storeSnapshot(repo, await captureDir(data))).rejects.toThrow(/disk on fire/);
      expect(await repo.listSnapshotIds()).toEqual([]);
      target.put = (key, bytes) => target.inner.put(key, bytes);
      const s = await storeSnapshot(repo, await captureDir(data));
      await restoredEquals(repo, s.id, path.join(dir, "out"), data);
    }));

  it("a store that fails has no pack write in flight once it has returned", () =>
    withTmpDir(async (dir) => {
      const data = path.join(dir, "data");
      await files(data, { "a.bin": 20 * MiB, "b.bin": 1000 }); // packs are on their way when b.bin fails
      const target = new CountingTarget(new LocalTarget("nas", path.join(dir, "repo")));
      const repo = await Repository.open(target, { create: true, passphrase: PASS });
      const events: string[] = [];
      target.put = async (key, bytes) => {
        if (!key.startsWith("data/")) return target.inner.put(key, bytes);
        await new Promise((r) => setTimeout(r, 200)); // a slow disk
        await target.inner.put(key, bytes);
        events.push("pack written");
      };
      const cap = await captureDir(data);
      cap.entries.find((e) => e.path === "b.bin")!.source = path.join(dir, "gone");
      await expect(storeSnapshot(repo, cap)).rejects.toThrow(/cannot read b\.bin/);
      events.push("store returned");
      await new Promise((r) => setTimeout(r, 600));
      expect(events.filter((e) => e === "pack written").length).toBeGreaterThan(0);
      expect(events.at(-1)).toBe("store returned");
    }));

  it("gc deletes wholly unused packs, repacks mostly unused ones, keeps mostly used ones", () =>
    withTmpDir(async (dir) => {
      const data = path.join(dir, "data");
      const { repo } = await openRepo(path.join(dir, "repo"), PASS);
      // Three snapshots, each in its own pack(s).
      await files(data, { "keep.bin": 6 * MiB });
      const s1 = await storeSnapshot(repo, await captureDir(data));
      await files(data, { "gone.bin": 3 * MiB });
      const s2 = await storeSnapshot(repo, await captureDir(data)); // pack 2: gone.bin only
      await rm(path.join(data, "gone.bin"));
      await files(data, { "small.bin": 500_000, "big.bin": 5 * MiB });
      const s3 = await storeSnapshot(repo, await captureDir(data)); // pack 3: small + big
      await rm(path.join(data, "small.bin"));
      const s4 = await storeSnapshot(repo, await captureDir(data)); // no new chunks
      expect(s4.stats.chunksNew).toBe(0);
      expect((await repo.target.list("data/")).length).toBe(3);

      await forgetSnapshots(repo, [s1.id, s2.id, s3.id]);
      const r = await gc(repo);
      // pack 1 (keep.bin) is still wholly used; pack 2 wholly unused; pack 3 has 500 KB of 5.5 MB dead (< 20%): kept.
      expect(r).toMatchObject({ snapshots: 1, packsDeleted: 1, packsRepacked: 0, problems: [] });
      expect((await repo.target.list("data/")).length).toBe(2);
      await restoredEquals(repo, s4.id, path.join(dir, "out1"), data);

      // Now most of pack 3 becomes garbage: its live chunks move to a new pack.
      await rm(path.join(data, "big.bin"));
      await files(data, { "small.bin": 500_000 });
      const s5 = await storeSnapshot(repo, await captureDir(data));
      expect(s5.stats.chunksNew).toBe(0); // small.bin's chunk is still in pack 3
      await forgetSnapshots(repo, [s4.id]);
      const r2 = await gc(repo);
      expect(r2).toMatchObject({ snapshots: 1, packsRepacked: 1, problems: [] });
      expect(r2.bytesFreed).toBeGreaterThan(4 * MiB);
      repo.forgetKnownChunks();
      const index = await repo.loadIndex();
      expect(index.orphans).toEqual([]);
      expect(index.indexKeys.length).toBe(1); // one complete index replaced the others
      await restoredEquals(repo, s5.id, path.join(dir, "out2"), data);
      expect((await gc(repo)).chunksDeleted).toBe(0); // converged
    }));

  it("gc merges many index objects into one even when it has nothing to delete", () =>
    withTmpDir(async (dir) => {
      const data = path.join(dir, "data");
      const { repo } = await openRepo(path.join(dir, "repo"), PASS);
      const ids: string[] = [];
      for (let i = 0; i < MAX_INDEX_OBJECTS + 2; i++) {
        await files(data, { [`f${i}.txt`]: 100 });
        ids.push((await storeSnapshot(repo, await captureDir(data))).id);
      }
      repo.forgetKnownChunks();
      expect((await repo.loadIndex()).indexKeys.length).toBe(MAX_INDEX_OBJECTS + 2);
      const r = await gc(repo);
      expect(r).toMatchObject({ packsDeleted: 0, packsRepacked: 0, chunksDeleted: 0 });
      const index = await repo.loadIndex();
      expect(index.indexKeys.length).toBe(1);
      expect(index.blobCount).toBe(MAX_INDEX_OBJECTS + 2);
      await restoredEquals(repo, ids.at(-1)!, path.join(dir, "out"), data);
    }));

  it("a gc that dies after writing the new index leaves every snapshot whole; the next gc finishes", () =>
    withTmpDir(async (dir) => {
      const data = path.join(dir, "data");
      await files(data, { "a.bin": 2 * MiB, "b.bin": 2 * MiB });
      const root = path.join(dir, "repo");
      const target = new CountingTarget(new LocalTarget("nas", root));
      const repo = await Repository.open(target, { create: true, passphrase: PASS });
      const s1 = await storeSnapshot(repo, await captureDir(data));
      await rm(path.join(data, "b.bin"));
      await files(data, { "c.bin": 2 * MiB });
      const s2 = await storeSnapshot(repo, await captureDir(data));
      await forgetSnapshots(repo, [s1.id]);
      target.delete = async (key) => {
        if (key.startsWith("data/")) throw new Error("power cut");
        return target.inner.delete(key);
      };
      await expect(gc(repo)).rejects.toThrow(/power cut/);
      const fresh = (await Repository.open(new LocalTarget("nas", root), { create: false, passphrase: PASS }))!;
      await restoredEquals(fresh, s2.id, path.join(dir, "out"), data);
      expect((await fresh.loadIndex()).orphans.length).toBeGreaterThan(0); // the old pack, no longer indexed
      const r = await gc(fresh);
      expect(r.packsDeleted).toBeGreaterThan(0);
      fresh.forgetKnownChunks();
      expect((await fresh.loadIndex()).orphans).toEqual([]);
      await restoredEquals(fresh, s2.id, path.join(dir, "out2"), data);
    }));

  it("gc keeps a pack whose live chunk is damaged instead of repacking it, and says so", () =>
    withTmpDir(async (dir) => {
      const data = path.join(dir, "data");
      await files(data, { "live.bin": 400_000, "dead.bin": 3 * MiB });
      const root = path.join(dir, "repo");
      const { repo } = await openRepo(root, PASS);
      const s1 = await storeSnapshot(repo, await captureDir(data));
      await rm(path.join(data, "dead.bin"));
      const s2 = await storeSnapshot(repo, await captureDir(data));
      const live = (await repo.readSnapshot(s2.id)).entries.find((e) => e.path === "live.bin")!.chunks![0]!;
      const loc = (await repo.locateChunk(live))!;
      const bytes = await readFile(path.join(root, loc.key));
      bytes[loc.offset + 40]! ^= 0x10;
      await writeFile(path.join(root, loc.key), bytes);
      await forgetSnapshots(repo, [s1.id]);
      const r = await gc(repo);
      expect(r.packsRepacked).toBe(0);
      expect(r.problems.join("\n")).toContain(live);
      expect((await repo.target.list("data/")).map((o) => o.key)).toContain(loc.key);
      await expect(restoreSnapshots(repo, [await repo.readSnapshot(s2.id)], path.join(dir, "out"))).rejects.toBeInstanceOf(IntegrityError);
    }));
});
