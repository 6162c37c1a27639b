import { describe, expect, it } from "vitest";
import { describeKeep, observedDigest, plan } from "../../src/plan/plan.js";
import { applyRetention } from "../../src/plan/retention.js";
import { seriesStatus, statusExitCode } from "../../src/plan/status.js";
import type { PruneAction } from "../../src/plan/types.js";
import { daily, observed, series, snap, spec } from "./fixtures.js";

const NOW = new Date("2024-03-10T02:00:05Z");
const DB = "openwebui/webui.db@s3";

describe("plan: snapshots", () => {
  it("plans a missing series, with the catalog's estimate", () => {
    const p = plan(spec([series(DB, "daily", { daily: 7 })]), observed({ s3: [] }, { "openwebui/webui.db": 4096 }), NOW);
    expect(p.actions).toEqual([
      { type: "snapshot", address: DB, instance: "openwebui", component: "webui.db", target: "s3", why: "missing", reason: "missing", estimateBytes: 4096 },
    ]);
    expect(p.series[0]).toMatchObject({ state: "MISSING", copies: 0 });
    expect(p.summary).toEqual({ snapshot: 1, prune: 0, verify: 0 });
    expect(p.createdAt).toBe(NOW.toISOString());
    expect(p.formatVersion).toBe(1);
  });

  it("plans nothing when the newest copy is in the current period", () => {
    const p = plan(spec([series(DB, "daily", { daily: 7 })]), observed({ s3: daily(DB, "2024-03-10", 3, "02:00") }), new Date("2024-03-10T20:00:00Z"));
    expect(p.actions).toEqual([]);
    expect(p.series[0]!.state).toBe("OK");
  });

  it("plans a due copy when yesterday's copy was recorded seconds after today's run time", () => {
    const snaps = [snap(DB, "2024-03-09T02:00:09Z", { id: "y" })];
    const p = plan(spec([series(DB, "daily", { daily: 7 })]), observed({ s3: snaps }), NOW);
    expect(p.actions).toHaveLength(1);
    expect(p.actions[0]).toMatchObject({ type: "snapshot", why: "due", reason: "due: newest copy is 23h 59m old, every daily" });
    expect(p.series[0]!.state).toBe("DUE");
  });

  it("calls an overdue copy stale, with its age", () => {
    const snaps = [snap(DB, "2024-03-09T00:00:00Z", { id: "y" })];
    const p = plan(spec([series(DB, "daily", { daily: 7 })]), observed({ s3: snaps }), new Date("2024-03-10T03:30:00Z"));
    expect(p.actions[0]).toMatchObject({ why: "stale", reason: "stale: newest copy is 1d 3h old, every daily" });
    expect(p.series[0]!.state).toBe("STALE");
  });
});

describe("plan: retention and safety", () => {
  it("prunes as if the planned snapshot succeeds, marked afterSnapshot", () => {
    const snaps = daily(DB, "2024-03-09", 10);
    const p = plan(spec([series(DB, "daily", { daily: 7 })]), observed({ s3: snaps }), NOW);
    const prunes = p.actions.filter((a): a is PruneAction => a.type === "prune");
    // With today's copy counted, 6 of the 10 old ones stay: the 4 oldest go.
    expect(prunes.map((a) => a.snapshotTime.slice(0, 10))).toEqual(["2024-02-29", "2024-03-01", "2024-03-02", "2024-03-03"]);
    expect(prunes.every((a) => a.afterSnapshot && a.reason === "retention: not kept by daily 7")).toBe(true);
    expect(p.actions[0]!.type).toBe("snapshot");
    expect(p.kept.map((k) => k.time.slice(0, 10))).toEqual(["2024-03-09", "2024-03-08", "2024-03-07", "2024-03-06", "2024-03-05", "2024-03-04"]);
    expect(p.kept[0]!.reasons).toEqual(["daily snapshot"]);
  });

  it("leaves exactly what applyRetention keeps once the new copy exists", () => {
    const snaps = daily(DB, "2024-03-09", 40);
    const keep = { daily: 7, weekly: 4, monthly: 6 };
    const p = plan(spec([series(DB, "daily", keep)]), observed({ s3: snaps }), NOW);
    const pruned = new Set(p.actions.filter((a): a is PruneAction => a.type === "prune").map((a) => a.snapshotId));
    const after = [...snaps.filter((s) => !pruned.has(s.id)), { id: "new", time: NOW.toISOString() }];
    expect(applyRetention(after, keep, NOW).remove).toEqual([]);
    expect(p.actions.find((a) => a.type === "prune")!.reason).toBe("retention: not kept by daily 7, weekly 4, monthly 6");
  });

  it("prunes without a snapshot when none is due (not afterSnapshot)", () => {
    const snaps = daily(DB, "2024-03-10", 5);
    const p = plan(spec([series(DB, "daily", { last: 2 })]), observed({ s3: snaps }), new Date("2024-03-10T12:00:00Z"));
    expect(p.actions.map((a) => a.type)).toEqual(["prune", "prune", "prune"]);
    expect(p.actions.every((a) => a.type === "prune" && !a.afterSnapshot)).toBe(true);
  });

  it("never prunes the newest copy, even with an empty policy or last 1 before the new copy exists", () => {
    const snaps = daily(DB, "2024-03-09", 3);
    for (const keep of [{}, { last: 1 }]) {
      const p = plan(spec([series(DB, "daily", keep)]), observed({ s3: snaps }), NOW);
      const pruned = p.actions.filter((a): a is PruneAction => a.type === "prune").map((a) => a.snapshotTime.slice(0, 10));
      expect(pruned).toEqual(["2024-03-07", "2024-03-08"]);
      expect(p.kept).toContainEqual(expect.objectContaining({ time: snaps[2]!.time, reasons: ["newest copy (never pruned)"] }));
    }
    expect(describeKeep({})).toBe("an empty keep policy");
  });

  it("never prunes a copy from the future (clock skew) nor the newest", () => {
    const snaps = [snap(DB, "2024-03-01T00:00:00Z", { id: "old" }), snap(DB, "2024-04-01T00:00:00Z", { id: "future" })];
    const p = plan(spec([series(DB, "daily", { last: 1 })]), observed({ s3: snaps }), NOW);
    expect(p.actions.filter((a) => a.type === "prune").map((a) => (a as PruneAction).snapshotId)).toEqual(["old"]);
    expect(p.actions.some((a) => a.type === "snapshot")).toBe(false);
  });
});

describe("plan: unreachable targets and orphans", () => {
  it("plans only a snapshot on an unreachable target, never a prune or verify", () => {
    const sp = spec([series(DB, "daily", { daily: 1 }, "weekly"), series("openwebui/webui.db@nas", "daily", { daily: 1 })]);
    const p = plan(sp, observed({ s3: { error: "connect ECONNREFUSED" }, nas: daily("openwebui/webui.db@nas", "2024-03-10", 1) }), NOW);
    expect(p.actions).toEqual([
      expect.objectContaining({ type: "snapshot", target: "s3", why: "due", reason: "target could not be listed (see the warning below): copying anyway, nothing will be pruned" }),
    ]);
    expect(p.unreachable).toEqual([{ target: "s3", error: "connect ECONNREFUSED" }]);
    expect(p.series.map((s) => s.state)).toEqual(["UNKNOWN", "OK"]);
  });

  it("reports copies no series claims as orphans, and prunes them only when asked", () => {
    const snaps = [...daily(DB, "2024-03-10", 1), snap("old/chat.db@s3", "2024-01-01T00:00:00Z", { id: "o1" }), snap("old/chat.db@s3", "2024-01-02T00:00:00Z", { id: "o2" })];
    const sp = spec([series(DB, "daily", { daily: 7 })]);
    const keep = plan(sp, observed({ s3: snaps }), NOW);
    expect(keep.orphans).toEqual([{ target: "s3", instance: "old", component: "chat.db", count: 2 }]);
    expect(keep.actions).toEqual([]);
    const prune = plan(sp, observed({ s3: snaps }), NOW, { pruneOrphans: true });
    expect(prune.actions).toEqual([
      expect.objectContaining({ type: "prune", address: "old/chat.db@s3", snapshotId: "o1", orphan: true, afterSnapshot: false, reason: "orphan: no series of backup.yaml claims old/chat.db@s3" }),
      expect.objectContaining({ type: "prune", snapshotId: "o2", orphan: true }),
    ]);
  });
});

describe("plan: verify", () => {
  it("verifies the new copy ('latest') when none was ever verified", () => {
    const p = plan(spec([series(DB, "daily", { daily: 7 }, "weekly")]), observed({ s3: [] }), NOW);
    expect(p.actions.map((a) => a.type)).toEqual(["snapshot", "verify"]);
    expect(p.actions[1]).toMatchObject({ snapshotId: "latest", reason: "verify due: never verified, every weekly" });
  });

  it("verifies the newest copy when the last verification is in an earlier week", () => {
    const snaps = [snap(DB, "2024-03-01T02:00:00Z", { id: "a", verifiedAt: "2024-03-01T02:10:00Z" }), snap(DB, "2024-03-10T01:00:00Z", { id: "b" })];
    const p = plan(spec([series(DB, "daily", { daily: 7 }, "weekly")]), observed({ s3: snaps }), NOW);
    expect(p.actions).toEqual([expect.objectContaining({ type: "verify", snapshotId: "b", reason: "verify due: last verified 8d 23h ago, every weekly" })]);
    expect(p.series[0]!.lastVerified).toBe("2024-03-01T02:10:00Z");
  });

  it("does not verify again within the same week", () => {
    const snaps = [snap(DB, "2024-03-10T01:00:00Z", { id: "b", verifiedAt: "2024-03-04T02:00:00Z" })];
    expect(plan(spec([series(DB, "daily", { daily: 7 }, "weekly")]), observed({ s3: snaps }), NOW).actions).toEqual([]);
  });
});

describe("plan: determinism", () => {
  it("orders actions by target, address, then snapshot < prune < verify", () => {
    const sp = spec([
      series("openwebui/vector_db@s3", "daily", { daily: 1 }, "daily"),
      series("openwebui/uploads@b2", "daily", { daily: 1 }),
      series(DB, "daily", { daily: 1 }),
    ]);
    const obs = observed({ s3: [...daily("openwebui/vector_db@s3", "2024-03-09", 2), ...daily(DB, "2024-03-09", 2)], b2: [] });
    const p = plan(sp, obs, NOW);
    expect(p.actions.map((a) => `${a.target} ${a.address} ${a.type}`)).toEqual([
      "b2 openwebui/uploads@b2 snapshot",
      "s3 openwebui/vector_db@s3 snapshot",
      "s3 openwebui/vector_db@s3 prune",
      "s3 openwebui/vector_db@s3 verify",
      "s3 openwebui/webui.db@s3 snapshot",
      "s3 openwebui/webui.db@s3 prune",
    ]);
    // Same inputs, shuffled listing order → the same plan.
    const shuffled = observed({ s3: [...obs.targets.s3!.snapshots].reverse(), b2: [] });
    expect(JSON.stringify(plan(sp, shuffled, NOW))).toBe(JSON.stringify(p));
  });

  it("observedDigest depends on snapshot ids and reachability only", () => {
    const a = observed({ s3: [snap(DB, "2024-03-01T00:00:00Z", { id: "x" }), snap(DB, "2024-03-02T00:00:00Z", { id: "y" })], nas: [] });
    const b = observed({ nas: [], s3: [snap(DB, "2024-03-02T00:00:00Z", { id: "y", bytes: 9 }), snap(DB, "2024-03-01T00:00:00Z", { id: "x" })] });
    expect(observedDigest(a)).toBe(observedDigest(b));
    expect(observedDigest(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(observedDigest(observed({ s3: [snap(DB, "2024-03-01T00:00:00Z", { id: "x" })], nas: [] }))).not.toBe(observedDigest(a));
    expect(observedDigest(observed({ s3: a.targets.s3!.snapshots, nas: { error: "down" } }))).not.toBe(observedDigest(a));
    expect(plan(spec([]), a, NOW).observedDigest).toBe(observedDigest(a));
  });
});

describe("status", () => {
  it("reports each series and the exit code monitoring relies on", () => {
    const sp = spec([series(DB, "daily", { daily: 7 }), series("openwebui/uploads@s3", "daily", { daily: 7 }), series("openwebui/webui.db@nas", "weekly", { weekly: 3 })]);
    const obs = observed({ s3: daily(DB, "2024-03-10", 2), nas: { error: "mount missing" } });
    const st = seriesStatus(sp, obs, NOW);
    expect(st.map((s) => s.state)).toEqual(["OK", "MISSING", "UNKNOWN"]);
    expect(st[0]).toMatchObject({ newest: "2024-03-10T02:00:00.000Z", ageMs: 5000, copies: 2, every: "daily", nextDue: "2024-03-11T00:00:00.000Z" });
    expect(st[2]).toMatchObject({ error: "mount missing", copies: 0 });
    expect(statusExitCode(st)).toBe(2);
    expect(statusExitCode(st.slice(0, 1))).toBe(0);
    expect(statusExitCode([{ ...st[0]!, state: "DUE" }])).toBe(0);
    expect(statusExitCode([{ ...st[0]!, state: "STALE" }])).toBe(2);
  });
});
