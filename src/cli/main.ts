#!/usr/bin/env node
/**
 * argv → command. Commands are thin: each lives in src/cli/commands/<name>.ts, is imported only
 * when invoked (so `backplan --help` never loads ink, the AWS SDK or SQLite), and returns an
 * exit code. Errors are turned into messages and exit codes in one place: ./exit.ts.
 */
import { Command } from "commander";
import { makeContext, type CommandContext, type GlobalOptions } from "./context.js";
import { reportError } from "./exit.js";
import { version } from "../version.js";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";


// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Runner = (ctx: CommandContext, ...args: any[]) => Promise<number>;

function lazy(load: () => Promise<{ run: Runner }>) {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const globals = cmd.optsWithGlobals() as GlobalOptions;
    let code: number;
    try {
      const ctx = makeContext(globals);
      const mod = await load();
      code = await mod.run(ctx, ...args.slice(0, -1));
    } catch (err) {
      code = reportError(err, Boolean(globals.debug));
    }
    process.exitCode = code;
  };
}

export function buildProgram(): Command {
  const program = new Command("backplan")
    .description("Declarative backups for self-hosted apps: plan what is missing or stale, review it, apply it.")
    .version(version, "-V, --version")
    .option("-c, --config <file>", "the spec file", "backup.yaml")
    .option("--debug", "print stack traces and internal details", false)
    .showHelpAfterError("(run with --help for usage)");

  program
    .command("validate")
    .description("check backup.yaml: schema and semantic checks, every problem with its file:line:col")
    .option("--strict", "treat warnings as errors (as apply does)", false)
    .action(lazy(() => import("./commands/validate.js")));

  return program;
}

const program = buildProgram();
program.parseAsync(process.argv).catch((err: unknown) => {
  process.exitCode = reportError(err, process.argv.includes("--debug"));
});
