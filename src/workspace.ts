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

export interface Workspace {
  spec: Spec;
  warnings: SpecProblem[];
  catalog: Catalog;
  targets: Map<string, Target>;
  passphrase?: string;
  close(): Promise<void>;
}

export async function openWorkspace(
  configPath: string,
  opts: { mode: "validate" | "apply"; only?: Set<string>; memoryCatalog?: boolean },
): Promise<Workspace> {
  const { spec, warnings } = await loadSpec(configPath, { mode: opts.mode });
  const passphrase = spec.encryption ? resolveSecret(spec.encryption.passphrase) : undefined;
  // `plan` must have no side effects at all, so read-only commands may use a throwaway catalog.
  const catalog = opts.memoryCatalog ? await Catalog.memory() : await Catalog.open(path.dirname(spec.file));
  const targets = new Map<string, Target>();
  try {
    for (const [name, t] of Object.entries(spec.targets)) {
      if (opts.only && !opts.only.has(name)) continue;
      targets.set(name, await openTarget(t, { specDir: spec.dir, resolveSecret }));
    }
  } catch (err) {
    await Promise.allSettled([...targets.values()].map((t) => t.close()));
    catalog.close();
    throw err;
  }
  return {
    spec,
    warnings,
    catalog,
    targets,
    ...(passphrase !== undefined ? { passphrase } : {}),
    async close() {
      await Promise.allSettled([...targets.values()].map((t) => t.close()));
      catalog.close();
    },
  };
}
