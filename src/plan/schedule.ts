/**
 * `every:` / `verify:` schedules and the due rule. Pure: the clock is always a parameter.
 *
 * THE DUE RULE (also in docs/schedules.md). A series with no copy is always due. Otherwise,
 * with `newest` the time of its newest copy:
 *  - calendar (`hourly`, `daily`, `weekly`, `monthly`): due when `newest` lies in an earlier UTC
 *    calendar period than `now` (weeks are ISO weeks, Monday to Sunday). A copy stamped 02:00:07
 *    does not stop the next day's 02:00:03 run, and two runs in one day never both copy.
 *  - interval (`30m`, `6h`, `2d`, `1w`; here `m` is minutes): due when the copy's age is at least
 *    the interval minus a tolerance of min(10% of the interval, 30 minutes), so a run that starts
 *    a few seconds "early" relative to the last copy still counts, while hourly runs of `apply`
 *    never drift a daily interval earlier.
 *  - cron (5 fields, UTC): due when a fire time of the expression lies in (newest, now].
 * Equivalently, a series becomes due at `nextDue(schedule, newest)` and stays due until a copy is made.
 *
 * STALE (monitoring): the newest copy is older than one nominal period plus a grace of
 * min(half a period, 3h) — period = 1h/1d/7d/31d for calendar schedules, the interval for
 * durations, the gap between the first two fire times after `newest` for cron, counted from the
 * first fire time after `newest`. So a daily copy is STALE at 27h, an hourly one at 1h 30m.
 */
import { createRequire } from "node:module";
import type { CronExpressionParser as CronParser } from "cron-parser";

/**
 * Loaded on the first cron expression, synchronously (the planner is a pure, synchronous
 * function): cron-parser and luxon were ~10 ms of every no-change apply that used none.
 */
let cronParser: typeof CronParser | undefined;
const cron = (): typeof CronParser =>
  (cronParser ??= (createRequire(import.meta.url)("cron-parser") as { CronExpressionParser: typeof CronParser }).CronExpressionParser);

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export type CalendarUnit = "hour" | "day" | "week" | "month";

export type Schedule =
  | { kind: "calendar"; text: string; unit: CalendarUnit }
  | { kind: "interval"; text: string; ms: number }
  | { kind: "cron"; text: string; expression: string };

const CALENDAR: Record<string, CalendarUnit> = { hourly: "hour", daily: "day", weekly: "week", monthly: "month" };
const INTERVAL_UNITS: Record<string, number> = { m: MINUTE, h: HOUR, d: DAY, w: 7 * DAY };
const MIN_INTERVAL = 5 * MINUTE;

/** Parse `hourly|daily|weekly|monthly`, an interval such as `6h`, `2d`, `1w`, `30m`, `1h30m`, or a 5-field cron expression. */
export function parseEvery(text: string): Schedule {
  const src = text.trim();
  if (src === "") throw new Error('empty schedule: use hourly, daily, weekly, monthly, an interval like "6h", or a cron expression like "0 2 * * *"');
  const unit = CALENDAR[src.toLowerCase()];
  if (unit) return { kind: "calendar", text: src, unit };
  if (/^(\d+[a-zA-Z])+$/.test(src)) return { kind: "interval", text: src, ms: parseInterval(src) };
  const fields = src.split(/\s+/);
  if (fields.length === 5) {
    try {
      cron().parse(src, { tz: "UTC", strict: false });
    } catch (err) {
      throw new Error(`invalid cron expression "${src}": ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    return { kind: "cron", text: src, expression: src };
  }
  throw new Error(
    `invalid schedule "${src}": use hourly, daily, weekly, monthly, an interval like "6h", "2d", "1w" or "30m", ` +
      `or a 5-field cron expression like "0 2 * * *"` + (fields.length === 6 ? " (cron with seconds is not supported)" : ""),
  );
}

function parseInterval(src: string): number {
  let ms = 0;
  const seen = new Set<string>();
  for (const [, n, u] of src.matchAll(/(\d+)([a-zA-Z])/g) as IterableIterator<[string, string, string]>) {
    const size = INTERVAL_UNITS[u];
    if (size === undefined) {
      const hint = u === "y" || u === "M" ? '; for months or years use "monthly" or a cron expression' : "";
      throw new Error(`invalid interval "${src}": unknown unit "${u}" (use m=minutes, h=hours, d=days, w=weeks${hint})`);
    }
    if (seen.has(u)) throw new Error(`invalid interval "${src}": unit "${u}" given twice`);
    seen.add(u);
    ms += Number(n) * size;
  }
  if (ms < MIN_INTERVAL) {
    throw new Error(`interval "${src}" is shorter than 5 minutes (in schedules "m" means minutes; for months use "monthly")`);
  }
  return ms;
}

/** Start (UTC) of the calendar period containing `t`. Weeks start on Monday (ISO). */
export function periodStart(unit: CalendarUnit, t: Date): Date {
  const y = t.getUTCFullYear();
  const mo = t.getUTCMonth();
  const d = t.getUTCDate();
  switch (unit) {
    case "hour":
      return new Date(Date.UTC(y, mo, d, t.getUTCHours()));
    case "day":
      return new Date(Date.UTC(y, mo, d));
    case "week":
      return new Date(Date.UTC(y, mo, d - ((t.getUTCDay() + 6) % 7)));
    case "month":
      return new Date(Date.UTC(y, mo, 1));
  }
}

/** Start of the period after the one containing `t`. */
function nextPeriodStart(unit: CalendarUnit, t: Date): Date {
  const s = periodStart(unit, t);
  switch (unit) {
    case "hour":
      return new Date(s.getTime() + HOUR);
    case "day":
      return new Date(Date.UTC(s.getUTCFullYear(), s.getUTCMonth(), s.getUTCDate() + 1));
    case "week":
      return new Date(Date.UTC(s.getUTCFullYear(), s.getUTCMonth(), s.getUTCDate() + 7));
    case "month":
      return new Date(Date.UTC(s.getUTCFullYear(), s.getUTCMonth() + 1, 1));
  }
}

const NOMINAL: Record<CalendarUnit, number> = { hour: HOUR, day: DAY, week: 7 * DAY, month: 31 * DAY };

function intervalTolerance(ms: number): number {
  return Math.min(ms / 10, 30 * MINUTE);
}

/** First fire time of a cron expression strictly after `t`. */
function cronNext(expression: string, t: Date): Date {
  return cron().parse(expression, { tz: "UTC", currentDate: t }).next().toDate();
}

/**
 * The moment a series whose newest copy is `newest` becomes due; `now` when there is no copy.
 * isDue(s, newest, now) ⇔ now ≥ nextDue(s, newest, now).
 */
export function nextDue(schedule: Schedule, newest: Date | undefined, now: Date): Date {
  if (!newest) return now;
  switch (schedule.kind) {
    case "calendar":
      return nextPeriodStart(schedule.unit, newest);
    case "interval":
      return new Date(newest.getTime() + schedule.ms - intervalTolerance(schedule.ms));
    case "cron":
      return cronNext(schedule.expression, newest);
  }
}

/** Whether a new copy should be made now. See the due rule at the top of this file. */
export function isDue(schedule: Schedule, newest: Date | undefined, now: Date): boolean {
  return now.getTime() >= nextDue(schedule, newest, now).getTime();
}

/** Nominal length of one period, for ages and staleness. For cron: the gap after `after`'s next fire. */
export function periodMs(schedule: Schedule, after?: Date): number {
  switch (schedule.kind) {
    case "calendar":
      return NOMINAL[schedule.unit];
    case "interval":
      return schedule.ms;
    case "cron": {
      const first = cronNext(schedule.expression, after ?? new Date(0));
      return cronNext(schedule.expression, first).getTime() - first.getTime();
    }
  }
}

/** The moment a copy taken at `newest` counts as STALE (see the rule at the top of this file). */
export function staleAt(schedule: Schedule, newest: Date): Date {
  const period = periodMs(schedule, newest);
  const grace = Math.min(period / 2, 3 * HOUR);
  if (schedule.kind === "cron") return new Date(cronNext(schedule.expression, newest).getTime() + grace);
  return new Date(newest.getTime() + period + grace);
}

export function isStale(schedule: Schedule, newest: Date | undefined, now: Date): boolean {
  if (!newest) return true;
  return now.getTime() > staleAt(schedule, newest).getTime();
}
