/** The Plan as stable, pretty JSON: what `plan --format json` prints and `plan --out` saves. */
import type { Plan } from "../plan/types.js";

export function renderPlanJson(plan: Plan): string {
  return JSON.stringify(plan, null, 2) + "\n";
}
