/**
 * Removing data: forget (delete manifests) and gc (delete chunks no manifest references).
 *
 * Why gc cannot delete a chunk a concurrent backup needs (see ./locks.ts for the lock rules):
 * 1. gc runs under an EXCLUSIVE lock and backups under SHARED ones, so a backup that is alive
 *    (lock refreshed, or its process still running on this host) and a gc never overlap.
 * 2. gc lists `data/` BEFORE it reads the manifests: a chunk written after gc started is not
 *    even a candidate, and a manifest written before the listing is read after it.
 * 3. A backup whose lock was removed as stale refuses to write its manifest (its dedup decisions
 *    may point at chunks gc deleted), and every process re-lists `data/` after holding no lock.
 * 4. If any manifest cannot be read, gc deletes nothing: it never acts on partial knowledge.
 */
import { IntegrityError } from "../errors.js";
import { withLock } from "./locks.js";
import type { Repository } from "./repository.js";

export interface GcResult {
  snapshots: number;
  chunksKept: number;
  chunksDeleted: number;
  bytesFreed: number;
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
    const candidates = await repo.target.list("data/");
    const ids = await repo.listSnapshotIds();
    const referenced = new Set<string>();
    for (const id of ids) {
      for (const e of (await repo.readSnapshot(id)).entries) for (const c of e.chunks ?? []) referenced.add(c);
    }
    const doomed = candidates.filter((o) => !referenced.has(o.key.slice(o.key.lastIndexOf("/") + 1)));
    const result: GcResult = { snapshots: ids.length, chunksKept: candidates.length - doomed.length, chunksDeleted: doomed.length, bytesFreed: doomed.reduce((n, o) => n + o.size, 0) };
    if (opts.dryRun) return result;
    // Forgotten manifests must stay gone before their chunks go: a power loss must not bring
    // back a manifest whose chunks were deleted (targets with Target.flush batch durability).
    await repo.flush();
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < doomed.length) await repo.target.delete(doomed[next++]!.key);
      }),
    );
    await repo.flush();
    repo.forgetKnownChunks();
    return result;
  });
}

export { listLocks, removeStaleLocks, removeAllLocks } from "./locks.js";
