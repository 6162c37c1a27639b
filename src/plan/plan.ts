/**
 * plan(spec, observed, now) → Plan. PURE: no disk, no network, no Date.now(); the same inputs
 * always give the same Plan (byte for byte once serialised), which is what makes saved plans
 * reviewable and staleness checkable.
 *
 * Safety lives here, on top of applyRetention (restic semantics, no safety of its own):
 *  - the newest existing copy of a series is never pruned;
 *  - prunes of a series with a planned snapshot are computed as if that snapshot (time = now)
 *    succeeds and are marked `afterSnapshot`, so apply runs them only if it did;
 *  - nothing is pruned or verified on a target that could not be listed;
 *  - copies no series claims are reported as orphans and pruned only with `pruneOrphans`.
 */
import { createHash } from "node:crypto";
import type { KeepPolicy, Series, Spec } from "../spec/types.js";
import type { Action, KeptSnapshot, Observed, ObservedSnapshot, Plan, PruneAction, SnapshotAction, VerifyAction } from "./types.js";
import { applyRetention } from "./retention.js";
import { formatAge } from "./duration.js";
import { isDue, isStale } from "./schedule.js";
import { lastVerifiedOf, newestOf, scheduleOf, seriesSnapshots, statusOf } from "./status.js";

export interface PlanOptions {
  /** Also prune copies that no series of the spec claims. */
  pruneOrphans?: boolean;
}

/** Stands for the snapshot this apply would create, when retention is computed "as if it succeeded". */
const PLANNED_ID = "\u0000planned";

export function plan(spec: Spec, observed: Observed, now: Date, opts: PlanOptions = {}): Plan {
  const actions: Action[] = [];
  const kept: KeptSnapshot[] = [];

  for (const series of spec.series) {
    const r = planSeries(series, observed, now);
    actions.push(...r.actions);
    kept.push(...r.kept);
  }

  const orphans = findOrphans(spec, observed);
  if (opts.pruneOrphans) {
    for (const o of orphans) {
      const address = `${o.instance}/${o.component}@${o.target}`;
      for (const s of o.snapshots) {
        actions.push({
          type: "prune",
          address,
          instance: o.instance,
          component: o.component,
          target: o.target,
          reason: `orphan: no series of ${baseName(spec.file)} claims ${address}`,
          snapshotId: s.id,
          snapshotTime: s.time,
          afterSnapshot: false,
          orphan: true,
        });
      }
    }
  }

  actions.sort(compareActions);
  kept.sort((a, b) => cmp(a.address, b.address) || cmp(b.time, a.time) || cmp(a.snapshotId, b.snapshotId));
  const summary = { snapshot: 0, prune: 0, verify: 0 };
  for (const a of actions) summary[a.type]++;

  return {
    formatVersion: 1,
    createdAt: now.toISOString(),
    spec: { file: spec.file, digest: spec.digest },
    observedDigest: observedDigest(observed),
    actions,
    kept,
    orphans: orphans.map(({ target, instance, component, snapshots }) => ({ target, instance, component, count: snapshots.length })),
    unreachable: Object.values(observed.targets)
      .filter((t) => !t.reachable)
      .map((t) => ({ target: t.name, error: t.error ?? "unreachable" }))
      .sort((a, b) => cmp(a.target, b.target)),
    series: spec.series.map((s) => statusOf(s, observed, now)),
    summary,
  };
}

function planSeries(series: Series, observed: Observed, now: Date): { actions: Action[]; kept: KeptSnapshot[] } {
  const actions: Action[] = [];
  const kept: KeptSnapshot[] = [];
  const ids = { address: series.address, instance: series.instance, component: series.component, target: series.target };
  const target = observed.targets[series.target];
  const estimate = observed.lastCaptureBytes[`${series.instance}/${series.component}`];
  const est = estimate !== undefined ? { estimateBytes: estimate } : {};

  // Unlisted target: we cannot know what is there. Still try to make a copy (a missed backup is
  // worse than a duplicate), but plan nothing destructive and nothing that reads old copies.
  if (!target || !target.reachable) {
    const snap: SnapshotAction = { type: "snapshot", ...ids, why: "due", reason: "target could not be listed (see the warning below): copying anyway, nothing will be pruned", ...est };
    return { actions: [snap], kept };
  }

  const snaps = seriesSnapshots(series, observed);
  const newest = newestOf(snaps);
  const schedule = scheduleOf(series);
  const newestAt = newest ? new Date(newest.time) : undefined;

  let snapshotPlanned = false;
  if (!newestAt) {
    actions.push({ type: "snapshot", ...ids, why: "missing", reason: "missing", ...est });
    snapshotPlanned = true;
  } else if (isDue(schedule, newestAt, now)) {
    const why = isStale(schedule, newestAt, now) ? "stale" : "due";
    const age = formatAge(now.getTime() - newestAt.getTime());
    actions.push({ type: "snapshot", ...ids, why, reason: `${why}: newest copy is ${age} old, every ${series.every}`, ...est });
    snapshotPlanned = true;
  }

  if (snaps.length > 0) {
    const candidates: { id: string; time: string }[] = snaps.map((s) => ({ id: s.id, time: s.time }));
    if (snapshotPlanned) candidates.push({ id: PLANNED_ID, time: now.toISOString() });
    const result = applyRetention(candidates, series.keep, now);
    const byId = new Map(snaps.map((s) => [s.id, s]));
    const keptIds = new Set(result.keep.map((k) => k.snapshot.id));
    for (const k of result.keep) {
      if (k.snapshot.id === PLANNED_ID) continue;
      kept.push({ address: series.address, snapshotId: k.snapshot.id, time: k.snapshot.time as string, reasons: k.reasons });
    }
    // The newest existing copy survives whatever the policy says (and even an empty policy).
    if (newest && !keptIds.has(newest.id)) {
      kept.push({ address: series.address, snapshotId: newest.id, time: newest.time, reasons: ["newest copy (never pruned)"] });
    }
    const why = `retention: not kept by ${describeKeep(series.keep)}`;
    for (const r of result.remove) {
      const s = byId.get(r.snapshot.id);
      if (!s || s.id === newest?.id) continue;
      const prune: PruneAction = { type: "prune", ...ids, reason: why, snapshotId: s.id, snapshotTime: s.time, afterSnapshot: snapshotPlanned };
      actions.push(prune);
    }
  }

  if (series.verify && (snaps.length > 0 || snapshotPlanned)) {
    const vs = scheduleOf(series, series.verify, "verify");
    const last = lastVerifiedOf(snaps);
    const lastAt = last ? new Date(last) : undefined;
    if (isDue(vs, lastAt, now)) {
      const reason = lastAt
        ? `verify due: last verified ${formatAge(now.getTime() - lastAt.getTime())} ago, every ${series.verify}`
        : `verify due: never verified, every ${series.verify}`;
      const verify: VerifyAction = { type: "verify", ...ids, reason, snapshotId: snapshotPlanned ? "latest" : newest!.id };
      actions.push(verify);
    }
  }
  return { actions, kept };
}

/** "daily 7, weekly 4, within 2d" — the policy as the user wrote it, for prune reasons. */
export function describeKeep(keep: KeepPolicy): string {
  const parts: string[] = [];
  for (const k of ["last", "hourly", "daily", "weekly", "monthly", "yearly"] as const) {
    const n = keep[k];
    if (n === -1) parts.push(`${k} all`);
    else if (n !== undefined && n > 0) parts.push(`${k} ${n}`);
  }
  const withins = [
    ["within", keep.within],
    ["within-hourly", keep.withinHourly],
    ["within-daily", keep.withinDaily],
    ["within-weekly", keep.withinWeekly],
    ["within-monthly", keep.withinMonthly],
    ["within-yearly", keep.withinYearly],
  ] as const;
  for (const [name, v] of withins) if (v) parts.push(`${name} ${v}`);
  return parts.length > 0 ? parts.join(", ") : "an empty keep policy";
}

interface Orphan {
  target: string;
  instance: string;
  component: string;
  snapshots: ObservedSnapshot[];
}

function findOrphans(spec: Spec, observed: Observed): Orphan[] {
  const claimed = new Set(spec.series.map((s) => `${s.instance}\u0000${s.component}\u0000${s.target}`));
  const groups = new Map<string, Orphan>();
  for (const t of Object.values(observed.targets)) {
    if (!t.reachable) continue;
    for (const s of t.snapshots) {
      const key = `${s.instance}\u0000${s.component}\u0000${t.name}`;
      if (claimed.has(key)) continue;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { target: t.name, instance: s.instance, component: s.component, snapshots: [] }));
      g.snapshots.push(s);
    }
  }
  return [...groups.values()].sort((a, b) => cmp(a.target, b.target) || cmp(a.instance, b.instance) || cmp(a.component, b.component));
}

/**
 * sha256 of the observed state a plan depends on: per target (by name), its reachability and its
 * sorted snapshot ids. apply recomputes it and refuses a saved plan whose digest differs.
 */
export function observedDigest(observed: Observed): string {
  const canonical = Object.keys(observed.targets)
    .sort()
    .map((name) => {
      const t = observed.targets[name]!;
      return [name, t.reachable, t.snapshots.map((s) => s.id).sort()];
    });
  return createHash("sha256").update(JSON.stringify(canonical)).digest("hex");
}

const TYPE_ORDER = { snapshot: 0, prune: 1, verify: 2 } as const;

function compareActions(a: Action, b: Action): number {
  return (
    cmp(a.target, b.target) ||
    cmp(a.address, b.address) ||
    TYPE_ORDER[a.type] - TYPE_ORDER[b.type] ||
    (a.type === "prune" && b.type === "prune" ? cmp(a.snapshotTime, b.snapshotTime) || cmp(a.snapshotId, b.snapshotId) : 0)
  );
}

/** Code-unit order: unlike localeCompare it does not depend on the machine's locale. */
function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function baseName(file: string): string {
  return file.split(/[\\/]/).pop() || file;
}
