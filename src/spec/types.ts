/**
 * The normalised, validated spec: what the rest of the pipeline reads. Produced by
 * src/spec/load.ts from backup.yaml (whose raw shape is schema/backup.schema.json).
 * Paths here are absolute; presets are expanded; policies are expanded into series.
 */

/** `${env:NAME}` or `${file:PATH}`: a secret is never stored, only its reference. */
export interface SecretRef {
  ref: string; // the literal reference text, e.g. "${env:BACKPLAN_PASSPHRASE}"
  kind: "env" | "file";
  name: string; // env var name, or absolute file path
}

export type ComponentKind = "sqlite" | "chroma" | "files";
export type Consistency = "hot" | "cold";

export interface Component {
  /** Name used in series addresses, e.g. "webui.db", "vector_db", "uploads". */
  name: string;
  kind: ComponentKind;
  /** Path relative to the instance root (posix separators), e.g. "webui.db" or "uploads". */
  path: string;
  /** Globs (picomatch) relative to the component path; empty include = everything. */
  include: string[];
  exclude: string[];
  consistency: Consistency;
  /** false for components a preset knows but does not back up by default (cache, audit.log). */
  enabled: boolean;
}

export interface Instance {
  name: string;
  preset?: string;
  /** Absolute host path of the data directory; absent when `volume` is used. */
  path?: string;
  /** Docker named volume, resolved with `docker volume inspect` at apply time. */
  volume?: string;
  compose?: { file: string; service: string; project?: string };
  components: Record<string, Component>;
}

export type TargetSpec =
  | { name: string; type: "local"; path: string }
  | {
      name: string;
      type: "s3";
      bucket: string;
      prefix: string;
      region?: string;
      endpoint?: string;
      forcePathStyle: boolean;
      accessKeyId?: SecretRef;
      secretAccessKey?: SecretRef;
    }
  | { name: string; type: "rclone"; remote: string; config?: string };

/** restic `forget` rules. Counts: -1 = unlimited. Durations like "1y2m3d4h". */
export interface KeepPolicy {
  last?: number;
  hourly?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
  yearly?: number;
  within?: string;
  withinHourly?: string;
  withinDaily?: string;
  withinWeekly?: string;
  withinMonthly?: string;
  withinYearly?: string;
}

export interface Policy {
  /** Index in the spec's `policies` list, for messages. */
  index: number;
  targets: string[];
  /** Empty = every instance / every enabled component. */
  instances: string[];
  components: string[];
  /** "hourly" | "daily" | "weekly" | "monthly" | duration ("6h", "2d") | cron expression. */
  every: string;
  keep: KeepPolicy;
  /** How often to restore-test; same grammar as `every`. */
  verify?: string;
  consistency?: Consistency;
}

/** One (instance, component, target) triple with the policy that governs it. */
export interface Series {
  /** `instance/component@target`, e.g. `openwebui/webui.db@s3`. */
  address: string;
  instance: string;
  component: string;
  target: string;
  every: string;
  keep: KeepPolicy;
  verify?: string;
  consistency: Consistency;
  policyIndex: number;
}

export interface NotifySpec {
  on: ("success" | "failure" | "stale" | "prune")[];
  webhook?: SecretRef | string;
  email?: { to: string[]; from?: string; smtp: SecretRef | string };
}

export interface Spec {
  /** Absolute path of backup.yaml. */
  file: string;
  /** Folder of backup.yaml; relative paths resolve against it; state lives in `<dir>/.backplan`. */
  dir: string;
  version: 1;
  instances: Record<string, Instance>;
  targets: Record<string, TargetSpec>;
  encryption?: { passphrase: SecretRef };
  policies: Policy[];
  series: Series[];
  notify: NotifySpec[];
  /** sha256 of the spec file's bytes: saved plans record it to detect a changed spec. */
  digest: string;
}
