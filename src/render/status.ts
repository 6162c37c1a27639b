/** `backplan status`: a plain table, and the Prometheus textfile-collector format. Pure. */
import type { SeriesStatus } from "../plan/types.js";
import { formatAge } from "../plan/duration.js";
import { shortTime } from "./format.js";

export function renderStatusTable(statuses: readonly SeriesStatus[]): string {
  if (statuses.length === 0) return "No series: the spec defines no policies.";
  const header = ["SERIES", "STATE", "NEWEST", "AGE", "EVERY", "COPIES", "VERIFIED", "NEXT DUE"];
  const rows = statuses.map((s) => [
    s.address,
    s.state,
    s.newest ? shortTime(s.newest) : "-",
    s.ageMs !== undefined ? formatAge(s.ageMs) : "-",
    s.every,
    String(s.copies),
    s.lastVerified ? shortTime(s.lastVerified) : s.state === "UNKNOWN" ? "-" : "never",
    s.state === "UNKNOWN" ? `(${s.error ?? "target unreachable"})` : s.nextDue ? shortTime(s.nextDue) : "-",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ");
  return [fmt(header), ...rows.map(fmt)].join("\n");
}

const STATES = ["OK", "DUE", "STALE", "MISSING", "UNKNOWN"] as const;

/** node_exporter textfile format. Series are labelled by address plus its parts, for grouping. */
export function renderPrometheus(statuses: readonly SeriesStatus[], now: Date): string {
  const out: string[] = [];
  const metric = (name: string, help: string, samples: [string, number][]) => {
    if (samples.length === 0) return;
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const [labels, v] of samples) out.push(`${name}{${labels}} ${v}`);
  };
  const labels = (s: SeriesStatus, extra = "") =>
    `series="${esc(s.address)}",app="${esc(s.instance)}",component="${esc(s.component)}",target="${esc(s.target)}"${extra}`;

  metric("backplan_series_age_seconds", "Age of the newest copy of the series.", statuses.filter((s) => s.ageMs !== undefined).map((s) => [labels(s), Math.round(s.ageMs! / 1000)]));
  metric("backplan_series_newest_timestamp_seconds", "Time of the newest copy of the series.", statuses.filter((s) => s.newest).map((s) => [labels(s), Math.floor(Date.parse(s.newest!) / 1000)]));
  metric("backplan_series_copies", "Copies of the series on its target (0 when the target could not be listed).", statuses.map((s) => [labels(s), s.copies]));
  metric("backplan_series_healthy", "1 when the series is OK or DUE, 0 when STALE, MISSING or UNKNOWN.", statuses.map((s) => [labels(s), s.state === "OK" || s.state === "DUE" ? 1 : 0]));
  metric("backplan_series_state", "1 for the current state of the series.", statuses.flatMap((s) => STATES.map((st): [string, number] => [labels(s, `,state="${st}"`), s.state === st ? 1 : 0])));
  metric("backplan_series_last_verified_timestamp_seconds", "Time of the newest successful restore test of the series.", statuses.filter((s) => s.lastVerified).map((s) => [labels(s), Math.floor(Date.parse(s.lastVerified!) / 1000)]));
  out.push("# HELP backplan_status_timestamp_seconds When this status was computed.", "# TYPE backplan_status_timestamp_seconds gauge", `backplan_status_timestamp_seconds ${Math.floor(now.getTime() / 1000)}`);
  return out.join("\n") + "\n";
}

function esc(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}
