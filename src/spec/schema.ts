/**
 * schema/backup.schema.json through ajv, and ajv's raw errors turned into sentences a user can act
 * on. Each issue carries the data path (segments) so load.ts can point at the YAML line and column.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { ErrorObject, ValidateFunction } from "ajv/dist/2020.js";
import { packageRoot } from "../version.js";
import { didYouMean, quoteList, type Segment } from "./names.js";
import { loadValidator } from "./validator.js";

/** A problem before it is located in the YAML source. */
export interface Issue {
  at: Segment[];
  /** Point at the mapping key rather than its value (unknown or misnamed fields). */
  key?: boolean;
  message: string;
  hint?: string;
  severity: "error" | "warning";
}

export const schemaPath = path.join(packageRoot, "schema", "backup.schema.json");
const schemaText = readFileSync(schemaPath, "utf8");
export const schema = JSON.parse(schemaText) as Record<string, unknown>;

let validator: ValidateFunction | undefined;
/** See ./validator.ts; `checkSchema` (tests) also checks the schema against the meta-schema. */
export function compiled(opts: { checkSchema?: boolean } = {}): ValidateFunction {
  if (opts.checkSchema) return loadValidator(schemaText, opts);
  validator ??= loadValidator(schemaText);
  return validator;
}

const REQUIRED_HINTS: Record<string, string> = {
  version: "add `version: 1` at the top of the file",
  every: "how often a copy is due: hourly, daily, weekly, monthly, an interval like 6h, or a cron expression",
  keep: "which copies survive pruning, e.g. keep: { daily: 7, weekly: 4 }",
  type: "one of local, s3, rclone",
  path: "the folder copies go to",
  bucket: "the S3 bucket name",
  remote: 'an rclone remote such as "b2:owui-backups"',
  passphrase: 'a reference such as "${env:BACKPLAN_PASSPHRASE}"',
  on: "events: success, failure, stale, prune",
  smtp: 'an SMTP URL, or a reference such as "${env:SMTP_URL}"',
  to: "a list of recipients",
  file: "the docker-compose file",
  service: "the compose service name",
};

const TYPE_NAMES: Record<string, string> = {
  string: "text",
  integer: "a whole number",
  number: "a number",
  boolean: "true or false",
  array: "a list",
  object: "a mapping",
  null: "empty",
};

function describe(value: unknown): string {
  if (value === null || value === undefined) return "empty";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "number") return Number.isInteger(value) ? "a whole number" : "a number";
  return TYPE_NAMES[typeof value] ?? typeof value;
}

function segmentsOf(instancePath: string, data: unknown): Segment[] {
  const out: Segment[] = [];
  let cur: unknown = data;
  for (const raw of instancePath.split("/").slice(1)) {
    const key = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    const seg: Segment = Array.isArray(cur) ? Number(key) : key;
    out.push(seg);
    cur = cur && typeof cur === "object" ? (cur as Record<string | number, unknown>)[seg] : undefined;
  }
  return out;
}

/** Every schema problem of `data`, in ajv's order, deduplicated. */
export function schemaIssues(data: unknown): Issue[] {
  const validate = compiled();
  if (validate(data)) return [];
  const errors = validate.errors ?? [];
  const namedMaps = new Set(errors.filter((e) => e.keyword === "propertyNames").map((e) => e.instancePath));
  const seen = new Set<string>();
  const issues: Issue[] = [];
  for (const e of errors) {
    if (e.keyword === "pattern" && namedMaps.has(e.instancePath)) continue; // reported by propertyNames
    const issue = translate(e, segmentsOf(e.instancePath, data));
    if (!issue) continue;
    const id = `${issue.at.join("/")}|${issue.message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    issues.push(issue);
  }
  return issues;
}

const NAME_RULE = 'use letters, digits, ".", "_" and "-", starting with a letter or digit';

function translate(e: ErrorObject, at: Segment[]): Issue | undefined {
  const p = e.params as Record<string, unknown>;
  const parent = (e.parentSchema ?? {}) as { properties?: Record<string, unknown> };
  const data: unknown = e.data;
  const issue = (message: string, extra: Partial<Issue> = {}): Issue => ({ at, message, severity: "error", ...extra });
  switch (e.keyword) {
    case "additionalProperties": {
      const prop = String(p.additionalProperty);
      const allowed = Object.keys(parent.properties ?? {});
      const guess = didYouMean(prop, allowed);
      return issue(`unknown field "${prop}"`, {
        at: [...at, prop],
        key: true,
        hint: guess ? `did you mean "${guess}"?` : `allowed here: ${allowed.join(", ")}`,
      });
    }
    case "required": {
      const prop = String(p.missingProperty);
      const hint = REQUIRED_HINTS[prop];
      return issue(`missing required field "${prop}"`, hint ? { hint } : {});
    }
    case "type": {
      const want = String(p.type);
      if (want === "integer" && typeof data === "number") return issue(`must be a whole number, not ${data}`);
      return issue(`must be ${TYPE_NAMES[want] ?? want}, not ${describe(data)}`);
    }
    case "enum": {
      const allowed = (p.allowedValues as unknown[]).map(String);
      if (typeof data !== "string") return issue(`must be one of ${quoteList(allowed)}, not ${describe(data)}`);
      const guess = didYouMean(data, allowed);
      return issue(`"${data}" is not one of ${quoteList(allowed)}`, guess ? { hint: `did you mean "${guess}"?` } : {});
    }
    case "const":
      return at.length === 1 && at[0] === "version"
        ? issue(`must be 1, not ${JSON.stringify(data)}`, { hint: "this backplan reads version 1 specs" })
        : issue(`must be ${JSON.stringify(p.allowedValue)}`);
    case "minimum":
      return p.limit === -1
        ? issue(`must be 0 or more, or -1 for unlimited, not ${String(data)}`)
        : issue(`must be at least ${String(p.limit)}, not ${String(data)}`);
    case "minProperties":
      if (at[at.length - 1] === "keep") {
        return issue("keeps nothing: pruning would delete every copy", { hint: "say what to keep, e.g. keep: { daily: 7, weekly: 4 }" });
      }
      return issue("must not be empty");
    case "minItems":
      return issue("must not be an empty list");
    case "uniqueItems":
      return issue(`lists ${JSON.stringify((data as unknown[])[Number(p.j)])} twice`);
    case "minLength":
      return issue("must not be empty");
    case "propertyNames": {
      const name = String(p.propertyName);
      return issue(`"${name}" is not a valid name`, { at: [...at, name], key: true, hint: NAME_RULE });
    }
    case "pattern":
      if (e.schemaPath.includes("/name/")) return issue(`"${String(data)}" is not a valid name`, { hint: NAME_RULE });
      if (at[at.length - 1] === "remote") {
        return issue(`"${String(data)}" is not an rclone remote`, { hint: 'write it as remote:path, e.g. "b2:owui-backups"' });
      }
      return issue(`must match ${String(p.pattern)}`);
    case "format":
      if (p.format === "email") return issue(`"${String(data)}" is not an e-mail address`);
      if (p.format === "uri") return issue("must be a URL", { hint: "e.g. https://s3.eu-central-1.wasabisys.com" });
      return issue(`must be a valid ${String(p.format)}`);
    // Reported more precisely by the `type` enum and `required` errors of the same object.
    case "discriminator":
    case "oneOf":
    case "anyOf":
    case "if":
      return undefined;
    default:
      return issue(e.message ?? `fails the schema's ${e.keyword} rule`);
  }
}
