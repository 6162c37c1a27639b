/**
 * Removing data: forget (delete manifests) and gc (delete the packs no manifest needs).
 *
 * Why gc cannot delete a chunk a concurrent backup needs (see ./locks.ts for the lock rules):
 * 1. gc runs under an EXCLUSIVE lock and backups under SHARED ones, so a backup that is alive
 *    (lock refreshed, or its process still running on this host) and a gc never overlap.
 * 2. gc lists `data/` and reads the index BEFORE it reads the manifests: a pack written after gc
 *    started is not even a candidate, and a manifest written before the listing is read after it.
 * 3. A backup whose lock was removed as stale refuses to write its manifest (its dedup decisions
 *    may point at chunks gc deleted), and every process re-reads the index after holding no lock.
 * 4. If any manifest or index object cannot be read, gc deletes nothing: it never acts on
 *    partial knowledge.
 *
 * Packs: a pack none of whose chunks is referenced is deleted; one that is mostly still needed is
 * kept whole (its unreferenced chunks stay indexed, so backups may reuse them); one with at least
 * REPACK of its bytes unreferenced has its live chunks copied into new packs first. Order: new
 * packs, then one complete new index, then the old index objects, then the old packs, each step
 * durable before the next, so a crash anywhere leaves every referenced chunk indexed in a pack
 * that exists; what is left over is garbage the next gc removes.
 */
import { IntegrityError } from "../errors.js";
import type { ObjectInfo } from "../targets/target.js";
import { withLock } from "./locks.js";
import { packKey, type BlobRecord } from "./pack.js";
import type { Repository } from "./repository.js";

/** Share of a pack's bytes that must be garbage before its live chunks are copied out. */
const REPACK = 0.2;
/** Index objects tolerated before gc merges them into one. */
export const MAX_INDEX_OBJECTS = 32;

export interface GcResult {
  snapshots: number;
  /** Distinct referenced chunks stored afterwards. */
  chunksKept: number;
  /** Chunks removed (in deleted or repacked packs). */
  chunksDeleted: number;
  packsDeleted: number;
  packsRepacked: number;
  /** Bytes removed minus bytes written into new packs. */
  bytesFreed: number;
  /** Packs kept because a live chunk in them could not be copied (it is damaged). */
  problems: string[];
}

/** Deletes snapshot manifests (and their verification records). Absent ids are not an error. */
export async function forgetSnapshots(repo: Repository, ids: string[]): Promise<number> {
  for (const id of ids) {
    if (!/^[0-9a-f]{32}$/.test(id)) throw new IntegrityError(`not a snapshot id: ${JSON.stringify(id)}`);
    await repo.deleteSnapshot(id);
  }
  await repo.flush();
  return ids.length;
}

export async function gc(repo: Repository, opts: { dryRun?: boolean } = {}): Promise<GcResult> {
  return withLock(repo, { exclusive: true, purpose: "gc" }, async () => {
    repo.forgetKnownChunks();
    const index = await repo.loadIndex();
    const ids = await repo.listSnapshotIds();
    const referenced = new Set<string>();
    for (const id of ids) {
      for (const e of (await repo.readSnapshot(id)).entries) for (const c of e.chunks ?? []) referenced.add(c);
    }

    const doomed: ObjectInfo[] = [...index.orphans];
    const repack: { pack: string; size: number; live: BlobRecord[]; dead: number }[] = [];
    const kept = new Map<string, BlobRecord[]>();
    const result: GcResult = { snapshots: ids.length, chunksKept: 0, chunksDeleted: 0, packsDeleted: 0, packsRepacked: 0, bytesFreed: 0, problems: [] };
    for (const [pack, { records, size }] of index.packs) {
      const live = records.filter((r) => referenced.has(r[0]));
      const deadBytes = records.reduce((n, r) => n + (referenced.has(r[0]) ? 0 : r[2]), 0);
      if (live.length === 0) {
        doomed.push({ key: packKey(pack), size });
        result.chunksDeleted += records.length;
      } else if (live.length < records.length && deadBytes >= REPACK * size) {
        repack.push({ pack, size, live, dead: records.length - live.length });
      } else kept.set(pack, records);
    }
    // Every store writes a small index object and every backup reads them all: gc merges them
    // into one also when it has nothing to delete, once there are more than a few.
    const merge = index.indexKeys.length > MAX_INDEX_OBJECTS;
    if (opts.dryRun || (doomed.length === 0 && repack.length === 0 && !merge)) {
      return { ...result, chunksKept: [...referenced].filter((id) => index.has(id)).length, packsDeleted: doomed.length, packsRepacked: repack.length, bytesFreed: doomed.reduce((n, o) => n + o.size, 0) };
    }
    // Forgotten manifests must stay gone before their chunks go: a power loss must not bring
    // back a manifest whose chunks were deleted (targets with Target.flush batch durability).
    await repo.flush();

    for (const r of repack) {
      try {
        for (const [id] of r.live) await repo.copyChunk(id);
      } catch (err) {
        if (!(err instanceof IntegrityError)) throw err;
        // A live chunk is damaged: keep the pack as it is (the chunks copied so far are duplicates).
        result.problems.push(`${packKey(r.pack)}: ${err.message}`);
        kept.set(r.pack, index.packs.get(r.pack)!.records);
        continue;
      }
      doomed.push({ key: packKey(r.pack), size: r.size });
      result.packsRepacked++;
      result.chunksDeleted += r.dead;
    }
    const written = await repo.replaceIndex(kept, index.indexKeys);
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < doomed.length) await repo.target.delete(doomed[next++]!.key);
      }),
    );
    await repo.flush();
    // What the new index names: the kept packs, and the live chunks copied out of repacked ones.
    const stored = new Set([...kept.values()].flatMap((records) => records.map((r) => r[0])));
    for (const r of repack) if (!kept.has(r.pack)) for (const [id] of r.live) stored.add(id);
    result.chunksKept = [...referenced].filter((id) => stored.has(id)).length;
    result.packsDeleted = doomed.length - result.packsRepacked;
    result.bytesFreed = doomed.reduce((n, o) => n + o.size, 0) - written;
    return result;
  });
}

export { listLocks, removeStaleLocks, removeAllLocks } from "./locks.js";
