#!/usr/bin/env node
/**
 * argv → command. Commands are thin: each lives in src/cli/commands/<name>.ts, is imported only
 * when invoked (so `backplan --help` never loads ink, the AWS SDK or SQLite), and returns an
 * exit code. Errors are turned into messages and exit codes in one place: ./exit.ts.
 */
import "./early.js"; // first: starts the key derivations the last apply recorded (see the module)
import { Command } from "../vendor/commander.js";
import { makeContext, type CommandContext, type GlobalOptions } from "./context.js";
import { reportError } from "./exit.js";
import { tuneHeapGrowth } from "./heap.js";
import { version } from "../version.js";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
tuneHeapGrowth();

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Runner = (ctx: CommandContext, ...args: any[]) => Promise<number>;

function lazy(load: () => Promise<{ run: Runner }>, begin?: (ctx: CommandContext) => void) {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const globals = cmd.optsWithGlobals() as GlobalOptions;
    let code: number;
    try {
      const ctx = makeContext(globals);
      begin?.(ctx);
      const mod = await load();
      code = await mod.run(ctx, ...args.slice(0, -1));
    } catch (err) {
      code = reportError(err, Boolean(globals.debug));
    }
    process.exitCode = code;
  };
}

/**
 * apply's spec, targets and key derivations are begun while the command's modules load (see
 * beginApplyWorkspace). Its own import is smaller than the command's, so it is evaluated first.
 */
function beginApply(ctx: CommandContext): void {
  import("../workspace.js").then(
    (w) => w.beginApplyWorkspace(ctx.configPath),
    () => undefined, // the command's own import fails the same way, and reports it
  );
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

  program
    .command("plan")
    .description("compare backup.yaml with what exists on every target and show what apply would do")
    .option("--out <file>", "save the plan (JSON, with a .md rendering beside it) for review and `apply FILE`")
    .option("--format <format>", "text, markdown or json", "text")
    .option("--detailed-exitcode", "exit 0 when there is nothing to do, 2 when there are changes, 1 on error", false)
    .option("--prune-orphans", "also prune copies of series no longer in the spec", false)
    .option("--no-diff", "do not show what changed in the spec since the last apply")
    .action(lazy(() => import("./commands/plan.js")));

  program
    .command("apply [plan]")
    .description("carry out a fresh plan, or exactly a saved one (refused when stale)")
    .option("--auto-approve", "do not ask for confirmation (required without a terminal)", false)
    .option("--json", "print events as JSON lines on stdout", false)
    .option("--prune-orphans", "also prune copies of series no longer in the spec", false)
    .action(lazy(() => import("./commands/apply.js"), beginApply));

  program
    .command("status")
    .description("every series: newest copy, its age against `every`, OK / DUE / STALE / MISSING (exit 2 when unhealthy)")
    .option("--json", "machine-readable output", false)
    .option("--prometheus <file>", "also write node_exporter textfile metrics to FILE")
    .action(lazy(() => import("./commands/status.js")));

  program
    .command("snapshots")
    .description("list the copies on every target")
    .option("--json", "machine-readable output", false)
    .option("--target <name>", "only this target")
    .action(lazy(() => import("./commands/snapshots.js")));

  program
    .command("restore <instance>")
    .description("restore an instance's data directory (or one component) into a folder")
    .requiredOption("--to <dir>", "destination folder (must be empty unless --force)")
    .option("--component <name>", "only this component")
    .option("--target <name>", "restore from this target (default: the newest copy on any)")
    .option("--snapshot <id>", "a snapshot id (or unique prefix), or latest", "latest")
    .option("--force", "restore into a non-empty folder, overwriting", false)
    .action(lazy(() => import("./commands/restore.js")));

  program
    .command("verify [instance]")
    .description("restore test: restore into a temporary folder, check every hash and every SQLite integrity_check")
    .option("--target <name>", "only this target")
    .option("--component <name>", "only this component")
    .option("--snapshot <id>", "a snapshot id (or unique prefix), or latest", "latest")
    .option("--json", "machine-readable output", false)
    .action(lazy(() => import("./commands/verify.js")));

  program
    .command("watch")
    .description("long-running: re-plan when backup.yaml changes, and apply what is due every --interval")
    .option("--interval <duration>", "how often to reconcile (e.g. 30s, 5m, 1h)", "5m")
    .action(lazy(() => import("./commands/watch.js")));

  program
    .command("unlock")
    .description("remove repository locks left behind by runs that died (stale ones; --all for every lock)")
    .option("--target <name>", "only this target")
    .option("--all", "remove every lock, also live-looking ones (only when sure no run is active)", false)
    .option("--yes", "confirm --all without asking", false)
    .action(lazy(() => import("./commands/unlock.js")));

  return program;
}

const program = buildProgram();
program.parseAsync(process.argv).catch((err: unknown) => {
  process.exitCode = reportError(err, process.argv.includes("--debug"));
});
