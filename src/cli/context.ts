/** Options every command receives from the global flags. */
import path from "node:path";
import { UserError } from "../errors.js";

export interface GlobalOptions {
  config: string;
  debug: boolean;
}

export interface CommandContext {
  /** Absolute path of backup.yaml. */
  configPath: string;
  debug: boolean;
  /** The clock: BACKPLAN_NOW (ISO-8601) overrides it, for tests and what-if planning. */
  now(): Date;
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  isTTY: boolean;
}

export function makeContext(opts: GlobalOptions): CommandContext {
  return {
    configPath: path.resolve(opts.config),
    debug: opts.debug,
    now: () => clockFromEnv(process.env.BACKPLAN_NOW),
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
    isTTY: Boolean(process.stdout.isTTY && process.stdin.isTTY),
  };
}

export function clockFromEnv(value: string | undefined): Date {
  if (!value) return new Date();
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) {
    throw new UserError(`BACKPLAN_NOW is not an ISO-8601 time: "${value}"`, {
      hint: "set it like BACKPLAN_NOW=2026-11-22T02:00:00Z, or unset it to use the real clock",
    });
  }
  return d;
}
