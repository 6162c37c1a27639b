/**
 * `backplan watch`: the long-running form. Re-plans (and shows the plan) whenever backup.yaml
 * changes, and reconciles every --interval: each tick plans afresh and applies only what is due,
 * exactly like `apply --auto-approve` from cron. SIGINT/SIGTERM stop it after the current tick.
 */
import type { CommandContext } from "../context.js";
import { openWorkspace } from "../../workspace.js";
import { observe } from "../../observe/observe.js";
import { plan as makePlan } from "../../plan/plan.js";
import { renderPlanText } from "../../render/text.js";
import { executePlan } from "../../apply/run.js";
import { acquireApplyLock } from "../../apply/local-lock.js";
import { lineListener } from "../views/lines.js";
import { reportError, EXIT } from "../exit.js";
import { UserError } from "../../errors.js";

export function parseInterval(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (!m) throw new UserError(`--interval "${text}" is not a duration`, { hint: "use e.g. 30s, 5m or 1h" });
  const n = Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "ms" | "s" | "m" | "h"];
  if (n < 1000) throw new UserError(`--interval ${text} is too short`, { hint: "use at least 1s" });
  return n;
}

export async function run(ctx: CommandContext, opts: { interval?: string }): Promise<number> {
  const intervalMs = parseInterval(opts.interval ?? "5m");
  const { watch } = await import("chokidar");
  let stopping = false;
  let busy: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let wake: () => void = () => {};

  const showPlan = async (why: string) => {
    ctx.stderr(`\n[${new Date().toISOString()}] ${why}: planning\n`);
    try {
      const ws = await openWorkspace(ctx.configPath, { mode: "validate" });
      try {
        const { observed } = await observe(ws.spec, ws.targets, { catalog: ws.catalog, ...(ws.passphrase !== undefined ? { passphrase: ws.passphrase } : {}) });
        ctx.stdout(renderPlanText(makePlan(ws.spec, observed, ctx.now()), { color: ctx.isTTY && !process.env.NO_COLOR }) + "\n");
      } finally {
        await ws.close();
      }
    } catch (err) {
      reportError(err, ctx.debug, ctx.stderr);
    }
  };

  const reconcile = async () => {
    ctx.stderr(`\n[${new Date().toISOString()}] reconciling\n`);
    try {
      const ws = await openWorkspace(ctx.configPath, { mode: "apply" });
      let release: (() => void) | undefined;
      try {
        release = acquireApplyLock(ws.spec.dir);
        const now = ctx.now();
        const { observed, repos } = await observe(ws.spec, ws.targets, {
          catalog: ws.catalog,
          ...(ws.passphrase !== undefined ? { passphrase: ws.passphrase } : {}),
          ...(ws.opening ? { opening: ws.opening } : {}),
        });
        const plan = makePlan(ws.spec, observed, now);
        if (plan.actions.length === 0) ctx.stderr("nothing is due\n");
        else await executePlan(ws, plan, { now, emit: lineListener(ctx.stderr), warn: ctx.stderr, repos });
      } finally {
        release?.();
        await ws.close();
      }
    } catch (err) {
      // A bad spec or an unreachable target is reported; the watcher keeps running.
      reportError(err, ctx.debug, ctx.stderr);
    }
  };

  const watcher = watch(ctx.configPath, { ignoreInitial: true, awaitWriteFinish: { stabilityThreshold: 200, pollInterval: 50 } });
  watcher.on("all", () => {
    busy = busy.then(() => showPlan("backup.yaml changed"));
  });
  await new Promise<void>((resolve) => watcher.once("ready", () => resolve()));

  const stop = () => {
    stopping = true;
    if (timer) clearTimeout(timer);
    wake();
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  ctx.stderr(`watching ${ctx.configPath}; reconciling every ${opts.interval ?? "5m"} (Ctrl-C to stop)\n`);

  while (!stopping) {
    busy = busy.then(reconcile);
    await busy;
    if (stopping) break;
    await new Promise<void>((resolve) => {
      wake = resolve;
      timer = setTimeout(resolve, intervalMs);
    });
  }
  await busy;
  await watcher.close();
  ctx.stderr("watch: stopped\n");
  return EXIT.ok;
}
