/** Small formatting helpers shared by the renderers (pure, locale-independent). */
import type { Action, Plan } from "../plan/types.js";

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/** "2024-01-05 02:00" (UTC): short, sortable, unambiguous in a review. */
export function shortTime(iso: string): string {
  return iso.slice(0, 16).replace("T", " ");
}

export function shortId(id: string): string {
  return id === "latest" ? id : id.slice(0, 8);
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** Actions grouped by target, in the plan's (already stable) order. */
export function byTarget(actions: readonly Action[]): Map<string, Action[]> {
  const m = new Map<string, Action[]>();
  for (const a of actions) {
    const list = m.get(a.target) ?? [];
    list.push(a);
    m.set(a.target, list);
  }
  return m;
}

export function summaryLine(plan: Plan): string {
  const { snapshot, prune, verify } = plan.summary;
  if (snapshot + prune + verify === 0) return "No changes. Every copy is current.";
  return `Plan: ${snapshot} to snapshot, ${prune} to prune, ${verify} to verify.`;
}

/** Warnings every renderer shows: unreachable targets and orphaned copies. */
export function warnings(plan: Plan): string[] {
  const out: string[] = [];
  for (const u of plan.unreachable) {
    out.push(`target ${u.target} is unreachable (${u.error}): its copies could not be checked and nothing will be pruned there`);
  }
  const pruning = new Set(plan.actions.filter((a) => a.type === "prune" && a.orphan).map((a) => a.address));
  for (const o of plan.orphans) {
    const address = `${o.instance}/${o.component}@${o.target}`;
    const copies = `${o.count} orphaned cop${o.count === 1 ? "y" : "ies"} of ${address}`;
    out.push(
      pruning.has(address)
        ? `${copies} (no series in the spec claims ${o.count === 1 ? "it" : "them"}) will be pruned`
        : `${copies}: no series in the spec claims ${o.count === 1 ? "it" : "them"}; kept (pass --prune-orphans to remove ${o.count === 1 ? "it" : "them"})`,
    );
  }
  return out;
}
