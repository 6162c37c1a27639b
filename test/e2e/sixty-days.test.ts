/**
 * Cron fires `apply` at 02:00 (plus a few seconds of jitter) every day for 60 days, with the clock
 * set through BACKPLAN_NOW's in-process equivalent. Daily and weekly series must get exactly one
 * copy per period, and what is left on the targets must be exactly what applyRetention keeps.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openWorkspace, type Workspace } from "../../src/workspace.js";
import { observe } from "../../src/observe/observe.js";
import { plan as makePlan } from "../../src/plan/plan.js";
import { applyPlan } from "../../src/apply/apply.js";
import { applyRetention } from "../../src/plan/retention.js";
import { makeWorkspace, PASS_ENV } from "../helpers/workspace.js";

describe("60 days of hourly-cron applies", () => {
  let dir: Awaited<ReturnType<typeof makeWorkspace>>;
  let ws: Workspace;
  beforeAll(async () => {
    Object.assign(process.env, PASS_ENV);
    dir = await makeWorkspace();
    ws = await openWorkspace(dir.spec, { mode: "apply" });
  });
  afterAll(async () => {
    await ws?.close();
    await dir.cleanup();
  });

  it("makes one copy per period and keeps exactly what retention keeps", { timeout: 240_000 }, async () => {
    const created: Record<string, { id: string; time: string }[]> = {};
    const start = Date.parse("2026-09-01T02:00:00Z");
    let seed = 12345;
    const jitter = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % 40) * 1000; // 0–39 s
    for (let day = 0; day < 60; day++) {
      const now = new Date(start + day * 86_400_000 + jitter());
      const { observed } = await observe(ws.spec, ws.targets, { catalog: ws.catalog, passphrase: ws.passphrase! });
      const p = makePlan(ws.spec, observed, now);
      const snaps = p.actions.filter((a) => a.type === "snapshot");
      // offsite is daily: every day exactly its three components
      expect(snaps.filter((a) => a.target === "offsite").map((a) => a.component).sort(), `day ${day}`).toEqual(["uploads", "vector_db", "webui.db"]);
      // nas is weekly: on the first run and then once per ISO week (Mondays)
      const weekday = now.getUTCDay();
      expect(snaps.filter((a) => a.target === "nas").length, `day ${day} (weekday ${weekday})`).toBe(day === 0 || weekday === 1 ? 3 : 0);
      const result = await applyPlan(p, { spec: ws.spec, targets: ws.targets, catalog: ws.catalog, passphrase: ws.passphrase!, now, emit: () => {} });
      expect(result.failed, `day ${day}`).toEqual([]);
      for (const [address, id] of result.created) (created[address] ??= []).push({ id, time: now.toISOString() });
    }
    const end = new Date(start + 59 * 86_400_000 + 60_000);
    const { observed } = await observe(ws.spec, ws.targets, { catalog: ws.catalog, passphrase: ws.passphrase! });
    for (const series of ws.spec.series) {
      const left = observed.targets[series.target]!.snapshots
        .filter((s) => s.instance === series.instance && s.component === series.component)
        .map((s) => s.id)
        .sort();
      const all = created[series.address]!;
      const expected = applyRetention(all, series.keep, end).keep.map((k) => k.snapshot.id).sort();
      expect(left, series.address).toEqual(expected);
    }
  });
});
