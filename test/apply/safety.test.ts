/**
 * apply's own safety rules, driven with hand-made plans (a saved plan may have been edited, or
 * made by another version): it never removes the last copy of a series, and never prunes a
 * series whose new snapshot failed in the same apply.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rm } from "node:fs/promises";
import path from "node:path";
import { openWorkspace, type Workspace } from "../../src/workspace.js";
import { observe } from "../../src/observe/observe.js";
import { plan as makePlan } from "../../src/plan/plan.js";
import { applyPlan } from "../../src/apply/apply.js";
import type { Plan, PruneAction } from "../../src/plan/types.js";
import { makeWorkspace, PASS_ENV } from "../helpers/workspace.js";

describe("apply safety", () => {
  let dir: Awaited<ReturnType<typeof makeWorkspace>>;
  let ws: Workspace;
  const now = new Date("2026-11-22T02:00:00Z");
  beforeAll(async () => {
    Object.assign(process.env, PASS_ENV);
    dir = await makeWorkspace();
    ws = await openWorkspace(dir.spec, { mode: "apply" });
    const { observed } = await observe(ws.spec, ws.targets, { catalog: ws.catalog, passphrase: ws.passphrase! });
    const r = await applyPlan(makePlan(ws.spec, observed, now), { spec: ws.spec, targets: ws.targets, catalog: ws.catalog, passphrase: ws.passphrase!, now, emit: () => {} });
    expect(r.failed).toEqual([]);
  });
  afterAll(async () => {
    await ws.close();
    await dir.cleanup();
  });

  async function onlySnapshot(address: string) {
    const { observed } = await observe(ws.spec, ws.targets, { catalog: ws.catalog, passphrase: ws.passphrase! });
    const [instComp, target] = address.split("@") as [string, string];
    const [instance, component] = instComp.split("/") as [string, string];
    const snaps = observed.targets[target]!.snapshots.filter((s) => s.instance === instance && s.component === component);
    expect(snaps).toHaveLength(1);
    return { observed, snap: snaps[0]!, instance, component, target };
  }

  it("refuses to prune the last copy of a series, even when a plan says so", async () => {
    const { observed, snap, instance, component, target } = await onlySnapshot("openwebui/webui.db@offsite");
    const prune: PruneAction = { type: "prune", address: "openwebui/webui.db@offsite", instance, component, target, reason: "hand-made", snapshotId: snap.id, snapshotTime: snap.time, afterSnapshot: false };
    const plan: Plan = { ...makePlan(ws.spec, observed, now), actions: [prune] };
    const r = await applyPlan(plan, { spec: ws.spec, targets: ws.targets, catalog: ws.catalog, passphrase: ws.passphrase!, now, emit: () => {} });
    expect(r.done).toEqual([]);
    expect(r.skipped.map((s) => s.why)).toEqual(["it would remove the last copy of this series"]);
    await onlySnapshot("openwebui/webui.db@offsite");
  });

  it("does not prune a series whose new snapshot failed", async () => {
    const { observed, snap, instance, component, target } = await onlySnapshot("openwebui/uploads@offsite");
    const later = new Date("2026-11-23T02:00:00Z");
    const base = makePlan(ws.spec, observed, later);
    const prune: PruneAction = { type: "prune", address: "openwebui/uploads@offsite", instance, component, target, reason: "hand-made", snapshotId: snap.id, snapshotTime: snap.time, afterSnapshot: true };
    const snapshot = base.actions.find((a) => a.type === "snapshot" && a.address === "openwebui/uploads@offsite")!;
    // The data directory's uploads vanish: the capture fails, so the prune must not run.
    await rm(path.join(dir.dir, "data", "uploads"), { recursive: true, force: true });
    const r = await applyPlan({ ...base, actions: [snapshot, prune] }, { spec: ws.spec, targets: ws.targets, catalog: ws.catalog, passphrase: ws.passphrase!, now: later, emit: () => {} });
    expect(r.failed.map((f) => f.action.type)).toEqual(["snapshot"]);
    expect(r.failed[0]!.error).toMatch(/uploads/);
    expect(r.skipped.map((s) => s.why)).toEqual(["the new snapshot of this series did not succeed"]);
    await onlySnapshot("openwebui/uploads@offsite");
  });
});
