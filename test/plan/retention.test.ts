import { describe, expect, it } from "vitest";
import { applyRetention } from "../../src/plan/retention.js";
import type { KeepPolicy } from "../../src/spec/types.js";
import { resticFixture } from "./restic-fixture.js";

const NOW = new Date("2030-01-01T00:00:00Z");

/** Kept snapshots as "time: reasons" lines, newest first: easy to compare with restic's output. */
function kept(snaps: { id: string; time: string }[], policy: KeepPolicy, now = NOW): string[] {
  return applyRetention(snaps, policy, now).keep.map((k) => `${String(k.snapshot.time).slice(0, 19)} ${k.reasons.join(", ")}`);
}

describe("restic's documented example: one backup every Sunday for 12 weeks", () => {
  const sundays = [
    ["0a1f9759", "2019-09-01"], ["46cfe4d5", "2019-09-08"], ["f6b1f037", "2019-09-15"], ["eb430a5d", "2019-09-22"],
    ["8cf1cb9a", "2019-09-29"], ["5d33b116", "2019-10-06"], ["b9553125", "2019-10-13"], ["e1a7b58b", "2019-10-20"],
    ["8f8018c0", "2019-10-27"], ["59403279", "2019-11-03"], ["dfee9fb4", "2019-11-10"], ["e1ae2f40", "2019-11-17"],
  ].map(([id, day]) => ({ id: id!, time: `${day}T11:00:00Z` }));

  it("--keep-daily 4 keeps the last four Sundays as daily snapshots and removes the other 8", () => {
    const r = applyRetention(sundays, { daily: 4 }, NOW);
    expect(r.keep.map((k) => [k.snapshot.id, k.reasons])).toEqual([
      ["e1ae2f40", ["daily snapshot"]],
      ["dfee9fb4", ["daily snapshot"]],
      ["59403279", ["daily snapshot"]],
      ["8f8018c0", ["daily snapshot"]],
    ]);
    expect(r.remove.map((x) => x.snapshot.id)).toEqual(["e1a7b58b", "b9553125", "5d33b116", "8cf1cb9a", "eb430a5d", "f6b1f037", "46cfe4d5", "0a1f9759"]);
  });

  it("a count larger than the history keeps everything, the oldest marked as such only when its period was used", () => {
    const r = applyRetention(sundays, { daily: 20 }, NOW);
    expect(r.keep).toHaveLength(12);
    expect(r.keep.at(-1)!.reasons).toEqual(["daily snapshot"]);
  });
});

describe("restic's documented example: a backup every day for 100 years", () => {
  // "--keep-daily 7 --keep-weekly 5 --keep-monthly 12 --keep-yearly 75 would keep the most recent 7 daily
  // snapshots and 4 last-day-of-the-week ones (since the 7 dailies already include 1 weekly). Additionally,
  // 12 or 11 last-day-of-the-month snapshots … And finally 75 or 74 last-day-of-the-year snapshots."
  // Ending on Sunday 29 December 2024, so the 7 dailies are exactly one ISO week, as the docs assume.
  const end = Date.UTC(2024, 11, 29, 3);
  const days = Array.from({ length: 36_525 }, (_, i) => ({ id: `d${i}`, time: new Date(end - (36_524 - i) * 86_400_000).toISOString() }));

  it("keeps 7 daily, 4 more weekly, 11–12 more monthly and 74–75 more yearly", () => {
    const r = applyRetention(days, { daily: 7, weekly: 5, monthly: 12, yearly: 75 }, NOW);
    const only = (reason: string) => r.keep.filter((k) => k.reasons[0] === reason).length;
    expect(only("daily snapshot")).toBe(7);
    expect(only("weekly snapshot")).toBe(4);
    // December's monthly and 2024's yearly are already taken by the newest daily: 11 and 74.
    expect(only("monthly snapshot")).toBe(11);
    expect(only("yearly snapshot")).toBe(74);
    expect(r.keep).toHaveLength(7 + 4 + 11 + 74);
    expect(r.keep.length + r.remove.length).toBe(days.length);
    // Every rule's count is used up well before the oldest: nothing "oldest".
    expect(r.keep.flatMap((k) => k.reasons).some((x) => x.startsWith("oldest"))).toBe(false);
  });
});

describe("restic's TestApplyPolicy fixture and golden files", () => {
  const snaps = resticFixture();

  it("{Daily: 3, Weekly: 4} (golden policy_keep_snapshots_13)", () => {
    expect(kept(snaps, { daily: 3, weekly: 4 })).toEqual([
      "2016-01-18T12:02:03 daily snapshot, weekly snapshot",
      "2016-01-12T21:08:03 daily snapshot, weekly snapshot",
      "2016-01-09T21:02:03 daily snapshot, weekly snapshot",
      "2016-01-03T07:02:03 weekly snapshot",
    ]);
  });

  it("{Daily: 7, Weekly: 2, Monthly: 3, Yearly: 10} (golden 17, plus 0.17's oldest rule)", () => {
    expect(kept(snaps, { daily: 7, weekly: 2, monthly: 3, yearly: 10 })).toEqual([
      "2016-01-18T12:02:03 daily snapshot, weekly snapshot, monthly snapshot, yearly snapshot",
      "2016-01-12T21:08:03 daily snapshot, weekly snapshot",
      "2016-01-09T21:02:03 daily snapshot",
      "2016-01-08T20:02:03 daily snapshot",
      "2016-01-07T10:02:03 daily snapshot",
      "2016-01-06T08:02:03 daily snapshot",
      "2016-01-05T09:02:03 daily snapshot",
      "2015-11-22T10:20:30 monthly snapshot, yearly snapshot",
      "2015-10-22T10:20:30 monthly snapshot",
      "2014-11-22T10:20:30 yearly snapshot",
      // restic ≥ 0.17: the yearly rule still had 7 to spare when the walk reached the oldest snapshot.
      "2014-08-08T10:20:30 oldest yearly snapshot",
    ]);
  });

  it("{Yearly: 10}: one per year that has snapshots, and the oldest", () => {
    expect(kept(snaps, { yearly: 10 })).toEqual([
      "2016-01-18T12:02:03 yearly snapshot",
      "2015-11-22T10:20:30 yearly snapshot",
      "2014-11-22T10:20:30 yearly snapshot",
      "2014-08-08T10:20:30 oldest yearly snapshot",
    ]);
  });

  it("{Last: 10} keeps exactly the ten newest", () => {
    const r = kept(snaps, { last: 10 });
    expect(r).toHaveLength(10);
    expect(r.every((l) => l.endsWith(" last snapshot"))).toBe(true);
    expect(r[9]).toBe("2016-01-04T12:30:03 last snapshot");
  });

  it("{Last: 200} keeps all; the oldest's own 'last' period is new, so no 'oldest' mark", () => {
    const r = kept(snaps, { last: 200 });
    expect(r).toHaveLength(snaps.length);
    expect(r.at(-1)).toBe("2014-08-08T10:20:30 last snapshot");
  });

  it("{Hourly: 20} counts hours that have snapshots", () => {
    const r = kept(snaps, { hourly: 20 });
    expect(r).toHaveLength(20);
    // 12:23, 12:24, 12:28, 12:30 on 2016-01-04 share one hour: only 12:30 is kept.
    expect(r).toContain("2016-01-04T12:30:03 hourly snapshot");
    expect(r.some((l) => l.startsWith("2016-01-04T12:2"))).toBe(false);
  });

  it("within 1d / 2d / 7d count back from the newest snapshot, excluding the edge", () => {
    expect(kept(snaps, { within: "1d" })).toEqual(["2016-01-18T12:02:03 within 1d"]);
    expect(kept(snaps, { within: "7d" })).toEqual(["2016-01-18T12:02:03 within 7d", "2016-01-12T21:08:03 within 7d", "2016-01-12T21:02:03 within 7d"]);
    const edge = [
      { id: "new", time: "2024-05-10T00:00:00Z" },
      { id: "edge", time: "2024-05-08T00:00:00Z" },
      { id: "inside", time: "2024-05-08T00:00:01Z" },
    ];
    expect(applyRetention(edge, { within: "2d" }, NOW).keep.map((k) => k.snapshot.id)).toEqual(["new", "inside"]);
  });

  it("within 1m counts a calendar month back (18 Dec 12:02:03 is excluded from 18 Jan)", () => {
    const r = kept(snaps, { within: "1m" });
    expect(r.at(-1)).toBe("2016-01-01T01:02:03 within 1m");
    expect(r).toHaveLength(19);
  });

  it("within-daily / within-weekly keep one per period inside the window", () => {
    expect(kept(snaps, { withinDaily: "7d" })).toEqual([
      "2016-01-18T12:02:03 daily within 7d",
      "2016-01-12T21:08:03 daily within 7d",
    ]);
    expect(kept(snaps, { withinWeekly: "1m" })).toEqual([
      "2016-01-18T12:02:03 weekly within 1m",
      "2016-01-12T21:08:03 weekly within 1m",
      "2016-01-09T21:02:03 weekly within 1m",
      "2016-01-03T07:02:03 weekly within 1m",
    ]);
  });
});

describe("restic rules in detail", () => {
  const t = (id: string, time: string) => ({ id, time });

  it("a snapshot kept by one rule still uses up every other rule it matches", () => {
    const snaps = [t("mon", "2024-01-01T10:00:00Z"), t("tue", "2024-01-02T10:00:00Z"), t("wed", "2024-01-03T10:00:00Z")];
    // last 1 takes "wed"; daily 1 is also used by "wed" (not by "tue").
    expect(applyRetention(snaps, { last: 1, daily: 1 }, NOW).keep.map((k) => [k.snapshot.id, k.reasons])).toEqual([["wed", ["last snapshot", "daily snapshot"]]]);
  });

  it("weeks are ISO weeks: Sunday and the following Monday are different weeks", () => {
    const snaps = [t("sun", "2024-01-07T23:00:00Z"), t("mon", "2024-01-08T01:00:00Z"), t("sat", "2024-01-06T12:00:00Z")];
    expect(applyRetention(snaps, { weekly: 2 }, NOW).keep.map((k) => k.snapshot.id)).toEqual(["mon", "sun"]);
    // Week 53 of 2020 spans the new year.
    const ny = [t("jan3", "2021-01-03T12:00:00Z"), t("dec31", "2020-12-31T12:00:00Z"), t("dec27", "2020-12-27T12:00:00Z")];
    expect(applyRetention(ny, { weekly: 2 }, NOW).keep.map((k) => k.snapshot.id)).toEqual(["jan3", "dec27"]);
  });

  it("the oldest snapshot is kept when a rule has count left, marked 'oldest' if its period was used", () => {
    const snaps = [t("a", "2024-01-03T10:00:00Z"), t("b", "2024-01-02T18:00:00Z"), t("c", "2024-01-02T09:00:00Z")];
    expect(applyRetention(snaps, { daily: 5 }, NOW).keep.map((k) => [k.snapshot.id, k.reasons])).toEqual([
      ["a", ["daily snapshot"]],
      ["b", ["daily snapshot"]],
      ["c", ["oldest daily snapshot"]],
    ]);
    // With the count used up, the oldest goes.
    expect(applyRetention(snaps, { daily: 2 }, NOW).remove.map((r) => r.snapshot.id)).toEqual(["c"]);
  });

  it("identical times keep input order (stable sort), and the first of them wins a period", () => {
    const snaps = [t("x", "2024-01-02T10:00:00Z"), t("y", "2024-01-02T10:00:00Z"), t("z", "2024-01-01T10:00:00Z")];
    const r = applyRetention(snaps, { daily: 1 }, NOW);
    expect(r.keep.map((k) => k.snapshot.id)).toEqual(["x"]);
    expect(r.remove.map((k) => k.snapshot.id)).toEqual(["y", "z"]);
  });

  it("-1 is unlimited", () => {
    const snaps = Array.from({ length: 40 }, (_, i) => t(`d${i}`, new Date(Date.UTC(2024, 0, 1 + i, 2)).toISOString()));
    expect(applyRetention(snaps, { daily: -1 }, NOW).keep).toHaveLength(40);
    expect(applyRetention(snaps, { monthly: -1 }, NOW).keep.map((k) => k.reasons)).toEqual([["monthly snapshot"], ["monthly snapshot"], ["oldest monthly snapshot"]]);
  });

  it("an empty policy keeps nothing", () => {
    const snaps = [t("a", "2024-01-03T10:00:00Z")];
    expect(applyRetention(snaps, {}, NOW)).toEqual({ keep: [], remove: [{ snapshot: snaps[0] }] });
    expect(applyRetention([], { daily: 3 }, NOW)).toEqual({ keep: [], remove: [] });
  });

  it("within windows ignore snapshots in the future when finding the newest (and keep those)", () => {
    const now = new Date("2024-01-10T00:00:00Z");
    const snaps = [t("future", "2024-06-01T00:00:00Z"), t("recent", "2024-01-09T00:00:00Z"), t("old", "2024-01-05T00:00:00Z")];
    expect(applyRetention(snaps, { within: "2d" }, now).keep.map((k) => k.snapshot.id)).toEqual(["future", "recent"]);
  });

  it("accepts Date times and reports invalid ones", () => {
    expect(applyRetention([{ id: "a", time: new Date("2024-01-01T00:00:00Z") }], { last: 1 }, NOW).keep).toHaveLength(1);
    expect(() => applyRetention([{ id: "bad", time: "yesterday" }], { last: 1 }, NOW)).toThrow(/snapshot bad has an invalid time/);
    expect(() => applyRetention([{ id: "a", time: "2024-01-01T00:00:00Z" }], { within: "3q" }, NOW)).toThrow(/unknown unit "q"/);
  });
});

describe("against the real restic binary (recorded from restic 0.14.0)", async () => {
  const { readFileSync } = await import("node:fs");
  const oracle = JSON.parse(readFileSync(new URL("./fixtures/restic-0.14-forget.json", import.meta.url), "utf8")) as {
    snapshots: string[];
    results: { args: string; keep: [string, string[]][] }[];
  };
  const snaps = oracle.snapshots.map((t, i) => ({ id: `r${i}`, time: t.replace(" ", "T") + "Z" }));
  const FLAGS: Record<string, keyof KeepPolicy> = {
    "--keep-last": "last", "--keep-hourly": "hourly", "--keep-daily": "daily", "--keep-weekly": "weekly",
    "--keep-monthly": "monthly", "--keep-yearly": "yearly", "--keep-within": "within", "--keep-within-hourly": "withinHourly",
    "--keep-within-daily": "withinDaily", "--keep-within-weekly": "withinWeekly", "--keep-within-monthly": "withinMonthly",
    "--keep-within-yearly": "withinYearly",
  };
  for (const { args, keep } of oracle.results) {
    it(`restic forget ${args}`, () => {
      const policy: Record<string, string | number> = {};
      const words = args.split(" ");
      for (let i = 0; i < words.length; i += 2) {
        const key = FLAGS[words[i]!]!;
        policy[key] = key.startsWith("within") ? words[i + 1]! : Number(words[i + 1]);
      }
      const mine = applyRetention(snaps, policy as KeepPolicy, new Date("2024-01-01T00:00:00Z")).keep.map(
        (k) => [new Date(k.snapshot.time).toISOString().replace(".000Z", "Z"), k.reasons] as [string, string[]],
      );
      // restic 0.17 added "keep the oldest when a rule has count left"; 0.14 did not.
      const oldestOnly = mine.filter(([, reasons]) => reasons.every((r) => r.startsWith("oldest ")));
      expect(oldestOnly.every(([time]) => time === "2014-08-08T10:20:30Z")).toBe(true);
      expect(mine.filter((m) => !oldestOnly.includes(m))).toEqual(keep);
    });
  }
});
