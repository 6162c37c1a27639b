/**
 * restic's `forget` policy, reproduced rule for rule (internal/restic/snapshot_policy.go, 0.17+),
 * so that anyone who knows restic can predict what backplan keeps. Times are bucketed in UTC.
 *
 * - Snapshots are sorted newest first (stable: identical times keep input order) and walked once.
 * - Each count rule (`last`, `hourly` … `yearly`) keeps a snapshot when its period differs from
 *   the previous kept one's period for that rule, so it keeps the newest snapshot of each of the
 *   N newest periods that *have* snapshots. Every matching rule is charged, even when another rule
 *   already keeps the snapshot. -1 = unlimited.
 * - When the walk reaches the oldest snapshot and a rule still has count left, the oldest is kept
 *   too; if its period was already used the reason is "oldest <rule> snapshot".
 * - `within` keeps everything strictly newer than (latest − duration), `within<Unit>` keeps one per
 *   period inside that window; latest = newest snapshot not in the future (relative to `now`), and
 *   the subtraction is in calendar units (see subtractDuration).
 * - An empty policy keeps nothing. (The planner, not this function, protects the newest copy.)
 */
import type { KeepPolicy } from "../spec/types.js";
import { formatDuration, parseDuration, subtractDuration } from "./duration.js";

export interface RetentionSnapshot {
  id: string;
  time: string | Date;
}

export interface RetentionResult<S extends RetentionSnapshot> {
  /** Newest first, each with every rule that keeps it (restic's wording). */
  keep: { snapshot: S; reasons: string[] }[];
  /** Newest first. */
  remove: { snapshot: S }[];
}

type Bucker = (t: Date, nr: number) => number;

const always: Bucker = (_t, nr) => nr;
const y: Bucker = (t) => t.getUTCFullYear();
const ym: Bucker = (t) => y(t, 0) * 100 + t.getUTCMonth() + 1;
const ymd: Bucker = (t) => ym(t, 0) * 100 + t.getUTCDate();
const ymdh: Bucker = (t) => ymd(t, 0) * 100 + t.getUTCHours();
const yw: Bucker = (t) => {
  const [year, week] = isoWeek(t);
  return year * 100 + week;
};

/** ISO-8601 week-numbering year and week of `t` (UTC), as Go's time.ISOWeek. */
export function isoWeek(t: Date): [number, number] {
  const d = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate()));
  const dow = (d.getUTCDay() + 6) % 7; // Monday = 0
  d.setUTCDate(d.getUTCDate() - dow + 3); // the Thursday of this week decides the year
  const year = d.getUTCFullYear();
  // Week 1's Thursday falls on 1–7 January, and each later week's is 7 days on.
  const week = 1 + Math.floor((d.getTime() - Date.UTC(year, 0, 1)) / 604_800_000);
  return [year, week];
}

/** Go's zero time.Time: restic's "latest" when every snapshot is in the future. */
const GO_ZERO_TIME = new Date("0001-01-01T00:00:00Z");

export function applyRetention<S extends RetentionSnapshot>(snapshots: readonly S[], policy: KeepPolicy, now: Date = new Date()): RetentionResult<S> {
  const list = snapshots
    .map((snapshot, index) => ({ snapshot, index, time: toDate(snapshot.time, snapshot.id) }))
    .sort((a, b) => b.time.getTime() - a.time.getTime() || a.index - b.index);
  const result: RetentionResult<S> = { keep: [], remove: [] };
  if (list.length === 0) return result;

  const counts = [
    { count: policy.last ?? 0, bucker: always, last: -1, reason: "last snapshot" },
    { count: policy.hourly ?? 0, bucker: ymdh, last: -1, reason: "hourly snapshot" },
    { count: policy.daily ?? 0, bucker: ymd, last: -1, reason: "daily snapshot" },
    { count: policy.weekly ?? 0, bucker: yw, last: -1, reason: "weekly snapshot" },
    { count: policy.monthly ?? 0, bucker: ym, last: -1, reason: "monthly snapshot" },
    { count: policy.yearly ?? 0, bucker: y, last: -1, reason: "yearly snapshot" },
  ];
  const withinRules: [string | undefined, Bucker, string][] = [
    [policy.withinHourly, ymdh, "hourly within"],
    [policy.withinDaily, ymd, "daily within"],
    [policy.withinWeekly, yw, "weekly within"],
    [policy.withinMonthly, ym, "monthly within"],
    [policy.withinYearly, y, "yearly within"],
  ];
  const withins = withinRules.flatMap(([text, bucker, reason]) => (text ? [{ duration: parseDuration(text), bucker, reason, last: -1 }] : []));
  const within = policy.within ? parseDuration(policy.within) : undefined;

  let latest = GO_ZERO_TIME;
  for (const { time } of list) if (time > latest && time < now) latest = time;

  const lastNr = list.length - 1;
  list.forEach((cur, nr) => {
    const reasons: string[] = [];
    if (within && cur.time > subtractDuration(latest, within)) reasons.push(`within ${formatDuration(within)}`);

    for (const b of counts) {
      if (b.count > 0 || b.count === -1) {
        const val = b.bucker(cur.time, nr);
        if (val !== b.last || nr === lastNr) {
          reasons.push(val === b.last ? `oldest ${b.reason}` : b.reason);
          b.last = val;
          if (b.count > 0) b.count--;
        }
      }
    }

    for (const b of withins) {
      if (cur.time > subtractDuration(latest, b.duration)) {
        const val = b.bucker(cur.time, nr);
        if (val !== b.last || nr === lastNr) {
          reasons.push(`${val === b.last ? "oldest " : ""}${b.reason} ${formatDuration(b.duration)}`);
          b.last = val;
        }
      }
    }

    if (reasons.length > 0) result.keep.push({ snapshot: cur.snapshot, reasons });
    else result.remove.push({ snapshot: cur.snapshot });
  });
  return result;
}

function toDate(time: string | Date, id: string): Date {
  const d = time instanceof Date ? time : new Date(time);
  if (Number.isNaN(d.getTime())) throw new Error(`snapshot ${id} has an invalid time "${String(time)}"`);
  return d;
}
