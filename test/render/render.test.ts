import { describe, expect, it } from "vitest";
import { plan } from "../../src/plan/plan.js";
import { renderPlanText } from "../../src/render/text.js";
import { renderPlanMarkdown } from "../../src/render/markdown.js";
import { renderPlanJson } from "../../src/render/json.js";
import { renderPrometheus, renderStatusTable } from "../../src/render/status.js";
import { daily, observed, series, snap, spec } from "../plan/fixtures.js";

const NOW = new Date("2024-03-10T02:00:05Z");
const SPEC = spec([
  series("openwebui/webui.db@s3", "daily", { daily: 2 }, "weekly"),
  series("openwebui/uploads@s3", "daily", { daily: 7 }),
  series("openwebui/webui.db@nas", "weekly", { weekly: 3 }),
]);
const OBSERVED = observed(
  { s3: [...daily("openwebui/webui.db@s3", "2024-03-09", 3), snap("old/chat.db@s3", "2024-01-01T00:00:00Z", { id: "orphan01" })], nas: { error: "mount missing" } },
  { "openwebui/uploads": 5 * 1024 * 1024 },
);
const PLAN = plan(SPEC, OBSERVED, NOW);

describe("text", () => {
  it("groups by target, with Terraform-like signs, warnings and the summary", () => {
    expect(renderPlanText(PLAN)).toBe(`Target nas
  + snapshot openwebui/webui.db@nas  (target could not be listed (see the warning below): copying anyway, nothing will be pruned)

Target s3
  + snapshot openwebui/uploads@s3   (missing)  ~5.0 MiB
  + snapshot openwebui/webui.db@s3  (due: newest copy is 1d old, every daily)
  - prune    openwebui/webui.db@s3  a6b2ef0b 2024-03-07 02:00  (retention: not kept by daily 2)  [only if the new snapshot succeeds]
  - prune    openwebui/webui.db@s3  e137653c 2024-03-08 02:00  (retention: not kept by daily 2)  [only if the new snapshot succeeds]
  ~ verify   openwebui/webui.db@s3  latest  (verify due: never verified, every weekly)

Warning: target nas is unreachable (mount missing): its copies could not be checked and nothing will be pruned there
Warning: 1 orphaned copy of old/chat.db@s3: no series in the spec claims it; kept (pass --prune-orphans to remove it)

Plan: 3 to snapshot, 2 to prune, 1 to verify.
`);
  });

  it("says so when nothing is to be done", () => {
    const quiet = plan(spec([series("openwebui/webui.db@s3", "daily", { daily: 7 })]), observed({ s3: daily("openwebui/webui.db@s3", "2024-03-10", 1) }), NOW);
    expect(renderPlanText(quiet)).toBe("No changes. Every copy is current.\n");
  });

  it("uses colour only when asked", () => {
    expect(renderPlanText(PLAN)).not.toContain("\u001b[");
    const coloured = renderPlanText(PLAN, { color: true });
    expect(coloured).toContain("\u001b[32m+ snapshot openwebui/uploads@s3 \u001b[0m");
    expect(coloured).toContain("\u001b[31m- prune    openwebui/webui.db@s3\u001b[0m");
    expect(coloured).toContain("\u001b[33m~ verify   openwebui/webui.db@s3\u001b[0m");
    expect(coloured.replace(new RegExp(String.fromCharCode(27) + "\\[\\d+m", "g"), "")).toBe(renderPlanText(PLAN));
  });
});

describe("markdown", () => {
  it("renders a table per target, warnings, and folded details", () => {
    expect(renderPlanMarkdown(PLAN)).toBe(`### backplan plan

**Plan: 3 to snapshot, 2 to prune, 1 to verify.**

Computed at 2024-03-10T02:00:05.000Z from \`backup.yaml\` (dddddddddddd).

#### Target \`nas\`

| | action | series | snapshot | reason |
|---|---|---|---|---|
| \`+\` | snapshot | \`openwebui/webui.db@nas\` | new | target could not be listed (see the warning below): copying anyway, nothing will be pruned |

#### Target \`s3\`

| | action | series | snapshot | reason |
|---|---|---|---|---|
| \`+\` | snapshot | \`openwebui/uploads@s3\` | new, ~5.0 MiB | missing |
| \`+\` | snapshot | \`openwebui/webui.db@s3\` | new | due: newest copy is 1d old, every daily |
| \`-\` | prune | \`openwebui/webui.db@s3\` | \`a6b2ef0b\` 2024-03-07 02:00 | retention: not kept by daily 2 (only if the new snapshot succeeds) |
| \`-\` | prune | \`openwebui/webui.db@s3\` | \`e137653c\` 2024-03-08 02:00 | retention: not kept by daily 2 (only if the new snapshot succeeds) |
| \`~\` | verify | \`openwebui/webui.db@s3\` | \`latest\` | verify due: never verified, every weekly |

> **Warning:** target nas is unreachable (mount missing): its copies could not be checked and nothing will be pruned there
>
> **Warning:** 1 orphaned copy of old/chat.db@s3: no series in the spec claims it; kept (pass --prune-orphans to remove it)

<details><summary>Series status</summary>

| series | state | newest | copies |
|---|---|---|---|
| \`openwebui/webui.db@s3\` | DUE | 2024-03-09 02:00 | 3 |
| \`openwebui/uploads@s3\` | MISSING | — | 0 |
| \`openwebui/webui.db@nas\` | UNKNOWN | — | 0 |

</details>

<details><summary>1 kept snapshot</summary>

| series | snapshot | time | kept by |
|---|---|---|---|
| \`openwebui/webui.db@s3\` | \`0e5c988c\` | 2024-03-09 02:00 | daily snapshot |

</details>
`);
  });

  it("escapes pipes in cells", () => {
    const p = { ...PLAN, actions: [{ ...PLAN.actions[0]!, reason: "a | b" }] };
    expect(renderPlanMarkdown(p)).toContain("a \\| b");
  });
});

describe("json", () => {
  it("is the Plan itself, pretty and stable", () => {
    const text = renderPlanJson(PLAN);
    expect(JSON.parse(text)).toEqual(PLAN);
    expect(text).toBe(renderPlanJson(plan(SPEC, OBSERVED, NOW)));
    expect(text.endsWith("}\n")).toBe(true);
    expect(text).toContain('\n  "formatVersion": 1,\n');
  });
});

describe("status", () => {
  it("renders a table", () => {
    expect(renderStatusTable(PLAN.series)).toBe(`SERIES                  STATE    NEWEST            AGE  EVERY   COPIES  VERIFIED  NEXT DUE
openwebui/webui.db@s3   DUE      2024-03-09 02:00  1d   daily   3       never     2024-03-10 00:00
openwebui/uploads@s3    MISSING  -                 -    daily   0       never     2024-03-10 02:00
openwebui/webui.db@nas  UNKNOWN  -                 -    weekly  0       -         (mount missing)`);
    expect(renderStatusTable([])).toBe("No series: the spec defines no policies.");
  });

  it("renders the Prometheus textfile format", () => {
    expect(renderPrometheus(PLAN.series.slice(0, 1), NOW)).toBe(`# HELP backplan_series_age_seconds Age of the newest copy of the series.
# TYPE backplan_series_age_seconds gauge
backplan_series_age_seconds{series="openwebui/webui.db@s3",app="openwebui",component="webui.db",target="s3"} 86405
# HELP backplan_series_newest_timestamp_seconds Time of the newest copy of the series.
# TYPE backplan_series_newest_timestamp_seconds gauge
backplan_series_newest_timestamp_seconds{series="openwebui/webui.db@s3",app="openwebui",component="webui.db",target="s3"} 1709949600
# HELP backplan_series_copies Copies of the series on its target (0 when the target could not be listed).
# TYPE backplan_series_copies gauge
backplan_series_copies{series="openwebui/webui.db@s3",app="openwebui",component="webui.db",target="s3"} 3
# HELP backplan_series_healthy 1 when the series is OK or DUE, 0 when STALE, MISSING or UNKNOWN.
# TYPE backplan_series_healthy gauge
backplan_series_healthy{series="openwebui/webui.db@s3",app="openwebui",component="webui.db",target="s3"} 1
# HELP backplan_series_state 1 for the current state of the series.
# TYPE backplan_series_state gauge
backplan_series_state{series="openwebui/webui.db@s3",app="openwebui",component="webui.db",target="s3",state="OK"} 0
backplan_series_state{series="openwebui/webui.db@s3",app="openwebui",component="webui.db",target="s3",state="DUE"} 1
backplan_series_state{series="openwebui/webui.db@s3",app="openwebui",component="webui.db",target="s3",state="STALE"} 0
backplan_series_state{series="openwebui/webui.db@s3",app="openwebui",component="webui.db",target="s3",state="MISSING"} 0
backplan_series_state{series="openwebui/webui.db@s3",app="openwebui",component="webui.db",target="s3",state="UNKNOWN"} 0
# HELP backplan_status_timestamp_seconds When this status was computed.
# TYPE backplan_status_timestamp_seconds gauge
backplan_status_timestamp_seconds 1710036005
`);
  });

  it("escapes label values and omits age for series without copies", () => {
    const out = renderPrometheus([{ ...PLAN.series[1]!, address: 'we"ird\\name' }], NOW);
    expect(out).toContain('series="we\\"ird\\\\name"');
    expect(out).not.toContain("backplan_series_age_seconds");
  });
});
