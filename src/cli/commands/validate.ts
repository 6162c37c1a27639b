/** `backplan validate`: schema and semantic checks; every problem printed with its file:line:col. */
import path from "node:path";
import { SpecError } from "../../errors.js";
import { loadSpec } from "../../spec/load.js";
import type { CommandContext } from "../context.js";
import { formatProblem } from "../exit.js";

export async function run(ctx: CommandContext, opts: { strict?: boolean }): Promise<number> {
  const strict = Boolean(opts.strict);
  const { spec, warnings } = await loadSpec(ctx.configPath, { mode: strict ? "apply" : "validate" });
  // --strict: what apply would refuse (apply mode), and every remaining warning too.
  if (strict && warnings.length > 0) throw new SpecError(warnings.map((w) => ({ ...w, severity: "error" as const })));
  for (const w of warnings) ctx.stderr(formatProblem(w) + "\n");
  const count = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
  const summary = [
    count(Object.keys(spec.instances).length, "instance"),
    count(Object.keys(spec.targets).length, "target"),
    count(spec.series.length, "series", "series"),
  ].join(", ");
  const note = warnings.length ? ` (${count(warnings.length, "warning")})` : "";
  ctx.stdout(`${path.basename(spec.file)} is valid: ${summary}${note}\n`);
  return 0;
}
