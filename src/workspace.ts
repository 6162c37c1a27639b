/**
 * Everything a command needs from the world, opened in one place: the validated spec, the
 * resolved passphrase, the targets, and the local catalog. Commands stay thin; I/O stays here.
 */
import path from "node:path";
import type { Spec } from "./spec/types.js";
import type { SpecProblem } from "./errors.js";
import type { Target } from "./targets/target.js";
import { Catalog } from "./catalog/catalog.js";
import { loadSpec } from "./spec/load.js";
import { resolveSecret } from "./spec/secrets.js";
import { openTarget } from "./targets/index.js";
import { Repository } from "./repo/repository.js";

/**
 * Opens the target's repository, scrypt started, before the catalog opens (loading SQLite,
 * ~20 ms) and the command's modules load: the key is a no-change apply's longest wait. observe
 * takes the opened repository over (`Workspace.opening`), so the config and key files are read
 * once; it also reports whatever went wrong.
 */
function openEarly(target: Target, passphrase: string): { opening: Promise<Repository | undefined>; deriving: Promise<unknown> } {
  let started = () => {};
  const deriving = new Promise<void>((resolve) => (started = resolve));
  const opening = Repository.open(target, { passphrase, create: false, deferKey: true, onKeyDerivation: started });
  opening.catch(() => undefined); // observe awaits it
  // Open returns before the key files are read (deferKey); when no derivation comes (no
  // repository yet, no key file, an error), unlocked() settles without it.
  const settled = opening.then((repo) => repo?.unlocked()).catch(() => undefined);
  return { opening, deriving: Promise.race([deriving, settled]) };
}

/**
 * How long the catalog's opening waits for scrypt to start. Reading the config and the key file
 * takes a local target ~1 ms, but each of its steps waits for the thread to be free: opened
 * beside the catalog (SQLite's load and schema, ~20 ms of this thread), scrypt started 30-40 ms
 * late. A remote target's round trips are not waited for beyond this.
 */
const KEY_HEAD_START_MS = 25;

export interface Workspace {
  spec: Spec;
  warnings: SpecProblem[];
  catalog: Catalog;
  targets: Map<string, Target>;
  passphrase?: string;
  /** apply: each encrypted target's repository, being opened since the spec was read (openEarly). */
  opening?: Map<string, Promise<Repository | undefined>>;
  close(): Promise<void>;
}

/** What openWorkspace does before the catalog: the spec, its passphrase, the targets, and for apply the early opens. */
interface SpecAndTargets {
  spec: Spec;
  warnings: SpecProblem[];
  passphrase: string | undefined;
  targets: Map<string, Target>;
  early: (readonly [string, ReturnType<typeof openEarly>])[] | undefined;
}

async function openSpecAndTargets(configPath: string, mode: "validate" | "apply", only?: Set<string>): Promise<SpecAndTargets> {
  const { spec, warnings } = await loadSpec(configPath, { mode });
  const passphrase = spec.encryption ? resolveSecret(spec.encryption.passphrase) : undefined;
  const targets = new Map<string, Target>();
  try {
    for (const [name, t] of Object.entries(spec.targets)) {
      if (only && !only.has(name)) continue;
      targets.set(name, await openTarget(t, { specDir: spec.dir, resolveSecret }));
    }
  } catch (err) {
    await Promise.allSettled([...targets.values()].map((t) => t.close()));
    throw err;
  }
  const early = mode === "apply" && passphrase !== undefined ? [...targets].map(([name, t]) => [name, openEarly(t, passphrase)] as const) : undefined;
  return { spec, warnings, passphrase, targets, early };
}

/**
 * This process's apply workspace (a CLI process runs one command): begun by beginApplyWorkspace
 * and waiting for openWorkspace, or "claimed" once an apply opened its workspace.
 */
let applyWork: { configPath: string; opened: Promise<SpecAndTargets> } | "claimed" | undefined;

/**
 * Starts openWorkspace(configPath, { mode: "apply" }) before the apply command's modules have
 * loaded (the CLI calls it as it starts importing them): scrypt, a no-change apply's longest
 * wait, then starts ~20-40 ms earlier, and the modules load beside it. openWorkspace takes the
 * result over, errors included, as if it had done the work itself; nothing is reported here.
 */
export function beginApplyWorkspace(configPath: string): void {
  if (applyWork) return; // late: the command got there first and opened its own
  const opened = openSpecAndTargets(configPath, "apply");
  opened.catch(() => undefined); // openWorkspace rethrows it
  applyWork = { configPath, opened };
}

export async function openWorkspace(
  configPath: string,
  opts: { mode: "validate" | "apply"; only?: Set<string>; memoryCatalog?: boolean; keyHeadStartMs?: number },
): Promise<Workspace> {
  let taken: Promise<SpecAndTargets> | undefined;
  if (opts.mode === "apply") {
    const begun = applyWork !== "claimed" ? applyWork : undefined;
    if (begun && begun.configPath === configPath && !opts.only) taken = begun.opened;
    // Begun for something else: nobody will take it, so its targets are closed.
    else if (begun) void begun.opened.then((w) => Promise.allSettled([...w.targets.values()].map((t) => t.close())), () => undefined);
    applyWork = "claimed";
  }
  const { spec, warnings, passphrase, targets, early } = await (taken ?? openSpecAndTargets(configPath, opts.mode, opts.only));
  const opening = early && new Map(early.map(([name, e]) => [name, e.opening]));
  if (early) {
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, opts.keyHeadStartMs ?? KEY_HEAD_START_MS)));
    await Promise.race([Promise.all(early.map(([, e]) => e.deriving)), waited]);
    clearTimeout(timer);
  }
  let catalog: Catalog;
  try {
    // `plan` must have no side effects at all, so read-only commands may use a throwaway catalog.
    catalog = opts.memoryCatalog ? await Catalog.memory() : await Catalog.open(path.dirname(spec.file));
  } catch (err) {
    await Promise.allSettled([...targets.values()].map((t) => t.close()));
    throw err;
  }
  return {
    spec,
    warnings,
    catalog,
    targets,
    ...(passphrase !== undefined ? { passphrase } : {}),
    ...(opening ? { opening } : {}),
    async close() {
      await Promise.allSettled([...targets.values()].map((t) => t.close()));
      catalog.close();
    },
  };
}
