/**
 * One error hierarchy for the whole product. Every failure a user can cause is a UserError
 * carrying what went wrong and the next step; the CLI maps classes to exit codes in one place
 * (src/cli/exit.ts) and prints stacks only with --debug.
 */
export class BackplanError extends Error {
  /** What the user should do next, printed after the message. */
  readonly hint?: string;
  constructor(message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = new.target.name;
    if (opts.hint !== undefined) this.hint = opts.hint;
  }
}

/** Something the user can fix: bad spec, missing path, wrong passphrase, unreachable bucket. */
export class UserError extends BackplanError {}

/** One located problem in backup.yaml (file:line:col). */
export interface SpecProblem {
  file: string;
  line: number;
  col: number;
  /** Dotted path of the field, e.g. `policies[1].keep.daily`; empty for the document. */
  path: string;
  message: string;
  hint?: string;
  severity: "error" | "warning";
}

/** The spec is invalid: carries every problem at once. */
export class SpecError extends UserError {
  readonly problems: SpecProblem[];
  constructor(problems: SpecProblem[]) {
    const errors = problems.filter((p) => p.severity === "error");
    super(`${errors.length} problem${errors.length === 1 ? "" : "s"} in ${errors[0]?.file ?? "the spec"}`, {
      hint: "fix the lines above, then run `backplan validate` again",
    });
    this.problems = problems;
  }
}

/** A target could not be reached or refused us (bucket missing, access denied, disk full). */
export class TargetError extends UserError {
  /** Transient errors (5xx, resets, timeouts) may be retried; permanent ones fail fast. */
  readonly transient: boolean;
  constructor(message: string, opts: { hint?: string; cause?: unknown; transient?: boolean } = {}) {
    super(message, opts);
    this.transient = opts.transient ?? false;
  }
}

/** A repository object is missing. Targets throw this from get() for absent keys. */
export class NotFoundError extends BackplanError {
  readonly key: string;
  constructor(key: string, where: string) {
    super(`${key} not found on ${where}`);
    this.key = key;
  }
}

/** Stored data failed authentication or its hash: never restored silently. */
export class IntegrityError extends UserError {}

/** Another run holds the lock (local apply lock or a repository lock on a target). */
export class LockError extends UserError {}

/** A saved plan no longer matches the spec or the targets. */
export class StalePlanError extends UserError {}

/** The user said no, or pressed Ctrl-C. */
export class CancelledError extends BackplanError {}

/** A bug: an invariant broke. Always printed with a request to report it. */
export class BugError extends BackplanError {}

/** Apply finished with some series failed and others done. */
export class PartialFailureError extends BackplanError {
  readonly failures: { address: string; message: string }[];
  constructor(failures: { address: string; message: string }[]) {
    super(`${failures.length} action${failures.length === 1 ? "" : "s"} failed`);
    this.failures = failures;
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Message and next step in one line, for places that report many errors (apply's per-action failures). */
export function describeError(err: unknown): string {
  const msg = errorMessage(err);
  const hint = err instanceof BackplanError ? err.hint : undefined;
  return hint ? `${msg} — ${hint}` : msg;
}
