import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { SpecError, UserError } from "../../src/errors.js";
import { formatProblem } from "../../src/cli/exit.js";
import { loadSpec } from "../../src/spec/load.js";
import { cleanupSpecDirs, problemsOf, specDir, yaml } from "./helpers.js";

afterAll(cleanupSpecDirs);
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const onlyMissingThings = /does not exist|is not set/;

describe("the shipped specs", () => {
  for (const file of ["backup.yaml", "examples/primary-plus-2.yaml", "examples/primary-plus-3.yaml"]) {
    it(`${file} validates; its only warnings are about this machine`, async () => {
      const { spec, warnings } = await loadSpec(path.join(repo, file), { mode: "validate" });
      expect(spec.series.length).toBeGreaterThan(0);
      for (const w of warnings) expect(w.message).toMatch(onlyMissingThings);
    });
  }

  it("primary + 3 copies: daily S3, daily B2 through rclone, weekly cold NAS", async () => {
    const { spec } = await loadSpec(path.join(repo, "examples/primary-plus-3.yaml"), { mode: "validate" });
    expect(Object.values(spec.targets).map((t) => t.type).sort()).toEqual(["local", "rclone", "s3"]);
    const nas = spec.series.filter((s) => s.target === "nas");
    expect(nas.map((s) => s.component)).toEqual(["webui.db", "vector_db", "uploads", "audit.log"]);
    expect(new Set(nas.map((s) => s.consistency))).toEqual(new Set(["cold"]));
    expect(spec.series.filter((s) => s.target === "b2")[0]?.keep).toEqual({ daily: 14, within: "1m" });
  });

  it("the demo spec resolves its paths and passphrase file against its own folder", async () => {
    const { spec } = await loadSpec(path.join(repo, "backup.yaml"), { mode: "validate" });
    expect(spec.instances.openwebui?.path).toBe(path.join(repo, "demo", "open-webui"));
    expect(spec.targets.nas).toEqual({ name: "nas", type: "local", path: path.join(repo, "demo", "targets", "nas") });
    expect(spec.encryption?.passphrase).toEqual({ ref: "${file:./demo/passphrase}", kind: "file", name: path.join(repo, "demo", "passphrase") });
    expect(spec.series.map((s) => s.address)).toContain("openwebui/webui.db@offsite");
    expect(spec.series.find((s) => s.target === "offsite")?.verify).toBe("weekly");
  });
});

describe("loadSpec", () => {
  const good = yaml(
    "version: 1",
    "instances:",
    "  app: { preset: open-webui, path: data }",
    "targets:",
    "  s3: { type: s3, bucket: b, accessKeyId: \"${env:HOME}\", secretAccessKey: \"${file:key}\" }",
    "encryption: { passphrase: \"${env:HOME}\" }",
    "policies:",
    "  - { target: s3, every: 6h, keep: { last: 4, within-daily: 7d, yearly: -1 }, consistency: hot }",
    "notify:",
    "  - { on: [failure], webhook: \"https://example.com/hook\", email: { to: [a@example.com], smtp: \"smtp://mail.example.com:587\" } }",
  );

  it("normalises: absolute paths, camelCase keep rules, defaults, references", async () => {
    const dir = specDir({ "backup.yaml": good, key: "k\n" });
    const file = path.join(dir, "backup.yaml");
    const { spec, warnings } = await loadSpec(file, { mode: "apply" });
    expect(warnings).toEqual([]);
    expect(spec.file).toBe(file);
    expect(spec.dir).toBe(dir);
    expect(spec.digest).toBe(createHash("sha256").update(readFileSync(file)).digest("hex"));
    expect(spec.instances.app?.path).toBe(path.join(dir, "data"));
    expect(spec.targets.s3).toEqual({
      name: "s3",
      type: "s3",
      bucket: "b",
      prefix: "",
      forcePathStyle: false,
      accessKeyId: { ref: "${env:HOME}", kind: "env", name: "HOME" },
      secretAccessKey: { ref: "${file:key}", kind: "file", name: path.join(dir, "key") },
    });
    expect(spec.policies[0]).toEqual({
      index: 0, targets: ["s3"], instances: [], components: [], every: "6h",
      keep: { last: 4, withinDaily: "7d", yearly: -1 }, consistency: "hot",
    });
    expect(spec.notify).toEqual([{ on: ["failure"], webhook: "https://example.com/hook", email: { to: ["a@example.com"], smtp: "smtp://mail.example.com:587" } }]);
  });

  it("a missing file is a UserError naming the file and the fix", async () => {
    const err = await loadSpec("/nonexistent/backup.yaml", { mode: "validate" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toBe("spec file /nonexistent/backup.yaml does not exist");
    expect((err as UserError).hint).toMatch(/-c FILE/);
  });

  it("an empty file is one located problem", async () => {
    expect(await problemsOf("# nothing yet\n")).toMatchObject([{ line: 1, col: 1, message: "the spec is empty" }]);
  });

  it("a missing data directory is a warning in validate mode, an error in apply mode", async () => {
    const text = good.replace("path: data", "path: gone");
    const dir = specDir({ "backup.yaml": text, key: "k" });
    const { warnings } = await loadSpec(path.join(dir, "backup.yaml"), { mode: "validate" });
    expect(warnings.map((w) => [w.severity, w.path])).toEqual([["warning", "instances.app.path"]]);
    await expect(loadSpec(path.join(dir, "backup.yaml"), { mode: "apply" })).rejects.toBeInstanceOf(SpecError);
  });

  it("a YAML syntax error keeps its line and column", async () => {
    const problems = await problemsOf(yaml("version: 1", "instances:", "  app:", "    path: ./data: oops", "targets: {}"));
    expect(problems).toEqual([
      expect.objectContaining({ line: 4, col: 11, severity: "error", path: "", message: "YAML syntax error: Nested mappings are not allowed in compact mappings" }),
    ]);
  });

  const fiveMistakes = yaml(
    "version: 1",
    "instances:",
    "  app:",
    "    preset: open-webui",
    "    path: ./data",
    "    components:",
    "      webui.db: { kind: sqllite }", //             1: enum
    "targets:",
    "  nas: { type: local, path: ./nas }",
    "encryption: { passphrase: hunter2 }", //         2: inline secret
    "policies:",
    "  - { target: nass, every: daily, keep: { daily: 7 } }", // 3: unknown target
    "  - { target: nas, every: dialy, keep: { daily: 7 } }", //  4: bad schedule
    "  - { target: nas, components: [cache], every: daily, keep: {} }", // 5: empty keep (+ a warning: cache is disabled)
  );

  it("five mistakes make five located errors", async () => {
    const errors = (await problemsOf(fiveMistakes)).filter((p) => p.severity === "error");
    expect(errors.map((e) => `${e.line}:${e.col} ${e.path}`)).toEqual([
      '7:25 instances.app.components["webui.db"].kind',
      "10:27 encryption.passphrase",
      "12:15 policies[0].target",
      "13:27 policies[1].every",
      "14:61 policies[2].keep",
    ]);
  });

  it("`backplan validate` prints the five errors with file:line:col, exits 1, no stack trace", () => {
    const dir = specDir({ "backup.yaml": fiveMistakes });
    const tsx = pathToFileURL(path.join(repo, "node_modules", "tsx", "dist", "loader.mjs")).href;
    const r = spawnSync(process.execPath, ["--import", tsx, path.join(repo, "src/cli/main.ts"), "validate"], { cwd: dir, encoding: "utf8" });
    expect(r.status).toBe(1);
    const located = r.stderr.split("\n").filter((l) => /^backup\.yaml:\d+:\d+: (?!warning)/.test(l));
    expect(located).toHaveLength(5);
    expect(located[1]).toBe(
      'backup.yaml:10:27: encryption.passphrase: the passphrase is written inline in the spec (secrets never go in backup.yaml: write "${env:BACKPLAN_PASSPHRASE}" and export BACKPLAN_PASSPHRASE, or "${file:PATH}" naming a file that holds it)',
    );
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stderr).not.toContain("hunter2");
    expect(r.stdout).toBe("");
  });

  it("formats problems as file:line:col: path: message (hint)", async () => {
    const [p] = (await problemsOf(yaml("version: 1", "colour: blue"))).filter((x) => x.severity === "error");
    expect(formatProblem({ ...p!, file: "backup.yaml" })).toBe(
      'backup.yaml:2:1: colour: unknown field "colour" (allowed here: version, instances, targets, encryption, policies, notify)',
    );
  });

  it("warns about a policy that selects nothing and components copied nowhere", async () => {
    const problems = await problemsOf(yaml(
      "version: 1",
      "instances:",
      "  app: { preset: open-webui, path: data }",
      "targets:",
      "  nas: { type: local, path: nas }",
      "policies:",
      "  - { target: nas, components: [webui.db], every: daily, keep: { daily: 7 } }",
      "  - { target: nas, components: [cache], every: daily, keep: { daily: 7 } }",
    ));
    expect(problems.map((p) => `${p.severity} ${p.line}:${p.col} ${p.path}: ${p.message}`)).toEqual([
      "warning 3:8 instances.app: app/vector_db, app/uploads are not copied to any target",
      "warning 8:5 policies[1]: selects no enabled component, so it backs up nothing",
      "warning 8:33 policies[1].components[0]: component \"cache\" is disabled, so this policy does not back it up",
    ]);
  });

  it("reports the warnings it does not refuse", async () => {
    const dir = specDir();
    writeFileSync(path.join(dir, "backup.yaml"), yaml("version: 1", "instances:", "  app: { preset: open-webui, path: data }"));
    const { warnings } = await loadSpec(path.join(dir, "backup.yaml"), { mode: "apply" });
    expect(warnings.map((w) => w.message)).toEqual(["no policies: nothing will be copied anywhere"]);
  });
});
