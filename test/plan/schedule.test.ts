import { describe, expect, it } from "vitest";
import { isDue, isStale, nextDue, parseEvery, periodStart, staleAt, type Schedule } from "../../src/plan/schedule.js";

const H = 3_600_000;
const D = 24 * H;
const at = (iso: string) => new Date(iso);

/** Deterministic PRNG (mulberry32): jitter that is random-looking yet reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Simulate `apply` started at each of `runs`: when due, a copy is made whose recorded time is the
 * run's start plus a delay of up to `recordDelayS` seconds. Returns the copies' times.
 */
function simulate(schedule: Schedule, runs: Date[], recordDelayS: number, seed = 1): Date[] {
  const rand = rng(seed);
  const copies: Date[] = [];
  for (const now of runs) {
    if (isDue(schedule, copies.at(-1), now)) copies.push(new Date(now.getTime() + Math.floor(rand() * recordDelayS * 1000)));
  }
  return copies;
}

/** One run a day at 02:00:00 plus 0–`jitterS` seconds of scheduler jitter, for `days` days. */
function dailyRuns(days: number, jitterS: number, seed = 7, start = "2024-01-01T02:00:00Z"): Date[] {
  const rand = rng(seed);
  return Array.from({ length: days }, (_, i) => new Date(at(start).getTime() + i * D + Math.floor(rand() * jitterS * 1000)));
}

function hourlyRuns(days: number, jitterS: number, seed = 11): Date[] {
  const rand = rng(seed);
  return Array.from({ length: days * 24 }, (_, i) => new Date(at("2024-01-01T00:00:00Z").getTime() + i * H + Math.floor(rand() * jitterS * 1000)));
}

function countBy(times: Date[], key: (t: Date) => string): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of times) m.set(key(t), (m.get(key(t)) ?? 0) + 1);
  return m;
}
const dayKey = (t: Date) => t.toISOString().slice(0, 10);
const weekKey = (t: Date) => periodStart("week", t).toISOString();

describe("parseEvery", () => {
  it("accepts calendar words, intervals and 5-field cron", () => {
    expect(parseEvery("daily")).toEqual({ kind: "calendar", text: "daily", unit: "day" });
    expect(parseEvery("Weekly")).toMatchObject({ kind: "calendar", unit: "week" });
    expect(parseEvery("hourly")).toMatchObject({ unit: "hour" });
    expect(parseEvery("monthly")).toMatchObject({ unit: "month" });
    expect(parseEvery("6h")).toEqual({ kind: "interval", text: "6h", ms: 6 * H });
    expect(parseEvery("2d")).toMatchObject({ ms: 2 * D });
    expect(parseEvery("1w")).toMatchObject({ ms: 7 * D });
    expect(parseEvery("30m")).toMatchObject({ ms: 30 * 60_000 });
    expect(parseEvery("1h30m")).toMatchObject({ ms: 90 * 60_000 });
    expect(parseEvery("0 2 * * *")).toEqual({ kind: "cron", text: "0 2 * * *", expression: "0 2 * * *" });
    expect(parseEvery(" 15 3 * * 1-5 ")).toMatchObject({ kind: "cron", expression: "15 3 * * 1-5" });
  });

  it("rejects nonsense with a message that says what is wrong", () => {
    expect(() => parseEvery("")).toThrow(/empty schedule/);
    expect(() => parseEvery("fortnightly")).toThrow(/invalid schedule "fortnightly".*hourly, daily/);
    expect(() => parseEvery("1y")).toThrow(/unknown unit "y".*monthly/);
    expect(() => parseEvery("1m")).toThrow(/shorter than 5 minutes.*minutes/);
    expect(() => parseEvery("1h1h")).toThrow(/given twice/);
    expect(() => parseEvery("61 * * * *")).toThrow(/invalid cron expression "61 \* \* \* \*"/);
    expect(() => parseEvery("0 2 * * * *")).toThrow(/seconds is not supported/);
    expect(() => parseEvery("* * *")).toThrow(/5-field cron/);
  });
});

describe("periodStart", () => {
  it("uses UTC and ISO weeks (Monday)", () => {
    expect(periodStart("week", at("2024-01-07T23:59:59Z")).toISOString()).toBe("2024-01-01T00:00:00.000Z"); // Sunday
    expect(periodStart("week", at("2024-01-08T00:00:00Z")).toISOString()).toBe("2024-01-08T00:00:00.000Z"); // Monday
    expect(periodStart("month", at("2024-02-29T12:00:00Z")).toISOString()).toBe("2024-02-01T00:00:00.000Z");
    expect(periodStart("hour", at("2024-02-29T12:34:56Z")).toISOString()).toBe("2024-02-29T12:00:00.000Z");
  });
});

describe("due rule", () => {
  it("is always due without a copy", () => {
    for (const s of ["daily", "6h", "0 2 * * *"]) expect(isDue(parseEvery(s), undefined, at("2024-01-01T00:00:00Z"))).toBe(true);
  });

  it("calendar: due when the newest copy is in an earlier period", () => {
    const daily = parseEvery("daily");
    const newest = at("2024-01-01T02:00:07Z");
    expect(isDue(daily, newest, at("2024-01-01T23:59:59Z"))).toBe(false);
    expect(isDue(daily, newest, at("2024-01-02T00:00:00Z"))).toBe(true);
    expect(isDue(daily, newest, at("2024-01-02T02:00:03Z"))).toBe(true);
    expect(nextDue(daily, newest, at("2024-01-01T05:00:00Z")).toISOString()).toBe("2024-01-02T00:00:00.000Z");
    // A copy from the future (clock skew) is not "earlier": nothing is due.
    expect(isDue(daily, at("2024-01-03T00:00:00Z"), at("2024-01-02T12:00:00Z"))).toBe(false);
  });

  it("interval: due at the interval minus min(10%, 30m)", () => {
    const six = parseEvery("6h");
    const newest = at("2024-01-01T00:00:00Z");
    expect(nextDue(six, newest, newest).toISOString()).toBe("2024-01-01T05:30:00.000Z");
    expect(isDue(six, newest, at("2024-01-01T05:29:59Z"))).toBe(false);
    expect(isDue(six, newest, at("2024-01-01T05:59:58Z"))).toBe(true);
    expect(nextDue(parseEvery("30m"), newest, newest).toISOString()).toBe("2024-01-01T00:27:00.000Z");
  });

  it("cron: due when a fire time lies in (newest, now]", () => {
    const cron = parseEvery("0 2 * * *");
    const newest = at("2024-01-01T02:00:07Z");
    expect(isDue(cron, newest, at("2024-01-02T01:59:59Z"))).toBe(false);
    expect(isDue(cron, newest, at("2024-01-02T02:00:00Z"))).toBe(true);
    // A copy stamped exactly at the fire time covers that fire.
    expect(isDue(cron, at("2024-01-02T02:00:00Z"), at("2024-01-02T02:00:30Z"))).toBe(false);
  });
});

describe("jitter: one copy per period, never a skipped one", () => {
  const cases: [string, number][] = [
    ["daily", 60],
    ["0 2 * * *", 60],
    ["1d", 60],
  ];
  for (const [every, recordDelay] of cases) {
    it(`every ${every}: cron at 02:00 + 0–59 s over 60 days, copy recorded up to ${recordDelay} s later → exactly one a day`, () => {
      for (const seed of [1, 2, 3, 4, 5]) {
        const copies = simulate(parseEvery(every), dailyRuns(60, 59, seed * 13), recordDelay, seed);
        const perDay = countBy(copies, dayKey);
        expect(perDay.size).toBe(60);
        expect([...perDay.values()].every((n) => n === 1)).toBe(true);
      }
    });
  }

  it("the exact failure mode: yesterday's copy at 02:00:09, today's run at 02:00:01", () => {
    for (const every of ["daily", "0 2 * * *", "1d", "24h"]) {
      expect(isDue(parseEvery(every), at("2024-01-01T02:00:09Z"), at("2024-01-02T02:00:01Z"))).toBe(true);
    }
  });

  for (const every of ["daily", "0 2 * * *", "1d"]) {
    it(`every ${every} with apply run every hour (± jitter) for 60 days → exactly one a day`, () => {
      // The first run (00:00, no copy yet) makes the missing copy at once; cron then also fires at 02:00 that day.
      const all = simulate(parseEvery(every), hourlyRuns(60, 50), 30);
      const copies = every.includes(" ") ? all.slice(1) : all;
      const perDay = countBy(copies, dayKey);
      expect(perDay.size).toBe(60);
      expect([...perDay.values()].every((n) => n === 1)).toBe(true);
      if (every.includes(" ")) expect(copies.every((c) => c.getUTCHours() === 2)).toBe(true);
    });
  }

  it("weekly with apply run daily at 02:00 + jitter for 60 days → exactly one per ISO week", () => {
    // 2024-01-01 is a Monday: 60 days span weeks 1..9 (the 9th partially).
    for (const seed of [1, 2, 3]) {
      const copies = simulate(parseEvery("weekly"), dailyRuns(60, 59, seed), 45, seed);
      const perWeek = countBy(copies, weekKey);
      expect(perWeek.size).toBe(9);
      expect([...perWeek.values()].every((n) => n === 1)).toBe(true);
      // Each on the first run of the week (Monday), never a day later.
      expect(copies.every((c) => c.getUTCDay() === 1)).toBe(true);
    }
  });

  it("weekly starting mid-week still copies once per week, on Mondays after the first", () => {
    const copies = simulate(parseEvery("weekly"), dailyRuns(60, 59, 5, "2024-01-04T02:00:00Z"), 30);
    const perWeek = countBy(copies, weekKey);
    expect([...perWeek.values()].every((n) => n === 1)).toBe(true);
    expect(copies.slice(1).every((c) => c.getUTCDay() === 1)).toBe(true);
  });

  it("1w interval with daily runs → one copy every 7 days", () => {
    const copies = simulate(parseEvery("1w"), dailyRuns(60, 59, 9), 30);
    const gaps = copies.slice(1).map((c, i) => Math.round((c.getTime() - copies[i]!.getTime()) / D));
    expect(gaps.every((g) => g === 7)).toBe(true);
  });

  it("6h interval with hourly runs → four copies a day, no drift", () => {
    const copies = simulate(parseEvery("6h"), hourlyRuns(10, 50), 20);
    expect([...countBy(copies, dayKey).values()].every((n) => n === 4)).toBe(true);
  });

  it("monthly with daily runs → one per calendar month, on the 1st", () => {
    const copies = simulate(parseEvery("monthly"), dailyRuns(120, 59, 3), 30);
    expect(copies.map((c) => c.toISOString().slice(0, 10))).toEqual(["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"]);
  });
});

describe("stale", () => {
  it("daily: stale after one day plus 3h of grace", () => {
    const daily = parseEvery("daily");
    const newest = at("2024-01-01T02:00:00Z");
    expect(staleAt(daily, newest).toISOString()).toBe("2024-01-02T05:00:00.000Z");
    expect(isStale(daily, newest, at("2024-01-02T05:00:00Z"))).toBe(false);
    expect(isStale(daily, newest, at("2024-01-02T05:00:01Z"))).toBe(true);
  });

  it("hourly: grace is half a period", () => {
    expect(staleAt(parseEvery("hourly"), at("2024-01-01T02:00:00Z")).toISOString()).toBe("2024-01-01T03:30:00.000Z");
  });

  it("cron: counted from the first fire after the newest copy", () => {
    expect(staleAt(parseEvery("0 2 * * *"), at("2024-01-01T02:00:07Z")).toISOString()).toBe("2024-01-02T05:00:00.000Z");
    // Weekdays only: Friday's copy is not stale over the weekend.
    const weekdays = parseEvery("0 2 * * 1-5");
    expect(isStale(weekdays, at("2024-01-05T02:00:05Z"), at("2024-01-07T12:00:00Z"))).toBe(false);
    expect(isStale(weekdays, at("2024-01-05T02:00:05Z"), at("2024-01-08T05:00:01Z"))).toBe(true);
  });

  it("no copy is stale", () => {
    expect(isStale(parseEvery("daily"), undefined, at("2024-01-01T00:00:00Z"))).toBe(true);
  });
});
