/**
 * The one place where errors become exit codes and messages. Users see a paragraph naming the
 * thing and the fix; stacks only with --debug.
 */
import {
  BackplanError,
  BugError,
  CancelledError,
  PartialFailureError,
  SpecError,
  UserError,
  type SpecProblem,
} from "../errors.js";

export const EXIT = {
  ok: 0,
  /** Nothing done: invalid spec, stale plan, lock held, any user error. */
  error: 1,
  /** plan --detailed-exitcode: changes present; status: something stale or missing. */
  changes: 2,
  /** apply: some actions failed, others done. */
  partial: 3,
  cancelled: 130,
} as const;

export function formatProblem(p: SpecProblem): string {
  const where = `${p.file}:${p.line}:${p.col}`;
  const field = p.path ? `${p.path}: ` : "";
  const sev = p.severity === "warning" ? "warning: " : "";
  return `${where}: ${sev}${field}${p.message}${p.hint ? ` (${p.hint})` : ""}`;
}

export function reportError(err: unknown, debug: boolean, write: (s: string) => void = (s) => process.stderr.write(s)): number {
  if (err instanceof SpecError) {
    for (const p of err.problems) write(formatProblem(p) + "\n");
    write(`backplan: ${err.message}; ${err.hint ?? ""}\n`);
    if (debug) write(`${err.stack}\n`);
    return EXIT.error;
  }
  if (err instanceof CancelledError) {
    write(`backplan: ${err.message}\n`);
    return EXIT.cancelled;
  }
  if (err instanceof PartialFailureError) {
    for (const f of err.failures) write(`  ${f.address}: ${f.message}\n`);
    write(`backplan: ${err.message}; the other actions completed. Fix the cause and run apply again: it only does what is still due.\n`);
    if (debug) write(`${err.stack}\n`);
    return EXIT.partial;
  }
  if (err instanceof UserError || (err instanceof BackplanError && !(err instanceof BugError))) {
    write(`backplan: ${err.message}${err.hint ? `\n  ${err.hint}` : ""}\n`);
    if (debug) write(`${err.stack}\n${causeChain(err)}`);
    return EXIT.error;
  }
  // A bug, or an error nobody translated: say so plainly, keep the details for --debug.
  const msg = err instanceof Error ? err.message : String(err);
  write(
    `backplan: internal error: ${msg}\n  This is a bug in backplan. Run again with --debug for details and report it.\n`,
  );
  if (debug && err instanceof Error) write(`${err.stack}\n${causeChain(err)}`);
  return EXIT.error;
}

function causeChain(err: Error): string {
  let out = "";
  let c: unknown = err.cause;
  while (c) {
    out += `caused by: ${c instanceof Error ? (c.stack ?? c.message) : String(c)}\n`;
    c = c instanceof Error ? c.cause : undefined;
  }
  return out;
}
