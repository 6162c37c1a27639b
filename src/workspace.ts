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
function openEarly(target: Target, passphrase: string): Promise<Repository | undefined> {
  const opening = Repository.open(target, { passphrase, create: false, deferKey: true });
  opening.catch(() => undefined); // observe awaits it
  return opening;
}

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

export async function openWorkspace(
  configPath: string,
  opts: { mode: "validate" | "apply"; only?: Set<string>; memoryCatalog?: boolean },
): Promise<Workspace> {
  const { spec, warnings } = await loadSpec(configPath, { mode: opts.mode });
  const passphrase = spec.encryption ? resolveSecret(spec.encryption.passphrase) : undefined;
  const targets = new Map<string, Target>();
  try {
    for (const [name, t] of Object.entries(spec.targets)) {
      if (opts.only && !opts.only.has(name)) continue;
      targets.set(name, await openTarget(t, { specDir: spec.dir, resolveSecret }));
    }
  } catch (err) {
    await Promise.allSettled([...targets.values()].map((t) => t.close()));
    throw err;
  }
  const opening = opts.mode === "apply" && passphrase !== undefined ? new Map([...targets].map(([name, t]) => [name, openEarly(t, passphrase)])) : undefined;
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
