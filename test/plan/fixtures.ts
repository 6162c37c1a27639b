/** Builders for planner and renderer tests: a small spec and observed state, no disk. */
import { createHash } from "node:crypto";
import type { KeepPolicy, Series, Spec } from "../../src/spec/types.js";
import type { Observed, ObservedSnapshot } from "../../src/plan/types.js";

export function series(address: string, every: string, keep: KeepPolicy, verify?: string): Series {
  const m = /^([^/]+)\/([^@]+)@(.+)$/.exec(address)!;
  return {
    address,
    instance: m[1]!,
    component: m[2]!,
    target: m[3]!,
    every,
    keep,
    ...(verify ? { verify } : {}),
    consistency: "hot",
    policyIndex: 0,
  };
}

export function spec(list: Series[]): Spec {
  return {
    file: "/srv/backplan/backup.yaml",
    dir: "/srv/backplan",
    version: 1,
    instances: {},
    targets: {},
    policies: [],
    series: list,
    notify: [],
    digest: "d".repeat(64),
  };
}

let counter = 0;
/** A snapshot of `address` at `time`; ids are deterministic per call order unless given. */
export function snap(address: string, time: string, extra: Partial<ObservedSnapshot> = {}): ObservedSnapshot {
  const m = /^([^/]+)\/([^@]+)@(.+)$/.exec(address)!;
  const id = extra.id ?? `${(++counter).toString(16).padStart(8, "0")}${"0".repeat(56)}`;
  return { id, instance: m[1]!, component: m[2]!, target: m[3]!, time, bytes: 1000, ...extra };
}

export function observed(targets: Record<string, ObservedSnapshot[] | { error: string }>, lastCaptureBytes: Record<string, number> = {}): Observed {
  const out: Observed = { targets: {}, lastCaptureBytes };
  for (const [name, v] of Object.entries(targets)) {
    out.targets[name] = Array.isArray(v) ? { name, reachable: true, snapshots: v } : { name, reachable: false, error: v.error, snapshots: [] };
  }
  return out;
}

/** One snapshot a day at `hh:mm` UTC for `days` days ending on `lastDay` (YYYY-MM-DD). */
export function daily(address: string, lastDay: string, days: number, hhmm = "02:00"): ObservedSnapshot[] {
  const end = Date.parse(`${lastDay}T${hhmm}:00Z`);
  return Array.from({ length: days }, (_, i) => {
    const time = new Date(end - (days - 1 - i) * 86_400_000).toISOString();
    return snap(address, time, { id: createHash("sha256").update(`${address} ${time}`).digest("hex") });
  });
}
