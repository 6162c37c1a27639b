/**
 * Semantic checks and normalisation: YAML data → Spec. Runs even when the schema found problems,
 * so a user sees every mistake at once: every access is guarded, and malformed parts are skipped
 * silently because the schema has already reported them. The file system and the secrets are
 * reached only through `env`, so the checks stay testable.
 */
import os from "node:os";
import path from "node:path";
import type { Segment } from "./names.js";
import { checkPolicies } from "./policies.js";
import { expandComponents } from "./presets.js";
import type { RawComponent, RawSpec } from "./raw.js";
import { secretField, urlOrRef, type RefEnv } from "./references.js";
import { Report, entries, isRecord, strings } from "./report.js";
import type { Issue } from "./schema.js";
import type { Instance, NotifySpec, Spec, TargetSpec } from "./types.js";

export interface CheckEnv extends RefEnv {
  mode: "validate" | "apply";
  exists(absPath: string): boolean;
}

export type Normalised = Omit<Spec, "file" | "dir" | "digest">;

export function normalise(raw: RawSpec, env: CheckEnv): { spec: Normalised; issues: Issue[] } {
  const r = new Report(env.mode);
  const abs = (p: string) => path.resolve(env.dir, p === "~" || p.startsWith("~/") ? path.join(os.homedir(), p.slice(1)) : p);

  const instances: Record<string, Instance> = {};
  for (const [name, inst] of entries<unknown>(raw.instances)) {
    if (isRecord(inst)) instances[name] = checkInstance(r, env, name, inst, abs);
  }

  const targets: Record<string, TargetSpec> = {};
  for (const [name, t] of entries<unknown>(raw.targets)) {
    const target = isRecord(t) ? checkTarget(r, env, name, t, abs) : undefined;
    if (target) targets[name] = target;
  }

  let encryption: Spec["encryption"];
  if (isRecord(raw.encryption)) {
    const ref = secretField(r, env, raw.encryption.passphrase, ["encryption", "passphrase"], "the passphrase", "BACKPLAN_PASSPHRASE");
    if (ref) encryption = { passphrase: ref };
  }
  if (!("encryption" in raw) && Object.values(targets).some((t) => t.type !== "local")) {
    r.warn([], "copies on s3/rclone targets will be stored unencrypted", 'add encryption: { passphrase: "${env:BACKPLAN_PASSPHRASE}" }');
  }

  const { policies, series } = checkPolicies(r, raw.policies, instances, targets, env.exists);
  const empty = (x: unknown) => x === undefined || (isRecord(x) && Object.keys(x).length === 0) || (Array.isArray(x) && x.length === 0);
  if (empty(raw.instances)) r.warn([], "no instances: nothing to back up", "add instances: (see examples/primary-plus-2.yaml)");
  if (empty(raw.policies)) r.warn([], "no policies: nothing will be copied anywhere", "add policies: [{ target: NAME, every: daily, keep: { daily: 7 } }]");

  const notify: NotifySpec[] = [];
  (Array.isArray(raw.notify) ? raw.notify : []).forEach((n: unknown, i) => {
    const entry = isRecord(n) ? checkNotify(r, env, ["notify", i], n) : undefined;
    if (entry) notify.push(entry);
  });

  return { spec: { version: 1, instances, targets, ...(encryption ? { encryption } : {}), policies, series, notify }, issues: r.issues };
}

function checkInstance(r: Report, env: CheckEnv, name: string, inst: Record<string, unknown>, abs: (p: string) => string): Instance {
  const at: Segment[] = ["instances", name];
  const instance: Instance = { name, components: {} };
  if (typeof inst.path === "string" && typeof inst.volume === "string") {
    r.error([...at, "volume"], "give path or volume, not both", "path is a host folder; volume is a Docker named volume", true);
  }
  if (!("path" in inst) && !("volume" in inst)) {
    r.error(at, `instance "${name}" says where its data is with neither path nor volume`, "add path: /host/folder, or volume: <docker volume name>");
  }
  if (typeof inst.preset === "string") instance.preset = inst.preset;
  if (typeof inst.path === "string") {
    instance.path = abs(inst.path);
    if (!env.exists(instance.path)) {
      r.missing([...at, "path"], `data directory ${instance.path} does not exist`, "fix the path, or start the application once so it creates its data directory");
    }
  }
  if (typeof inst.volume === "string") instance.volume = inst.volume;
  const compose = inst.compose;
  if (isRecord(compose) && typeof compose.file === "string" && typeof compose.service === "string") {
    instance.compose = { file: abs(compose.file), service: compose.service, ...(typeof compose.project === "string" ? { project: compose.project } : {}) };
  }
  if (instance.preset === undefined && !("components" in inst)) {
    r.error(at, `instance "${name}" has no components`, "add preset: open-webui, or list components: { NAME: { kind: sqlite|chroma|files, path: ... } }");
  }
  const overrides = Object.fromEntries(entries<RawComponent>(inst.components).filter(([, c]) => isRecord(c)));
  const expanded = expandComponents(instance.preset, overrides);
  for (const i of expanded.issues) r.error([...at, "components", i.component, ...(i.field ? [i.field] : [])], i.message, i.hint);
  instance.components = expanded.components;
  return instance;
}

function checkTarget(r: Report, env: CheckEnv, name: string, t: Record<string, unknown>, abs: (p: string) => string): TargetSpec | undefined {
  const at: Segment[] = ["targets", name];
  if (t.type === "local" && typeof t.path === "string") return { name, type: "local", path: abs(t.path) };
  if (t.type === "rclone" && typeof t.remote === "string") {
    return { name, type: "rclone", remote: t.remote, ...(typeof t.config === "string" ? { config: abs(t.config) } : {}) };
  }
  if (t.type !== "s3" || typeof t.bucket !== "string") return undefined;
  const id = secretField(r, env, t.accessKeyId, [...at, "accessKeyId"], "the S3 access key id", "AWS_ACCESS_KEY_ID");
  const key = secretField(r, env, t.secretAccessKey, [...at, "secretAccessKey"], "the S3 secret access key", "AWS_SECRET_ACCESS_KEY");
  if (("accessKeyId" in t) !== ("secretAccessKey" in t)) {
    r.error(at, "give both accessKeyId and secretAccessKey, or neither", "without them the AWS SDK's usual credential chain is used (environment, ~/.aws, instance role)");
  }
  const endpoint = typeof t.endpoint === "string" ? t.endpoint : undefined;
  if (endpoint && URL.canParse(endpoint) && (new URL(endpoint).username || new URL(endpoint).password)) {
    r.error([...at, "endpoint"], "the endpoint URL carries credentials", 'write the URL without them; give accessKeyId: "${env:AWS_ACCESS_KEY_ID}" and secretAccessKey: "${env:AWS_SECRET_ACCESS_KEY}"');
  }
  return {
    name,
    type: "s3",
    bucket: t.bucket,
    prefix: typeof t.prefix === "string" ? t.prefix : "",
    ...(typeof t.region === "string" ? { region: t.region } : {}),
    ...(endpoint ? { endpoint } : {}),
    forcePathStyle: t.forcePathStyle === true,
    ...(id ? { accessKeyId: id } : {}),
    ...(key ? { secretAccessKey: key } : {}),
  };
}

function checkNotify(r: Report, env: CheckEnv, at: Segment[], n: Record<string, unknown>): NotifySpec | undefined {
  if (!("webhook" in n) && !("email" in n)) r.error(at, "says where to send nothing", "add webhook: URL, or email: { to: [...], smtp: ... }");
  const webhook = urlOrRef(r, env, n.webhook, [...at, "webhook"], "webhook");
  const email = isRecord(n.email) ? n.email : undefined;
  const smtp = email ? urlOrRef(r, env, email.smtp, [...at, "email", "smtp"], "smtp") : undefined;
  const on = strings(n.on) as NotifySpec["on"] | undefined;
  if (!on) return undefined;
  const entry: NotifySpec = { on };
  if (webhook) entry.webhook = webhook;
  const to = strings(email?.to);
  if (email && to && smtp) entry.email = { to, smtp, ...(typeof email.from === "string" ? { from: email.from } : {}) };
  return entry;
}
