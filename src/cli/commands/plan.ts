/** `backplan plan`: refresh, plan, render. No side effects on any target. */
import path from "node:path";
import type { CommandContext } from "../context.js";
import { openWorkspace } from "../../workspace.js";
import { observe } from "../../observe/observe.js";
import { plan as makePlan } from "../../plan/plan.js";
import { renderPlanText } from "../../render/text.js";
import { renderPlanMarkdown } from "../../render/markdown.js";
import { renderPlanJson } from "../../render/json.js";
import { savePlan } from "../../apply/saved-plan.js";
import { specDiff } from "../../spec/diff.js";
import { formatProblem, EXIT } from "../exit.js";
import { UserError } from "../../errors.js";

export interface PlanOptions {
  out?: string;
  format?: string;
  detailedExitcode?: boolean;
  pruneOrphans?: boolean;
  diff?: boolean;
}

export async function run(ctx: CommandContext, opts: PlanOptions): Promise<number> {
  const format = opts.format ?? "text";
  if (!["text", "markdown", "json"].includes(format)) {
    throw new UserError(`unknown plan format "${format}"`, { hint: "use --format text, markdown or json" });
  }
  const ws = await openWorkspace(ctx.configPath, { mode: "validate" });
  try {
    for (const w of ws.warnings) ctx.stderr(formatProblem(w) + "\n");
    const { observed } = await observe(ws.spec, ws.targets, {
      catalog: ws.catalog,
      ...(ws.passphrase !== undefined ? { passphrase: ws.passphrase } : {}),
    });
    const plan = makePlan(ws.spec, observed, ctx.now(), { pruneOrphans: Boolean(opts.pruneOrphans) });

    if (opts.diff !== false && format !== "json") {
      const diff = await specDiff(ws.spec, ws.catalog);
      if (diff) ctx.stdout(format === "markdown" ? "```diff\n" + diff + "```\n\n" : diff + "\n");
    }
    const rendered =
      format === "json" ? renderPlanJson(plan) : format === "markdown" ? renderPlanMarkdown(plan) : renderPlanText(plan, { color: ctx.isTTY && !process.env.NO_COLOR });
    ctx.stdout(rendered.endsWith("\n") ? rendered : rendered + "\n");

    if (opts.out) {
      const file = path.resolve(opts.out);
      await savePlan(file, plan, renderPlanMarkdown(plan));
      ctx.stderr(`Saved the plan to ${path.relative(process.cwd(), file) || file}. Apply exactly it with: backplan apply ${opts.out}\n`);
    }
    if (opts.detailedExitcode) return plan.actions.length > 0 ? EXIT.changes : EXIT.ok;
    return EXIT.ok;
  } finally {
    await ws.close();
  }
}
