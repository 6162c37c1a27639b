/** `backplan restore INSTANCE --to DIR`: recreate the data directory, ready to mount back. */
import path from "node:path";
import type { CommandContext } from "../context.js";
import { openWorkspace } from "../../workspace.js";
import { observe } from "../../observe/observe.js";
import { selectSnapshots } from "../../observe/select.js";
import { restoreSnapshots } from "../../repo/restore.js";
import { formatBytes, formatMs } from "../views/format.js";
import { EXIT } from "../exit.js";
import { UserError } from "../../errors.js";

export interface RestoreOptions {
  to: string;
  component?: string;
  target?: string;
  snapshot?: string;
  force?: boolean;
}

export async function run(ctx: CommandContext, instance: string, opts: RestoreOptions): Promise<number> {
  const ws = await openWorkspace(ctx.configPath, { mode: "validate", ...(opts.target ? { only: new Set([opts.target]) } : {}) });
  try {
    if (!ws.spec.instances[instance]) {
      throw new UserError(`unknown instance "${instance}"`, { hint: `instances in ${path.basename(ws.spec.file)}: ${Object.keys(ws.spec.instances).join(", ")}` });
    }
    if (opts.target && !ws.spec.targets[opts.target]) {
      throw new UserError(`unknown target "${opts.target}"`, { hint: `targets in ${path.basename(ws.spec.file)}: ${Object.keys(ws.spec.targets).join(", ")}` });
    }
    const { repos, summaries } = await observe(ws.spec, ws.targets, {
      catalog: ws.catalog,
      ...(ws.passphrase !== undefined ? { passphrase: ws.passphrase } : {}),
    });
    const chosen = selectSnapshots(summaries, {
      instance,
      ...(opts.component ? { component: opts.component } : {}),
      ...(opts.target ? { target: opts.target } : {}),
      ...(opts.snapshot ? { snapshot: opts.snapshot } : {}),
    });
    const dest = path.resolve(opts.to);
    const t0 = Date.now();
    // Group by target: each repository restores its manifests in one pass into the same folder.
    const byTarget = new Map<string, string[]>();
    for (const c of chosen) byTarget.set(c.target, [...(byTarget.get(c.target) ?? []), c.summary.id]);
    let first = true;
    let files = 0;
    let bytes = 0;
    for (const [target, ids] of byTarget) {
      const repo = repos.get(target)!;
      const manifests = await Promise.all(ids.map((id) => repo.readSnapshot(id)));
      const r = await restoreSnapshots(repo, manifests, dest, { force: Boolean(opts.force) || !first });
      first = false;
      files += r.files;
      bytes += r.bytes;
    }
    for (const c of chosen) ctx.stderr(`restored ${c.summary.instance}/${c.summary.component} from ${c.target} (snapshot ${c.summary.id.slice(0, 8)}, ${c.summary.time})\n`);
    ctx.stdout(`Restored ${files} files, ${formatBytes(bytes)} to ${dest} in ${formatMs(Date.now() - t0)}.\n`);
    return EXIT.ok;
  } finally {
    await ws.close();
  }
}
