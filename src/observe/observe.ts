/**
 * Observed state comes from listing the targets: the truth. The catalog only saves re-reading
 * immutable manifests. Observing never writes to a target and never initialises a repository:
 * a target without a repository is simply empty.
 */
import type { Spec } from "../spec/types.js";
import type { Target } from "../targets/target.js";
import type { Observed, ObservedSnapshot, ObservedTarget } from "../plan/types.js";
import type { Catalog } from "../catalog/catalog.js";
import { Repository } from "../repo/repository.js";
import { hasAccessCheck } from "../targets/retry.js";
import type { SnapshotSummary } from "../repo/types.js";
import { errorMessage, TargetError, UserError } from "../errors.js";

export interface ObserveResult {
  observed: Observed;
  /** Opened repositories by target name (absent when the target holds none yet or failed). */
  repos: Map<string, Repository>;
  /** Full summaries by target and snapshot id, for `snapshots` and restore. */
  summaries: Map<string, SnapshotSummary[]>;
  /**
   * With `deferKeys`: settles once every repository's key is unlocked, rejecting as observe would
   * have (a wrong passphrase). Without: already resolved.
   */
  keys: Promise<void>;
}

export async function observe(
  spec: Spec,
  targets: Map<string, Target>,
  opts: {
    catalog: Catalog;
    passphrase?: string;
    only?: Set<string>;
    deferKeys?: boolean;
    /** Repositories already being opened (the workspace's `opening`): not opened again. */
    opening?: Map<string, Promise<Repository | undefined>>;
  },
): Promise<ObserveResult> {
  const observed: Observed = { targets: {}, lastCaptureBytes: opts.catalog.captureBytes() };
  const repos = new Map<string, Repository>();
  const summaries = new Map<string, SnapshotSummary[]>();
  const unlocking: Promise<void>[] = [];
  // Targets are independent: list them concurrently, and one unreachable target never hides the others.
  await Promise.all(
    [...targets.entries()]
      .filter(([name]) => !opts.only || opts.only.has(name))
      .map(async ([name, target]) => {
        try {
          const { observedTarget, repo, list } = await observeTarget(name, target, opts);
          observed.targets[name] = observedTarget;
          summaries.set(name, list);
          if (repo) {
            repos.set(name, repo);
            unlocking.push(repo.unlocked());
          }
        } catch (err) {
          // A wrong passphrase or unknown format is the user's to fix, not an unreachable target.
          if (err instanceof UserError && !(err instanceof TargetError)) throw err;
          observed.targets[name] = { name, reachable: false, error: errorMessage(err), snapshots: [] };
          summaries.set(name, []);
        }
      }),
  );
  void spec;
  const keys = Promise.all(unlocking).then(() => undefined);
  keys.catch(() => undefined); // the caller awaits it
  return { observed, repos, summaries, keys };
}

async function observeTarget(
  name: string,
  target: Target,
  opts: { catalog: Catalog; passphrase?: string; deferKeys?: boolean; opening?: Map<string, Promise<Repository | undefined>> },
): Promise<{ observedTarget: ObservedTarget; repo?: Repository; list: SnapshotSummary[] }> {
  // A missing bucket looks like an empty one to a listing: ask the target first, so the plan says
  // "bucket does not exist" instead of planning copies that can only fail.
  if (hasAccessCheck(target)) await target.checkAccess();
  // Deferred, scrypt runs while the listing (and the caller's captures) go on; a manifest or
  // verification record not in the catalog waits for the key.
  const early = opts.opening?.get(name);
  const repo = await (early ?? Repository.open(target, { passphrase: opts.passphrase, create: false, deferKey: opts.deferKeys === true }));
  // An early open always defers the key: without deferKeys, wait for it here, as open would.
  if (early && repo && !opts.deferKeys) await repo.unlocked();
  if (!repo) return { observedTarget: { name, reachable: true, snapshots: [] }, list: [] };

  const ids = await repo.listSnapshotIds();
  const cached = opts.catalog.snapshotSummaries(name);
  const list: SnapshotSummary[] = [];
  for (const id of ids) {
    const hit = cached.get(id);
    if (hit) {
      list.push(hit);
      continue;
    }
    const { entries: _entries, formatVersion: _v, ...summary } = await repo.readSnapshot(id);
    opts.catalog.rememberSnapshot(name, summary);
    list.push(summary);
  }
  opts.catalog.forgetSnapshotsExcept(name, new Set(ids));

  const verified = new Map<string, string>();
  for (const v of await repo.listVerifications()) {
    if (!v.ok) continue;
    const prev = verified.get(v.snapshotId);
    if (!prev || prev < v.time) verified.set(v.snapshotId, v.time);
  }
  const snapshots: ObservedSnapshot[] = list.map((s) => ({
    id: s.id,
    instance: s.instance,
    component: s.component,
    target: name,
    time: s.time,
    bytes: s.stats.bytes,
    ...(verified.has(s.id) ? { verifiedAt: verified.get(s.id)! } : {}),
  }));
  return { observedTarget: { name, reachable: true, snapshots }, repo, list };
}
