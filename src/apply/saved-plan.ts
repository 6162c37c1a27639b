/** Saved plans: written by `plan --out`, applied exactly by `apply FILE`, refused when stale. */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Plan } from "../plan/types.js";
import type { Spec } from "../spec/types.js";
import { StalePlanError, UserError } from "../errors.js";

export async function savePlan(file: string, plan: Plan, markdown: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(plan, null, 2) + "\n");
  await writeFile(file.replace(/\.json$/i, "") + ".md", markdown);
}

export async function loadPlan(file: string): Promise<Plan> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new UserError(`cannot read the saved plan ${file}`, { hint: "create it with `backplan plan --out " + file + "`" });
  }
  let plan: Plan;
  try {
    plan = JSON.parse(text) as Plan;
  } catch {
    throw new UserError(`${file} is not a backplan plan (invalid JSON)`, { hint: "create it with `backplan plan --out FILE`" });
  }
  if (plan?.formatVersion !== 1 || !Array.isArray(plan.actions)) {
    throw new UserError(`${file} is not a plan this version of backplan can apply (format ${String(plan?.formatVersion)})`, {
      hint: "run `backplan plan --out " + file + "` again with this version",
    });
  }
  return plan;
}

/** Terraform's rule: a saved plan is applied exactly as computed, or not at all. */
export function checkFresh(plan: Plan, spec: Spec, observedDigest: string, file: string): void {
  if (plan.spec.digest !== spec.digest) {
    throw new StalePlanError(`the saved plan ${file} is stale: ${path.basename(spec.file)} changed since it was made`, {
      hint: `run \`backplan plan --out ${file}\` again and review the new plan`,
    });
  }
  if (plan.observedDigest !== observedDigest) {
    throw new StalePlanError(`the saved plan ${file} is stale: the snapshots on the targets changed since it was made`, {
      hint: `run \`backplan plan --out ${file}\` again and review the new plan`,
    });
  }
}
