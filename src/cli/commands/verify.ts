/** `backplan verify`: restore tests. Every hash and every SQLite integrity_check, per series. */
import type { CommandContext } from "../context.js";
import { openWorkspace } from "../../workspace.js";
import { observe } from "../../observe/observe.js";
import { selectSnapshots } from "../../observe/select.js";
import { verifySnapshot } from "../../repo/verify.js";
import { formatBytes, formatMs } from "../views/format.js";
import { EXIT } from "../exit.js";
import { errorMessage } from "../../errors.js";

export interface VerifyOptions {
  target?: string;
  snapshot?: string;
  component?: string;
  json?: boolean;
}

export async function run(ctx: CommandContext, instance: string | undefined, opts: VerifyOptions): Promise<number> {
  const ws = await openWorkspace(ctx.configPath, { mode: "validate", ...(opts.target ? { only: new Set([opts.target]) } : {}) });
  try {
    const { repos, summaries } = await observe(ws.spec, ws.targets, {
      catalog: ws.catalog,
      ...(ws.passphrase !== undefined ? { passphrase: ws.passphrase } : {}),
    });
    // Without --target, every target is tested: each copy is its own promise to keep.
    const targets = opts.target ? [opts.target] : [...summaries.keys()];
    const reports: { address: string; snapshot: string; ok: boolean; files: number; bytes: number; problems: string[]; ms: number }[] = [];
    for (const target of targets) {
      let chosen;
      try {
        chosen = selectSnapshots(new Map([[target, summaries.get(target) ?? []]]), {
          ...(instance ? { instance } : {}),
          ...(opts.component ? { component: opts.component } : {}),
          ...(opts.snapshot ? { snapshot: opts.snapshot } : {}),
        });
      } catch {
        continue; // nothing on this target
      }
      for (const c of chosen) {
        const address = `${c.summary.instance}/${c.summary.component}@${target}`;
        const t0 = Date.now();
        try {
          const repo = repos.get(target)!;
          const rec = await verifySnapshot(repo, await repo.readSnapshot(c.summary.id));
          reports.push({ address, snapshot: c.summary.id, ok: rec.ok, files: rec.files, bytes: rec.bytes, problems: rec.problems, ms: Date.now() - t0 });
        } catch (err) {
          reports.push({ address, snapshot: c.summary.id, ok: false, files: 0, bytes: 0, problems: [errorMessage(err)], ms: Date.now() - t0 });
        }
      }
    }
    if (opts.json) ctx.stdout(JSON.stringify({ results: reports }, null, 2) + "\n");
    else {
      for (const r of reports) {
        ctx.stdout(`${r.ok ? "OK    " : "FAILED"} ${r.address} snapshot ${r.snapshot.slice(0, 8)}: ${r.files} files, ${formatBytes(r.bytes)} in ${formatMs(r.ms)}\n`);
        for (const p of r.problems) ctx.stdout(`       ${p}\n`);
      }
      if (reports.length === 0) ctx.stdout("Nothing to verify: no snapshots match.\n");
    }
    if (reports.length === 0) return EXIT.error;
    return reports.every((r) => r.ok) ? EXIT.ok : EXIT.error;
  } finally {
    await ws.close();
  }
}
