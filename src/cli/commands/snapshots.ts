/** `backplan snapshots`: the copies on every target, per instance and component. */
import type { CommandContext } from "../context.js";
import { openWorkspace } from "../../workspace.js";
import { observe } from "../../observe/observe.js";
import { formatBytes } from "../views/format.js";
import { EXIT } from "../exit.js";

export async function run(ctx: CommandContext, opts: { json?: boolean; target?: string }): Promise<number> {
  const ws = await openWorkspace(ctx.configPath, { mode: "validate", ...(opts.target ? { only: new Set([opts.target]) } : {}) });
  try {
    const { observed, summaries } = await observe(ws.spec, ws.targets, {
      catalog: ws.catalog,
      ...(ws.passphrase !== undefined ? { passphrase: ws.passphrase } : {}),
    });
    const rows = [...summaries.entries()].flatMap(([target, list]) =>
      list.map((s) => ({ target, ...s })).sort((a, b) => (a.instance + a.component + a.time).localeCompare(b.instance + b.component + b.time)),
    );
    if (opts.json) {
      ctx.stdout(JSON.stringify({ snapshots: rows, unreachable: Object.values(observed.targets).filter((t) => !t.reachable).map((t) => ({ target: t.name, error: t.error })) }, null, 2) + "\n");
      return EXIT.ok;
    }
    for (const t of Object.values(observed.targets)) {
      if (!t.reachable) ctx.stderr(`warning: target ${t.name} could not be listed: ${t.error}\n`);
    }
    if (rows.length === 0) {
      ctx.stdout("No snapshots yet. Run `backplan plan`, then `backplan apply`.\n");
      return EXIT.ok;
    }
    const header = ["ID", "TIME", "TARGET", "INSTANCE/COMPONENT", "FILES", "SIZE", "WRITTEN"];
    const table = rows.map((r) => [r.id.slice(0, 8), r.time.replace(/\.\d+Z$/, "Z"), r.target, `${r.instance}/${r.component}`, String(r.stats.files), formatBytes(r.stats.bytes), formatBytes(r.stats.bytesWritten)]);
    ctx.stdout(formatTable([header, ...table]));
    ctx.stdout(`${rows.length} snapshot${rows.length === 1 ? "" : "s"}\n`);
    return EXIT.ok;
  } finally {
    await ws.close();
  }
}

export function formatTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n") + "\n";
}
