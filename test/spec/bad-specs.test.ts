/**
 * Bad specs, one mistake each: the exact message, hint, field path and line:col a user sees.
 * Messages that come from the schedule and duration parsers (src/plan) are matched by prefix.
 */
import { afterAll, describe, expect, it } from "vitest";
import { cleanupSpecDirs, problemsOf, yaml } from "./helpers.js";

afterAll(cleanupSpecDirs);

const HEAD = ["version: 1", "instances:", "  app:", "    preset: open-webui", "    path: ./data", "targets:", "  nas: { type: local, path: ./nas }"];
/** The common head (lines 1-7) plus the given lines from line 8 on. */
const spec = (...rest: string[]) => yaml(...HEAD, ...rest);
const NAS_DAILY = "  - { target: nas, every: daily, keep: { daily: 7 } }";

interface Case {
  name: string;
  text: string;
  line: number;
  col: number;
  path: string;
  message: string | RegExp;
  hint?: string;
  mode?: "validate" | "apply";
}

const INLINE_HINT = (v: string) =>
  `secrets never go in backup.yaml: write "\${env:${v}}" and export ${v}, or "\${file:PATH}" naming a file that holds it`;

const cases: Case[] = [
  {
    name: "unknown top-level field, close to a known one",
    text: spec("policy:", NAS_DAILY),
    line: 8, col: 1, path: "policy", message: 'unknown field "policy"', hint: 'did you mean "policies"?',
  },
  {
    name: "unknown field with no close match lists the allowed ones",
    text: spec("  nas2: { type: local, path: ./x, colour: red }", "policies:", NAS_DAILY),
    line: 8, col: 35, path: "targets.nas2.colour", message: 'unknown field "colour"', hint: "allowed here: type, path",
  },
  {
    name: "wrong version",
    text: yaml("version: 2", ...HEAD.slice(1), "policies:", NAS_DAILY),
    line: 1, col: 10, path: "version", message: "must be 1, not 2", hint: "this backplan reads version 1 specs",
  },
  {
    name: "missing version",
    text: yaml(...HEAD.slice(1), "policies:", NAS_DAILY),
    line: 1, col: 1, path: "", message: 'missing required field "version"', hint: "add `version: 1` at the top of the file",
  },
  {
    name: "misspelt component field",
    text: yaml(...HEAD.slice(0, 5), "    components:", "      extra: { knd: files }", ...HEAD.slice(5), "policies:", NAS_DAILY),
    line: 7, col: 16, path: "instances.app.components.extra.knd", message: 'unknown field "knd"', hint: 'did you mean "kind"?',
  },
  {
    name: "component kind not in the enum",
    text: yaml(...HEAD.slice(0, 5), "    components:", "      webui.db: { kind: sqllite }", ...HEAD.slice(5), "policies:", NAS_DAILY),
    line: 7, col: 25, path: 'instances.app.components["webui.db"].kind', message: '"sqllite" is not one of "sqlite", "chroma", "files"', hint: 'did you mean "sqlite"?',
  },
  {
    name: "unknown target type",
    text: spec("  s3: { type: s4, bucket: b }", "policies:", NAS_DAILY),
    line: 8, col: 15, path: "targets.s3.type", message: '"s4" is not one of "local", "s3", "rclone"', hint: 'did you mean "s3"?',
  },
  {
    name: "target without a type",
    text: spec("  s3: { bucket: b }", "policies:", NAS_DAILY),
    line: 8, col: 7, path: "targets.s3", message: 'missing required field "type"', hint: "one of local, s3, rclone",
  },
  {
    name: "local target without a path",
    text: spec("  usb: { type: local }", "policies:", NAS_DAILY),
    line: 8, col: 8, path: "targets.usb", message: 'missing required field "path"', hint: "the folder copies go to",
  },
  {
    name: "s3 field misspelt",
    text: spec("  s3: { type: s3, bucket: b, prefx: owui/ }", "encryption: { passphrase: \"${env:HOME}\" }", "policies:", NAS_DAILY),
    line: 8, col: 30, path: "targets.s3.prefx", message: 'unknown field "prefx"', hint: 'did you mean "prefix"?',
  },
  {
    name: "rclone remote without a colon",
    text: spec("  b2: { type: rclone, remote: owui-backups }", "encryption: { passphrase: \"${env:HOME}\" }", "policies:", NAS_DAILY),
    line: 8, col: 31, path: "targets.b2.remote", message: '"owui-backups" is not an rclone remote', hint: 'write it as remote:path, e.g. "b2:owui-backups"',
  },
  {
    name: "policy names an unknown target",
    text: spec("policies:", "  - { target: nass, every: daily, keep: { daily: 7 } }"),
    line: 9, col: 15, path: "policies[0].target", message: 'unknown target "nass"', hint: 'did you mean "nas"?',
  },
  {
    name: "policy names an unknown instance",
    text: spec("policies:", "  - { target: nas, instances: [app, blog], every: daily, keep: { daily: 7 } }"),
    line: 9, col: 37, path: "policies[0].instances[1]", message: 'unknown instance "blog"', hint: 'known instances: "app"',
  },
  {
    name: "policy names an unknown component",
    text: spec("policies:", "  - { target: nas, components: [webui_db], every: daily, keep: { daily: 7 } }"),
    line: 9, col: 33, path: "policies[0].components[0]", message: 'unknown component "webui_db"', hint: 'did you mean "webui.db"?',
  },
  {
    name: "two policies define the same series",
    text: spec("policies:", NAS_DAILY, "  - { target: nas, components: [uploads], every: hourly, keep: { last: 24 } }"),
    line: 10, col: 5, path: "policies[1]", message: "defines app/uploads@nas again, already defined by policies[0]",
    hint: "each instance × component × target has one schedule and one retention: narrow one policy with instances: or components:, or merge the two",
  },
  {
    name: "empty keep",
    text: spec("policies:", "  - { target: nas, every: daily, keep: {} }"),
    line: 9, col: 40, path: "policies[0].keep", message: "keeps nothing: pruning would delete every copy", hint: "say what to keep, e.g. keep: { daily: 7, weekly: 4 }",
  },
  {
    name: "keep with only zero counts",
    text: spec("policies:", "  - { target: nas, every: daily, keep: { daily: 0, weekly: 0 } }"),
    line: 9, col: 40, path: "policies[0].keep", message: "keeps nothing: pruning would delete every copy", hint: "keep at least one copy, e.g. keep: { daily: 7, weekly: 4 }",
  },
  {
    name: "negative count",
    text: spec("policies:", "  - { target: nas, every: daily, keep: { daily: -2 } }"),
    line: 9, col: 49, path: "policies[0].keep.daily", message: "must be 0 or more, or -1 for unlimited, not -2",
  },
  {
    name: "fractional count",
    text: spec("policies:", "  - { target: nas, every: daily, keep: { weekly: 1.5 } }"),
    line: 9, col: 50, path: "policies[0].keep.weekly", message: "must be a whole number, not 1.5",
  },
  {
    name: "count written as text",
    text: spec("policies:", "  - { target: nas, every: daily, keep: { daily: \"7\" } }"),
    line: 9, col: 49, path: "policies[0].keep.daily", message: "must be a whole number, not text",
  },
  {
    name: "unknown keep rule in camelCase",
    text: spec("policies:", "  - { target: nas, every: daily, keep: { daily: 7, withinDaily: 30d } }"),
    line: 9, col: 52, path: "policies[0].keep.withinDaily", message: 'unknown field "withinDaily"', hint: 'did you mean "within-daily"?',
  },
  {
    name: "unparseable every",
    text: spec("policies:", "  - { target: nas, every: dialy, keep: { daily: 7 } }"),
    line: 9, col: 27, path: "policies[0].every", message: /^invalid schedule "dialy"/, hint: 'did you mean "daily"?',
  },
  {
    name: "unparseable verify",
    text: spec("policies:", "  - { target: nas, every: daily, verify: every 2 days, keep: { daily: 7 } }"),
    line: 9, col: 42, path: "policies[0].verify", message: /^invalid schedule "every 2 days"/,
  },
  {
    name: "unparseable duration",
    text: spec("policies:", "  - { target: nas, every: daily, keep: { within: 2x } }"),
    line: 9, col: 50, path: "policies[0].keep.within", message: /^invalid duration "2x"/,
  },
  {
    name: "every missing",
    text: spec("policies:", "  - { target: nas, keep: { daily: 7 } }"),
    line: 9, col: 5, path: "policies[0]", message: 'missing required field "every"',
    hint: "how often a copy is due: hourly, daily, weekly, monthly, an interval like 6h, or a cron expression",
  },
  {
    name: "passphrase written inline",
    text: spec("encryption: { passphrase: hunter2 }", "policies:", NAS_DAILY),
    line: 8, col: 27, path: "encryption.passphrase", message: "the passphrase is written inline in the spec", hint: INLINE_HINT("BACKPLAN_PASSPHRASE"),
  },
  {
    name: "S3 secret key written inline",
    text: spec("  s3: { type: s3, bucket: b, accessKeyId: \"${env:HOME}\", secretAccessKey: wJalrXUtnFEMI }", "encryption: { passphrase: \"${env:HOME}\" }", "policies:", NAS_DAILY),
    line: 8, col: 75, path: "targets.s3.secretAccessKey", message: "the S3 secret access key is written inline in the spec", hint: INLINE_HINT("AWS_SECRET_ACCESS_KEY"),
  },
  {
    name: "only one of the S3 keys",
    text: spec("  s3: { type: s3, bucket: b, accessKeyId: \"${env:HOME}\" }", "encryption: { passphrase: \"${env:HOME}\" }", "policies:", NAS_DAILY),
    line: 8, col: 7, path: "targets.s3", message: "give both accessKeyId and secretAccessKey, or neither",
    hint: "without them the AWS SDK's usual credential chain is used (environment, ~/.aws, instance role)",
  },
  {
    name: "S3 endpoint with credentials in it",
    text: spec("  s3: { type: s3, bucket: b, endpoint: \"https://AKIA:k@s3.example.com\" }", "encryption: { passphrase: \"${env:HOME}\" }", "policies:", NAS_DAILY),
    line: 8, col: 40, path: "targets.s3.endpoint", message: "the endpoint URL carries credentials",
    hint: 'write the URL without them; give accessKeyId: "${env:AWS_ACCESS_KEY_ID}" and secretAccessKey: "${env:AWS_SECRET_ACCESS_KEY}"',
  },
  {
    name: "webhook that is not a URL",
    text: spec("policies:", NAS_DAILY, "notify:", "  - { on: [failure], webhook: example.com/hook }"),
    line: 11, col: 31, path: "notify[0].webhook", message: "is not a URL", hint: 'write https://… or a reference such as "${env:HOOK_URL}"',
  },
  {
    name: "malformed reference",
    text: spec("encryption: { passphrase: \"${ENV:PASS}\" }", "policies:", NAS_DAILY),
    line: 8, col: 27, path: "encryption.passphrase", message: "is not a valid reference: only ${env:NAME} and ${file:PATH} are understood",
    hint: "write ${env:BACKPLAN_PASSPHRASE} or ${file:PATH}",
  },
  {
    name: "SMTP URL with a password",
    text: spec("policies:", NAS_DAILY, "notify:", "  - { on: [failure], email: { to: [ops@example.com], smtp: \"smtp://ops:pa55@mail.example.com\" } }"),
    line: 11, col: 60, path: "notify[0].email.smtp", message: "the smtp URL carries a password",
    hint: 'keep it out of backup.yaml: export SMTP_URL=<the URL> and write "${env:SMTP_URL}"',
  },
  {
    name: "webhook URL with a token parameter",
    text: spec("policies:", NAS_DAILY, "notify:", "  - { on: [failure], webhook: \"https://hooks.example.com/x?token=abc\" }"),
    line: 11, col: 31, path: "notify[0].webhook", message: 'the webhook URL carries a secret in its "token" parameter',
    hint: 'keep it out of backup.yaml: export HOOK_URL=<the URL> and write "${env:HOOK_URL}"',
  },
  {
    name: "webhook URL with a token in its path",
    text: spec("policies:", NAS_DAILY, "notify:", "  - { on: [stale], webhook: https://hooks.slack.com/services/T0001/B0001/XyZ123abcDEF456ghiJKL789 }"),
    line: 11, col: 29, path: "notify[0].webhook", message: "the webhook URL looks like it carries a token in its path",
    hint: 'keep it out of backup.yaml: export HOOK_URL=<the URL> and write "${env:HOOK_URL}"',
  },
  {
    name: "notify event misspelt",
    text: spec("policies:", NAS_DAILY, "notify:", "  - { on: [failed], webhook: \"https://example.com/hook\" }"),
    line: 11, col: 12, path: "notify[0].on[0]", message: '"failed" is not one of "success", "failure", "stale", "prune"', hint: 'did you mean "failure"?',
  },
  {
    name: "notify entry with no channel",
    text: spec("policies:", NAS_DAILY, "notify:", "  - { on: [failure] }"),
    line: 11, col: 5, path: "notify[0]", message: "says where to send nothing", hint: "add webhook: URL, or email: { to: [...], smtp: ... }",
  },
  {
    name: "both path and volume",
    text: yaml(...HEAD.slice(0, 5), "    volume: open-webui", ...HEAD.slice(5), "policies:", NAS_DAILY),
    line: 6, col: 5, path: "instances.app.volume", message: "give path or volume, not both", hint: "path is a host folder; volume is a Docker named volume",
  },
  {
    name: "neither path nor volume",
    text: yaml(...HEAD.slice(0, 4), ...HEAD.slice(5), "policies:", NAS_DAILY),
    line: 4, col: 5, path: "instances.app", message: 'instance "app" says where its data is with neither path nor volume',
    hint: "add path: /host/folder, or volume: <docker volume name>",
  },
  {
    name: "invalid instance name",
    text: yaml("version: 1", "instances:", "  my app:", "    preset: open-webui", "    path: ./data", ...HEAD.slice(5), "policies:", NAS_DAILY),
    line: 3, col: 3, path: 'instances["my app"]', message: '"my app" is not a valid name', hint: 'use letters, digits, ".", "_" and "-", starting with a letter or digit',
  },
  {
    name: "target and targets both",
    text: spec("policies:", "  - { target: nas, targets: [nas], every: daily, keep: { daily: 7 } }"),
    line: 9, col: 20, path: "policies[0].targets", message: "give target or targets, not both",
  },
  {
    name: "policy with no target",
    text: spec("policies:", "  - { every: daily, keep: { daily: 7 } }"),
    line: 9, col: 5, path: "policies[0]", message: "names no target", hint: "add target: NAME (defined: nas)",
  },
  {
    name: "cold consistency without compose",
    text: spec("policies:", "  - { target: nas, every: weekly, consistency: cold, keep: { weekly: 3 } }"),
    line: 9, col: 48, path: "policies[0].consistency", message: "a cold capture of app needs its compose service, to stop and start it",
    hint: 'add compose: { file: docker-compose.yml, service: ... } to instance "app", or use consistency: hot',
  },
  {
    name: "component outside the data directory",
    text: yaml(...HEAD.slice(0, 5), "    components:", "      uploads: { path: ../elsewhere }", ...HEAD.slice(5), "policies:", NAS_DAILY),
    line: 7, col: 24, path: "instances.app.components.uploads.path", message: '"../elsewhere" is outside the data directory',
    hint: "component paths are relative to the instance's path or volume, e.g. uploads or webui.db",
  },
  {
    name: "added component without a kind",
    text: yaml(...HEAD.slice(0, 5), "    components:", "      logs: { path: logs }", ...HEAD.slice(5), "policies:", NAS_DAILY),
    line: 7, col: 13, path: "instances.app.components.logs", message: 'component "logs" has no kind',
    hint: '"logs" is not part of the open-webui preset: add kind: sqlite, chroma or files',
  },
  {
    name: "missing data directory is an error for apply",
    text: yaml(...HEAD.slice(0, 4), "    path: ./nowhere", ...HEAD.slice(5), "policies:", NAS_DAILY),
    mode: "apply",
    line: 5, col: 11, path: "instances.app.path", message: /^data directory \/.*\/nowhere does not exist$/,
    hint: "fix the path, or start the application once so it creates its data directory",
  },
  {
    name: "unset environment variable is an error for apply",
    text: spec("encryption: { passphrase: \"${env:BACKPLAN_TEST_SURELY_UNSET}\" }", "policies:", NAS_DAILY),
    mode: "apply",
    line: 8, col: 27, path: "encryption.passphrase", message: "environment variable BACKPLAN_TEST_SURELY_UNSET is not set (${env:BACKPLAN_TEST_SURELY_UNSET} in the spec)",
    hint: "export BACKPLAN_TEST_SURELY_UNSET=... before running backplan, or point the spec at a file with ${file:PATH}",
  },
  {
    name: "a key written twice",
    text: spec("policies:", NAS_DAILY, "policies:", NAS_DAILY),
    line: 10, col: 1, path: "", message: '"policies" is written twice in the same mapping', hint: "keep one: YAML would silently use the last",
  },
  {
    name: "YAML syntax error",
    text: spec("policies:", "  - { target: nas, every: daily, keep: { daily: 7 }"),
    line: 10, col: 1, path: "", message: /^YAML syntax error: /, hint: "check the indentation, quotes and brackets around here",
  },
];

describe("bad specs", () => {
  it("has at least 25 cases", () => expect(cases.length).toBeGreaterThanOrEqual(25));

  it.each(cases)("$name", async (c) => {
    const errors = (await problemsOf(c.text, c.mode)).filter((p) => p.severity === "error");
    expect(errors, JSON.stringify(errors, null, 1)).toHaveLength(1);
    const [e] = errors;
    expect({ line: e!.line, col: e!.col, path: e!.path }).toEqual({ line: c.line, col: c.col, path: c.path });
    if (typeof c.message === "string") expect(e!.message).toBe(c.message);
    else expect(e!.message).toMatch(c.message);
    expect(e!.hint).toBe(c.hint);
    expect(e!.file.endsWith("backup.yaml")).toBe(true);
  });
});
