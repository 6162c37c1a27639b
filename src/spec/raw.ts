/**
 * The shape of backup.yaml as written, mirroring schema/backup.schema.json property by property
 * (test/spec/schema-types.test.ts fails when the two drift). load.ts validates against the schema
 * first, so these types describe valid input; checks still guard, as they run on invalid input too.
 */
import type { ComponentKind, Consistency } from "./types.js";

export interface RawComponent {
  kind?: ComponentKind;
  path?: string;
  include?: string[];
  exclude?: string[];
  consistency?: Consistency;
  enabled?: boolean;
}

export interface RawInstance {
  preset?: "open-webui";
  path?: string;
  volume?: string;
  compose?: { file: string; service: string; project?: string };
  components?: Record<string, RawComponent>;
}

export interface RawLocalTarget {
  type: "local";
  path: string;
}
export interface RawS3Target {
  type: "s3";
  bucket: string;
  prefix?: string;
  region?: string;
  endpoint?: string;
  forcePathStyle?: boolean;
  accessKeyId?: string;
  secretAccessKey?: string;
}
export interface RawRcloneTarget {
  type: "rclone";
  remote: string;
  config?: string;
}
export type RawTarget = RawLocalTarget | RawS3Target | RawRcloneTarget;

/** restic's rule names, as written in YAML (kebab-case). */
export interface RawKeep {
  last?: number;
  hourly?: number;
  daily?: number;
  weekly?: number;
  monthly?: number;
  yearly?: number;
  within?: string;
  "within-hourly"?: string;
  "within-daily"?: string;
  "within-weekly"?: string;
  "within-monthly"?: string;
  "within-yearly"?: string;
}

export interface RawPolicy {
  target?: string;
  targets?: string[];
  instances?: string[];
  components?: string[];
  every: string;
  keep: RawKeep;
  verify?: string;
  consistency?: Consistency;
}

export interface RawNotify {
  on: ("success" | "failure" | "stale" | "prune")[];
  webhook?: string;
  email?: { to: string[]; from?: string; smtp: string };
}

export interface RawSpec {
  version: 1;
  instances?: Record<string, RawInstance>;
  targets?: Record<string, RawTarget>;
  encryption?: { passphrase: string };
  policies?: RawPolicy[];
  notify?: RawNotify[];
}
