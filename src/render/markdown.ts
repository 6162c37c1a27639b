/** Markdown rendering of a Plan for pull-request comments: a table per target, kept snapshots folded. */
import type { Action, Plan } from "../plan/types.js";
import { byTarget, formatBytes, plural, shortId, shortTime, summaryLine, warnings } from "./format.js";

const SIGN = { snapshot: "+", prune: "-", verify: "~" } as const;

export function renderPlanMarkdown(plan: Plan): string {
  const out: string[] = [];
  out.push(`### backplan plan`, "", `**${summaryLine(plan)}**`, "");
  out.push(`Computed at ${cell(plan.createdAt)} from \`${cell(baseName(plan.spec.file))}\` (${plan.spec.digest.slice(0, 12)}).`, "");
  for (const [target, actions] of byTarget(plan.actions)) {
    out.push(`#### Target \`${cell(target)}\``, "", "| | action | series | snapshot | reason |", "|---|---|---|---|---|");
    for (const a of actions) out.push(row(a));
    out.push("");
  }
  const ws = warnings(plan);
  if (ws.length > 0) {
    for (const w of ws) out.push(`> **Warning:** ${w}`, ">");
    out.pop();
    out.push("");
  }
  if (plan.series.length > 0) {
    out.push("<details><summary>Series status</summary>", "", "| series | state | newest | copies |", "|---|---|---|---|");
    for (const s of plan.series) out.push(`| \`${cell(s.address)}\` | ${s.state} | ${s.newest ? shortTime(s.newest) : "—"} | ${s.copies} |`);
    out.push("", "</details>", "");
  }
  if (plan.kept.length > 0) {
    out.push(`<details><summary>${plural(plan.kept.length, "kept snapshot")}</summary>`, "", "| series | snapshot | time | kept by |", "|---|---|---|---|");
    for (const k of plan.kept) out.push(`| \`${cell(k.address)}\` | \`${shortId(k.snapshotId)}\` | ${shortTime(k.time)} | ${cell(k.reasons.join(", "))} |`);
    out.push("", "</details>", "");
  }
  return out.join("\n");
}

function row(a: Action): string {
  let snap = "";
  let reason = a.reason;
  if (a.type === "snapshot") snap = a.estimateBytes !== undefined ? `new, ~${formatBytes(a.estimateBytes)}` : "new";
  if (a.type === "prune") {
    snap = `\`${shortId(a.snapshotId)}\` ${shortTime(a.snapshotTime)}`;
    if (a.afterSnapshot) reason += " (only if the new snapshot succeeds)";
  }
  if (a.type === "verify") snap = `\`${shortId(a.snapshotId)}\``;
  return `| \`${SIGN[a.type]}\` | ${a.type} | \`${cell(a.address)}\` | ${snap} | ${cell(reason)} |`;
}

/** Table cells cannot contain raw pipes or newlines. */
function cell(s: string): string {
  return s.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

function baseName(file: string): string {
  return file.split(/[\\/]/).pop() || file;
}
