/**
 * How each field of backup.yaml maps to the normalised types. tsc checks these tables against
 * raw.ts and types.ts (every YAML field listed, nothing extra, every target field real);
 * test/spec/schema-types.test.ts checks them against the schema. Together: no silent drift.
 */
import type {
  RawComponent,
  RawInstance,
  RawKeep,
  RawLocalTarget,
  RawNotify,
  RawPolicy,
  RawRcloneTarget,
  RawS3Target,
  RawSpec,
} from "./raw.js";
import type { Component, Instance, KeepPolicy, NotifySpec, Policy, Spec, TargetSpec } from "./types.js";

type Fields<Raw, Norm> = { [K in keyof Required<Raw>]: keyof Norm };
type Target<T extends TargetSpec["type"]> = Extract<TargetSpec, { type: T }>;
/** Compiles only when every field of Norm (but those listed in Except) is reached from YAML. */
type Covers<M extends Record<string, PropertyKey>, Norm, Except extends keyof Norm = never> =
  Exclude<keyof Norm, M[keyof M] | Except> extends never ? true : ["not covered by the YAML:", Exclude<keyof Norm, M[keyof M] | Except>];

export const SPEC_FIELDS = {
  version: "version",
  instances: "instances",
  targets: "targets",
  encryption: "encryption",
  policies: "policies",
  notify: "notify",
} as const satisfies Fields<RawSpec, Spec>;

export const INSTANCE_FIELDS = {
  preset: "preset",
  path: "path",
  volume: "volume",
  compose: "compose",
  components: "components",
} as const satisfies Fields<RawInstance, Instance>;

export const COMPONENT_FIELDS = {
  kind: "kind",
  path: "path",
  include: "include",
  exclude: "exclude",
  consistency: "consistency",
  enabled: "enabled",
} as const satisfies Fields<RawComponent, Component>;

export const TARGET_FIELDS = {
  local: { type: "type", path: "path" } as const satisfies Fields<RawLocalTarget, Target<"local">>,
  s3: {
    type: "type",
    bucket: "bucket",
    prefix: "prefix",
    region: "region",
    endpoint: "endpoint",
    forcePathStyle: "forcePathStyle",
    accessKeyId: "accessKeyId",
    secretAccessKey: "secretAccessKey",
  } as const satisfies Fields<RawS3Target, Target<"s3">>,
  rclone: { type: "type", remote: "remote", config: "config" } as const satisfies Fields<RawRcloneTarget, Target<"rclone">>,
};

export const POLICY_FIELDS = {
  target: "targets",
  targets: "targets",
  instances: "instances",
  components: "components",
  every: "every",
  keep: "keep",
  verify: "verify",
  consistency: "consistency",
} as const satisfies Fields<RawPolicy, Policy>;

/** restic's kebab-case rule names → KeepPolicy's camelCase. */
export const KEEP_FIELDS = {
  last: "last",
  hourly: "hourly",
  daily: "daily",
  weekly: "weekly",
  monthly: "monthly",
  yearly: "yearly",
  within: "within",
  "within-hourly": "withinHourly",
  "within-daily": "withinDaily",
  "within-weekly": "withinWeekly",
  "within-monthly": "withinMonthly",
  "within-yearly": "withinYearly",
} as const satisfies Fields<RawKeep, KeepPolicy>;

export const NOTIFY_FIELDS = { on: "on", webhook: "webhook", email: "email" } as const satisfies Fields<RawNotify, NotifySpec>;

// Fields of the normalised types that nothing in the YAML feeds: a new field needs a schema property.
const _coverage: [
  Covers<typeof SPEC_FIELDS, Spec, "file" | "dir" | "series" | "digest">,
  Covers<typeof INSTANCE_FIELDS, Instance, "name">,
  Covers<typeof COMPONENT_FIELDS, Component, "name">,
  Covers<typeof TARGET_FIELDS.local, Target<"local">, "name">,
  Covers<typeof TARGET_FIELDS.s3, Target<"s3">, "name">,
  Covers<typeof TARGET_FIELDS.rclone, Target<"rclone">, "name">,
  Covers<typeof POLICY_FIELDS, Policy, "index">,
  Covers<typeof KEEP_FIELDS, KeepPolicy>,
  Covers<typeof NOTIFY_FIELDS, NotifySpec>,
] = [true, true, true, true, true, true, true, true, true];
void _coverage;
