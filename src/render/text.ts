/**
 * Terraform-like text rendering of a Plan: grouped by target, `+` snapshot, `-` prune,
 * `~` verify, closing with the summary line. Colour only when the caller asks (a TTY).
 */
import type { Action, Plan } from "../plan/types.js";
import { byTarget, formatBytes, shortId, shortTime, summaryLine, warnings } from "./format.js";

const ANSI = { green: 32, red: 31, yellow: 33, bold: 1, dim: 2 } as const;
type Paint = (code: keyof typeof ANSI, s: string) => string;

export function renderPlanText(plan: Plan, opts: { color?: boolean } = {}): string {
  const paint: Paint = opts.color ? (c, s) => `\u001b[${ANSI[c]}m${s}\u001b[0m` : (_c, s) => s;
  const lines: string[] = [];
  for (const [target, actions] of byTarget(plan.actions)) {
    lines.push(paint("bold", `Target ${target}`));
    const width = Math.max(...actions.map((a) => a.address.length));
    for (const a of actions) lines.push("  " + actionLine(a, width, paint));
    lines.push("");
  }
  for (const w of warnings(plan)) lines.push(paint("yellow", `Warning: ${w}`));
  if (plan.unreachable.length + plan.orphans.length > 0) lines.push("");
  lines.push(paint("bold", summaryLine(plan)));
  return lines.join("\n") + "\n";
}

function actionLine(a: Action, width: number, paint: Paint): string {
  const address = a.address.padEnd(width);
  switch (a.type) {
    case "snapshot": {
      const est = a.estimateBytes !== undefined ? `  ~${formatBytes(a.estimateBytes)}` : "";
      return paint("green", `+ snapshot ${address}`) + `  (${a.reason})${est}`;
    }
    case "prune": {
      const cond = a.afterSnapshot ? paint("dim", "  [only if the new snapshot succeeds]") : "";
      return paint("red", `- prune    ${address}`) + `  ${shortId(a.snapshotId)} ${shortTime(a.snapshotTime)}  (${a.reason})${cond}`;
    }
    case "verify":
      return paint("yellow", `~ verify   ${address}`) + `  ${shortId(a.snapshotId)}  (${a.reason})`;
  }
}
