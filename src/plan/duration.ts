/**
 * restic-style calendar durations ("1y2m3d4h") as used by `keep.within*`, plus age formatting.
 * Calendar units matter: "1m" back from 31 March is 3 March (as Go's AddDate normalises), not
 * "30 days", so retention windows match restic exactly. All arithmetic is UTC.
 */

export interface Duration {
  years: number;
  months: number;
  days: number;
  hours: number;
}

const UNITS: Record<string, keyof Duration | "weeks"> = { y: "years", m: "months", w: "weeks", d: "days", h: "hours" };

/**
 * Parse "1y2m3d4h", "30d", "12h", "2w" (weeks become 7 days). In these durations "m" is
 * months, as in restic. Each unit may appear once; the value must not be empty or all zero.
 */
export function parseDuration(text: string): Duration {
  const src = text.trim();
  if (src === "") throw new Error('empty duration: expected something like "7d", "2w", "6m" or "1y2m3d4h"');
  const d: Duration = { years: 0, months: 0, days: 0, hours: 0 };
  const seen = new Set<string>();
  const re = /(\d+)([a-zA-Z]?)/y;
  let pos = 0;
  while (pos < src.length) {
    re.lastIndex = pos;
    const m = re.exec(src);
    if (!m) {
      throw new Error(`invalid duration "${text}": expected a number at "${src.slice(pos)}" (units y, m, w, d, h; e.g. "1y2m3d4h")`);
    }
    const [, digits, unitRaw] = m as unknown as [string, string, string];
    if (unitRaw === "") throw new Error(`invalid duration "${text}": no unit after ${digits} (use y, m, w, d or h)`);
    const unit = UNITS[unitRaw];
    if (!unit) {
      throw new Error(`invalid duration "${text}": unknown unit "${unitRaw}" (use y=years, m=months, w=weeks, d=days, h=hours)`);
    }
    if (seen.has(unitRaw)) throw new Error(`invalid duration "${text}": unit "${unitRaw}" given twice`);
    seen.add(unitRaw);
    const n = Number(digits);
    if (unit === "weeks") d.days += 7 * n;
    else d[unit] += n;
    pos = re.lastIndex;
  }
  if (d.years === 0 && d.months === 0 && d.days === 0 && d.hours === 0) {
    throw new Error(`invalid duration "${text}": it is zero`);
  }
  return d;
}

/** restic's spelling of a duration ("1y2m3d4h"), used in reasons such as "within 2d". */
export function formatDuration(d: Duration): string {
  let s = "";
  if (d.years) s += `${d.years}y`;
  if (d.months) s += `${d.months}m`;
  if (d.days) s += `${d.days}d`;
  if (d.hours) s += `${d.hours}h`;
  return s || "0h";
}

/**
 * `date` minus `d` in calendar units (UTC), with the same overflow normalisation as Go's
 * time.AddDate that restic uses: years, months and days together, then hours.
 */
export function subtractDuration(date: Date, d: Duration): Date {
  const shifted = Date.UTC(
    date.getUTCFullYear() - d.years,
    date.getUTCMonth() - d.months,
    date.getUTCDate() - d.days,
    date.getUTCHours(),
    date.getUTCMinutes(),
    date.getUTCSeconds(),
    date.getUTCMilliseconds(),
  );
  // Date.UTC maps years 0–99 to 1900–1999; correct for it (only reachable with absurd inputs).
  const year = date.getUTCFullYear() - d.years;
  const fixed = year >= 0 && year < 100 ? new Date(shifted).setUTCFullYear(new Date(shifted).getUTCFullYear() - 1900) : shifted;
  return new Date(fixed - d.hours * 3_600_000);
}

/** Compact human age: "45s", "45m", "1d 3h", "9d", "3h 5m". Two units at most. */
export function formatAge(ms: number): string {
  const neg = ms < 0;
  let s = Math.floor(Math.abs(ms) / 1000);
  const days = Math.floor(s / 86_400);
  s -= days * 86_400;
  const hours = Math.floor(s / 3600);
  s -= hours * 3600;
  const minutes = Math.floor(s / 60);
  const seconds = s - minutes * 60;
  let out: string;
  if (days > 0) out = hours > 0 ? `${days}d ${hours}h` : `${days}d`;
  else if (hours > 0) out = minutes > 0 ? `${hours}h ${minutes}m` : `${hours}h`;
  else if (minutes > 0) out = `${minutes}m`;
  else out = `${seconds}s`;
  return neg ? `-${out}` : out;
}
