/** `backplan status`: every series, its newest copy against `every`: OK / DUE / STALE / MISSING. */
import { writeFile, rename } from "node:fs/promises";
import type { CommandContext } from "../context.js";
import { openWorkspace } from "../../workspace.js";
import { observe } from "../../observe/observe.js";
import { seriesStatus } from "../../plan/status.js";
import { renderStatusTable, renderPrometheus } from "../../render/status.js";
import { EXIT } from "../exit.js";

export async function run(ctx: CommandContext, opts: { json?: boolean; prometheus?: string }): Promise<number> {
  const ws = await openWorkspace(ctx.configPath, { mode: "validate" });
  try {
    const { observed } = await observe(ws.spec, ws.targets, {
      catalog: ws.catalog,
      ...(ws.passphrase !== undefined ? { passphrase: ws.passphrase } : {}),
    });
    const now = ctx.now();
    const statuses = seriesStatus(ws.spec, observed, now);
    if (opts.json) ctx.stdout(JSON.stringify({ at: now.toISOString(), series: statuses, unreachable: Object.values(observed.targets).filter((t) => !t.reachable).map((t) => ({ target: t.name, error: t.error })) }, null, 2) + "\n");
    else ctx.stdout(renderStatusTable(statuses) + "\n");
    if (opts.prometheus) {
      // node_exporter's textfile collector reads the file at any moment: write it atomically.
      const tmp = `${opts.prometheus}.${process.pid}.tmp`;
      await writeFile(tmp, renderPrometheus(statuses, now));
      await rename(tmp, opts.prometheus);
    }
    const unhealthy = statuses.some((s) => s.state === "STALE" || s.state === "MISSING" || s.state === "UNKNOWN");
    return unhealthy ? EXIT.changes : EXIT.ok;
  } finally {
    await ws.close();
  }
}
