/** `backplan apply [PLAN]`: carry out a fresh or a saved plan. */
import path from "node:path";
import type { CommandContext } from "../context.js";
import { openWorkspace } from "../../workspace.js";
import { observe } from "../../observe/observe.js";
import { plan as makePlan, observedDigest } from "../../plan/plan.js";
import { renderPlanText } from "../../render/text.js";
import type { ApplyResult } from "../../apply/apply.js";
import type { Plan } from "../../plan/types.js";
import type { ApplyEvent } from "../../apply/events.js";
import { acquireApplyLock } from "../../apply/local-lock.js";
import { rememberKeyHintOf } from "../../repo/key-hint.js";
import { checkFresh, loadPlan } from "../../apply/saved-plan.js";
import { lineListener } from "../views/lines.js";
import { EXIT, formatProblem } from "../exit.js";
import { CancelledError, UserError } from "../../errors.js";

export interface ApplyOptions {
  autoApprove?: boolean;
  json?: boolean;
  pruneOrphans?: boolean;
}

export async function run(ctx: CommandContext, planFile: string | undefined, opts: ApplyOptions): Promise<number> {
  const ws = await openWorkspace(ctx.configPath, { mode: "apply" });
  let release: (() => void) | undefined;
  try {
    for (const w of ws.warnings) ctx.stderr(formatProblem(w) + "\n");
    release = acquireApplyLock(ws.spec.dir);
    const now = ctx.now();
    // Keys deferred: scrypt runs on the thread pool while the plan is made and the hot captures
    // start; nothing is stored before it has unlocked every repository (applyPlan's `keys`).
    const { observed, keys, repos } = await observe(ws.spec, ws.targets, {
      catalog: ws.catalog,
      deferKeys: true,
      ...(ws.passphrase !== undefined ? { passphrase: ws.passphrase } : {}),
      ...(ws.opening ? { opening: ws.opening } : {}),
    });
    // The apply machinery (capture, store, prune, Docker) loads while scrypt runs on the thread
    // pool. Not before observe: compiling it (~30 ms) then came between reading the spec and
    // reading the key files, and delayed scrypt, a no-change apply's longest wait, by as much.
    const running = import("../../apply/run.js");
    running.catch(() => undefined);
    // Once unlocked, which key files did it: the next run starts their scrypt before the spec is read.
    const encryption = ws.spec.encryption;
    const rememberKeys = () => encryption && rememberKeyHintOf(path.dirname(ws.spec.file), encryption.passphrase, repos.values());
    keys.then(rememberKeys).catch(() => undefined);

    let plan: Plan;
    if (planFile) {
      plan = await loadPlan(path.resolve(planFile));
      checkFresh(plan, ws.spec, observedDigest(observed), planFile);
    } else {
      plan = makePlan(ws.spec, observed, now, { pruneOrphans: Boolean(opts.pruneOrphans) });
      if (!opts.json) ctx.stdout(renderPlanText(plan, { color: ctx.isTTY && !process.env.NO_COLOR }) + "\n");
    }
    const { executePlan, rememberAppliedSpec } = await running;
    if (plan.actions.length === 0) {
      await keys; // a wrong passphrase is an error even when nothing is due
      if (opts.json) ctx.stdout(JSON.stringify({ type: "apply-done", done: 0, failed: 0, skipped: 0, ms: 0 }) + "\n");
      await rememberAppliedSpec(ws);
      return EXIT.ok;
    }

    // A reviewed saved plan is the approval (as in Terraform); a fresh one needs a yes.
    if (!planFile && !opts.autoApprove) {
      if (!ctx.isTTY) {
        throw new UserError("apply needs approval, and there is no terminal to ask", {
          hint: "review the plan above and run `backplan apply --auto-approve`, or apply a saved, reviewed plan: `backplan apply plans/NAME.json`",
        });
      }
      await keys; // never ask for a yes that a wrong passphrase would then make worthless
      const { askApproval } = await import("../views/confirm.js");
      if (!(await askApproval(plan))) throw new CancelledError("apply cancelled: nothing was changed");
    }

    const listeners: ((e: ApplyEvent) => void)[] = [];
    let stopView = () => {};
    if (opts.json) listeners.push((e) => ctx.stdout(JSON.stringify(e) + "\n"));
    if (process.stderr.isTTY && !opts.json) {
      const { mountProgress } = await import("../views/progress.js");
      const view = mountProgress();
      listeners.push(view.listener);
      stopView = view.stop;
    } else {
      listeners.push(lineListener(ctx.stderr));
    }

    let result: ApplyResult;
    try {
      result = await executePlan(ws, plan, { now, emit: (e) => listeners.forEach((l) => l(e)), warn: ctx.stderr, keys, repos });
    } finally {
      stopView();
    }
    rememberKeys(); // with the repositories this apply created
    const failed = result.failed.length;
    if (failed === 0) return EXIT.ok;
    // Each failure was already shown by the progress view, with its message.
    ctx.stderr(
      result.done.length > 0
        ? `backplan: ${failed} of ${plan.actions.length} actions failed; the others completed. Fix the cause and run apply again: it only does what is still due.\n`
        : `backplan: every action failed; nothing was changed. Fix the cause above and run apply again.\n`,
    );
    return result.done.length > 0 ? EXIT.partial : EXIT.error;
  } finally {
    release?.();
    await ws.close();
  }
}

