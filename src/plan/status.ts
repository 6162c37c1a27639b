/**
 * Per-series health, shared by `backplan status` and the planner. Pure: the clock is `now`.
 * State precedence: UNKNOWN (target not listed) > MISSING > STALE > DUE > OK; see docs/schedules.md.
 */
import type { Series, Spec } from "../spec/types.js";
import type { Observed, ObservedSnapshot, SeriesStatus } from "./types.js";
import { isDue, isStale, nextDue, parseEvery, type Schedule } from "./schedule.js";

/** Snapshots of one series on its target (any order). */
export function seriesSnapshots(series: Pick<Series, "instance" | "component" | "target">, observed: Observed): ObservedSnapshot[] {
  const t = observed.targets[series.target];
  if (!t) return [];
  return t.snapshots.filter((s) => s.instance === series.instance && s.component === series.component);
}

/** The newest snapshot (latest time; ties: the greater id, so the answer does not depend on listing order). */
export function newestOf<S extends { id: string; time: string }>(snaps: readonly S[]): S | undefined {
  let best: S | undefined;
  for (const s of snaps) {
    const d = Date.parse(s.time) - (best ? Date.parse(best.time) : -Infinity);
    if (d > 0 || (d === 0 && best && s.id > best.id)) best = s;
  }
  return best;
}

/** Newest `verifiedAt` among the snapshots, if any. */
export function lastVerifiedOf(snaps: readonly ObservedSnapshot[]): string | undefined {
  let best: string | undefined;
  for (const s of snaps) if (s.verifiedAt && (!best || Date.parse(s.verifiedAt) > Date.parse(best))) best = s.verifiedAt;
  return best;
}

/** Parse a series' schedule, naming the series when it is invalid (the spec validator should have caught it). */
export function scheduleOf(series: Pick<Series, "address" | "every">, text = series.every, field = "every"): Schedule {
  try {
    return parseEvery(text);
  } catch (err) {
    throw new Error(`${series.address}: ${field}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

export function seriesStatus(spec: Pick<Spec, "series">, observed: Observed, now: Date): SeriesStatus[] {
  return spec.series.map((series) => statusOf(series, observed, now));
}

export function statusOf(series: Series, observed: Observed, now: Date): SeriesStatus {
  const target = observed.targets[series.target];
  const base = {
    address: series.address,
    instance: series.instance,
    component: series.component,
    target: series.target,
    every: series.every,
  };
  if (!target || !target.reachable) {
    return { ...base, copies: 0, state: "UNKNOWN", error: target?.error ?? "the target was not listed" };
  }
  const snaps = seriesSnapshots(series, observed);
  const newest = newestOf(snaps);
  const lastVerified = lastVerifiedOf(snaps);
  const extra = lastVerified ? { lastVerified } : {};
  if (!newest) return { ...base, copies: 0, state: "MISSING", nextDue: now.toISOString(), ...extra };
  const schedule = scheduleOf(series);
  const newestAt = new Date(newest.time);
  const state = isStale(schedule, newestAt, now) ? "STALE" : isDue(schedule, newestAt, now) ? "DUE" : "OK";
  return {
    ...base,
    newest: newest.time,
    ageMs: now.getTime() - newestAt.getTime(),
    copies: snaps.length,
    state,
    nextDue: nextDue(schedule, newestAt, now).toISOString(),
    ...extra,
  };
}

/** `backplan status` exit code: 0 when every series is OK or DUE, 2 when any is STALE, MISSING or UNKNOWN. */
export function statusExitCode(statuses: readonly SeriesStatus[]): 0 | 2 {
  return statuses.some((s) => s.state === "STALE" || s.state === "MISSING" || s.state === "UNKNOWN") ? 2 : 0;
}
