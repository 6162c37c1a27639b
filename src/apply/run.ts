/**
 * One apply of a plan with its bookkeeping: the run history, notifications, and the spec text
 * remembered for the next plan's diff. Shared by `apply` and `watch`.
 */
import path from "node:path";
import type { Plan } from "../plan/types.js";
import type { Workspace } from "../workspace.js";
import type { Emit } from "./events.js";
import { applyPlan, type ApplyResult } from "./apply.js";
import { readRedactedSpec } from "../spec/diff.js";
import { resolveSecret } from "../spec/secrets.js";
import type { NotifyEvent } from "../notify/notify.js";
import type { Repository } from "../repo/repository.js";

export async function executePlan(
  ws: Workspace,
  plan: Plan,
  opts: { now: Date; emit: Emit; warn: (s: string) => void; keys?: Promise<void>; repos?: Map<string, Repository> },
): Promise<ApplyResult> {
  const runId = ws.catalog.startRun("apply", new Date());
  let result: ApplyResult | undefined;
  try {
    result = await applyPlan(plan, {
      spec: ws.spec,
      targets: ws.targets,
      catalog: ws.catalog,
      now: opts.now,
      emit: opts.emit,
      ...(ws.passphrase !== undefined ? { passphrase: ws.passphrase } : {}),
      ...(opts.keys ? { keys: opts.keys } : {}),
      ...(opts.repos ? { repos: opts.repos } : {}),
    });
  } finally {
    const status = !result ? "failed" : result.failed.length === 0 ? "ok" : result.done.length > 0 ? "partial" : "failed";
    ws.catalog.finishRun(
      runId,
      status,
      result
        ? {
            done: result.done.length,
            failed: result.failed.map((f) => ({ address: f.action.address, type: f.action.type, error: f.error })),
            skipped: result.skipped.length,
          }
        : { crashed: true },
      new Date(),
    );
  }
  await sendNotifications(ws, plan, result, opts.warn);
  if (result.failed.length === 0) await rememberAppliedSpec(ws);
  return result;
}

export async function rememberAppliedSpec(ws: Workspace): Promise<void> {
  ws.catalog.rememberAppliedSpec(ws.spec.digest, await readRedactedSpec(ws.spec), new Date());
}

async function sendNotifications(ws: Workspace, plan: Plan, result: ApplyResult, warn: (s: string) => void): Promise<void> {
  if (ws.spec.notify.length === 0) return;
  const events: NotifyEvent[] = [result.failed.length > 0 ? "failure" : "success"];
  if (result.done.some((a) => a.type === "prune")) events.push("prune");
  const stale = plan.series.filter((s) => s.state === "STALE" || s.state === "MISSING").map((s) => `${s.address} (${s.state})`);
  if (stale.length > 0) events.push("stale");
  const { notify } = await import("../notify/notify.js");
  await notify(
    ws.spec.notify,
    {
      events,
      subject: result.failed.length > 0 ? `backplan: ${result.failed.length} action(s) failed` : `backplan: ${result.done.length} action(s) done`,
      text: [
        `${result.done.length} done, ${result.failed.length} failed, ${result.skipped.length} skipped (${path.basename(ws.spec.file)}).`,
        ...result.failed.map((f) => `${f.action.type} ${f.action.address}: ${f.error}`),
        ...(stale.length ? [`Not current before this run: ${stale.join(", ")}`] : []),
      ].join("\n"),
      data: {
        events,
        done: result.done.map((a) => ({ type: a.type, address: a.address })),
        failed: result.failed.map((f) => ({ type: f.action.type, address: f.action.address, error: f.error })),
        stale,
      },
    },
    { resolveSecret, warn },
  );
}
