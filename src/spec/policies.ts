/**
 * Policies: names they refer to, schedules (src/plan/schedule.ts), retention (restic rule names,
 * durations by src/plan/duration.ts), then the series they expand to and what is wrong with those
 * (defined twice, cold without compose, nothing selected, components copied nowhere).
 */
import { errorMessage } from "../errors.js";
import { parseDuration } from "../plan/duration.js";
import { parseEvery } from "../plan/schedule.js";
import { KEEP_FIELDS } from "./fields.js";
import { didYouMean, quoteList, type Segment } from "./names.js";
import type { RawKeep } from "./raw.js";
import { isRecord, strings, type Report } from "./report.js";
import { duplicateSeries, listSeries } from "./series.js";
import type { Instance, KeepPolicy, Policy, Series, TargetSpec } from "./types.js";

const SCHEDULE_WORDS = ["hourly", "daily", "weekly", "monthly"];

export function checkPolicies(
  r: Report,
  raw: unknown,
  instances: Record<string, Instance>,
  targets: Record<string, TargetSpec>,
  exists: (absPath: string) => boolean,
): { policies: Policy[]; series: Series[] } {
  const policies: Policy[] = [];
  let allSound = true;
  const sound = new Set<number>();
  (Array.isArray(raw) ? raw : []).forEach((p: unknown, index) => {
    const before = r.issues.filter((i) => i.severity === "error").length;
    const policy = isRecord(p) ? checkPolicy(r, p, index, instances, targets) : undefined;
    if (policy) policies.push(policy);
    if (policy && r.issues.filter((i) => i.severity === "error").length === before) sound.add(index);
    else allSound = false;
  });

  const series = listSeries(instances, policies);
  reportDuplicates(r, series);
  for (const p of policies) {
    if (sound.has(p.index) && !series.some((s) => s.policyIndex === p.index)) {
      r.warn(["policies", p.index], "selects no enabled component, so it backs up nothing", "check its instances: and components:, and the components' enabled:");
    }
  }
  for (const s of series) {
    if (s.consistency !== "cold" || instances[s.instance]?.compose) continue;
    const fromPolicy = policies.find((p) => p.index === s.policyIndex)?.consistency === "cold";
    const where: Segment[] = fromPolicy ? ["policies", s.policyIndex, "consistency"] : ["instances", s.instance, "components", s.component, "consistency"];
    if (r.has(where)) continue;
    r.error(where, `a cold capture of ${s.instance} needs its compose service, to stop and start it`, `add compose: { file: docker-compose.yml, service: ... } to instance "${s.instance}", or use consistency: hot`);
  }
  for (const inst of Object.values(instances)) {
    if (inst.compose && !exists(inst.compose.file) && series.some((s) => s.instance === inst.name && s.consistency === "cold")) {
      r.missing(["instances", inst.name, "compose", "file"], `compose file ${inst.compose.file} does not exist`, "cold captures stop and start the service through it: fix the path");
    }
    const uncovered = Object.values(inst.components).filter((c) => c.enabled && !series.some((s) => s.instance === inst.name && s.component === c.name));
    // Only when every policy is sound: a broken policy is the likelier reason for the gap.
    if (uncovered.length > 0 && policies.length > 0 && allSound) {
      const names = uncovered.map((c) => `${inst.name}/${c.name}`).join(", ");
      r.warn(["instances", inst.name], `${names} ${uncovered.length === 1 ? "is" : "are"} not copied to any target`, "add a policy, or set enabled: false on the component");
    }
  }
  return { policies, series };
}

/** The normalised policy, or undefined when its schedule or retention is unusable. */
function checkPolicy(r: Report, p: Record<string, unknown>, index: number, instances: Record<string, Instance>, targets: Record<string, TargetSpec>): Policy | undefined {
  const at: Segment[] = ["policies", index];
  let targetNames: [string, Segment[]][] = [];
  if ("target" in p && "targets" in p) r.error([...at, "targets"], "give target or targets, not both", undefined, true);
  else if (typeof p.target === "string") targetNames = [[p.target, [...at, "target"]]];
  else if (strings(p.targets)) targetNames = strings(p.targets)!.map((t, k) => [t, [...at, "targets", k]]);
  else if (!("target" in p) && !("targets" in p)) {
    const defined = Object.keys(targets);
    r.error(at, "names no target", `add target: NAME${defined.length ? ` (defined: ${defined.join(", ")})` : ""}`);
  }
  for (const [t, where] of targetNames) if (!(t in targets)) r.error(where, `unknown target "${t}"`, unknownHint(t, Object.keys(targets), "targets"));

  const selInstances = strings(p.instances) ?? [];
  selInstances.forEach((n, k) => {
    if (!(n in instances)) r.error([...at, "instances", k], `unknown instance "${n}"`, unknownHint(n, Object.keys(instances), "instances"));
  });
  const scope = (selInstances.length ? selInstances : Object.keys(instances)).map((n) => instances[n]).filter((i): i is Instance => !!i);
  const selComponents = strings(p.components) ?? [];
  selComponents.forEach((c, k) => {
    const found = scope.map((i) => i.components[c]).filter((x) => x !== undefined);
    if (found.length === 0) {
      const known = [...new Set(scope.flatMap((i) => Object.keys(i.components)))];
      r.error([...at, "components", k], `unknown component "${c}"`, unknownHint(c, known, "components"));
    } else if (found.every((x) => !x.enabled)) {
      r.warn([...at, "components", k], `component "${c}" is disabled, so this policy does not back it up`, "set enabled: true on it under the instance's components");
    }
  });

  const every = typeof p.every === "string" ? checkSchedule(r, p.every, [...at, "every"]) : undefined;
  const verify = typeof p.verify === "string" ? checkSchedule(r, p.verify, [...at, "verify"]) : undefined;
  const keep = isRecord(p.keep) ? checkKeep(r, p.keep as RawKeep, [...at, "keep"]) : undefined;
  if (!every || !keep || verify === false) return undefined;
  return {
    index,
    targets: targetNames.map(([t]) => t).filter((t) => t in targets),
    instances: selInstances,
    components: selComponents,
    every,
    keep,
    ...(verify ? { verify } : {}),
    ...(p.consistency === "hot" || p.consistency === "cold" ? { consistency: p.consistency } : {}),
  };
}

function checkSchedule(r: Report, text: string, at: Segment[]): string | false {
  try {
    parseEvery(text);
    return text;
  } catch (err) {
    const guess = didYouMean(text, SCHEDULE_WORDS);
    r.error(at, errorMessage(err), guess ? `did you mean "${guess}"?` : undefined);
    return false;
  }
}

/** restic's kebab-case rules → KeepPolicy; refuses a retention that keeps nothing. */
function checkKeep(r: Report, k: RawKeep, at: Segment[]): KeepPolicy | undefined {
  const keep: Record<string, string | number> = {};
  let valid = true;
  for (const [yamlKey, field] of Object.entries(KEEP_FIELDS) as [keyof RawKeep, keyof KeepPolicy][]) {
    const v = k[yamlKey];
    if (v === undefined) continue;
    if (field.startsWith("within") && typeof v === "string") {
      try {
        parseDuration(v);
        keep[field] = v;
      } catch (err) {
        valid = false;
        r.error([...at, yamlKey], errorMessage(err));
      }
    } else if (!field.startsWith("within") && typeof v === "number" && Number.isInteger(v) && v >= -1) {
      keep[field] = v;
    } else valid = false; // the schema has said why
  }
  if (!valid || Object.keys(k).length === 0) return undefined; // an empty keep: the schema has said why
  if (!Object.values(keep).some((v) => v !== 0)) {
    r.error(at, "keeps nothing: pruning would delete every copy", "keep at least one copy, e.g. keep: { daily: 7, weekly: 4 }");
    return undefined;
  }
  return keep as KeepPolicy;
}

function reportDuplicates(r: Report, series: Series[]): void {
  const groups = new Map<string, { later: number; first: number; addresses: string[] }>();
  for (const { series: s, first } of duplicateSeries(series)) {
    const id = `${first.policyIndex}|${s.policyIndex}`;
    const g = groups.get(id) ?? { later: s.policyIndex, first: first.policyIndex, addresses: [] };
    g.addresses.push(s.address);
    groups.set(id, g);
  }
  for (const g of groups.values()) {
    const shown = g.addresses.slice(0, 2).join(", ") + (g.addresses.length > 2 ? ` and ${g.addresses.length - 2} more` : "");
    r.error(["policies", g.later], `defines ${shown} again, already defined by policies[${g.first}]`,
      "each instance × component × target has one schedule and one retention: narrow one policy with instances: or components:, or merge the two");
  }
}

function unknownHint(name: string, known: string[], what: string): string {
  const guess = didYouMean(name, known);
  if (guess) return `did you mean "${guess}"?`;
  return known.length ? `known ${what}: ${quoteList(known)}` : `no ${what} are defined`;
}
