/** Which snapshots a restore or verify means: by instance, component, target, id prefix or latest. */
import type { SnapshotSummary } from "../repo/types.js";
import { UserError } from "../errors.js";

export interface Selection {
  instance?: string;
  component?: string;
  target?: string;
  /** A snapshot id or unique prefix, or "latest" (the default). */
  snapshot?: string;
}

export interface Selected {
  target: string;
  summary: SnapshotSummary;
}

/**
 * One snapshot per (instance, component): the newest across the allowed targets (ties go to the
 * target listed first in the spec), or exactly the one named by id.
 */
export function selectSnapshots(summaries: Map<string, SnapshotSummary[]>, sel: Selection): Selected[] {
  const candidates: Selected[] = [];
  for (const [target, list] of summaries) {
    if (sel.target && target !== sel.target) continue;
    for (const summary of list) {
      if (sel.instance && summary.instance !== sel.instance) continue;
      if (sel.component && summary.component !== sel.component) continue;
      candidates.push({ target, summary });
    }
  }
  const what = [sel.instance, sel.component && `component ${sel.component}`, sel.target && `on target ${sel.target}`].filter(Boolean).join(" ");
  if (sel.snapshot && sel.snapshot !== "latest") {
    const matches = candidates.filter((c) => c.summary.id.startsWith(sel.snapshot!));
    const ids = new Set(matches.map((m) => m.summary.id));
    if (ids.size === 0)
      throw new UserError(`no snapshot ${sel.snapshot} of ${what || "any instance"}`, { hint: "list them with `backplan snapshots`" });
    if (ids.size > 1)
      throw new UserError(`snapshot id ${sel.snapshot} is ambiguous (${[...ids].map((i) => i.slice(0, 12)).join(", ")})`, {
        hint: "give more characters of the id",
      });
    return [matches[0]!];
  }
  const newest = new Map<string, Selected>();
  for (const c of candidates) {
    const key = `${c.summary.instance}/${c.summary.component}`;
    const prev = newest.get(key);
    if (!prev || c.summary.time > prev.summary.time) newest.set(key, c);
  }
  if (newest.size === 0) {
    throw new UserError(`no snapshot of ${what || "anything"} exists yet`, {
      hint: "check the names with `backplan snapshots`, or create copies with `backplan apply`",
    });
  }
  return [...newest.values()].sort((a, b) => a.summary.component.localeCompare(b.summary.component));
}
