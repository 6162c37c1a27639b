/**
 * The model plan "primary + 3" for real: daily to S3 (a loopback s3rver), daily to "B2" through an
 * rclone S3 remote (a second s3rver), and a weekly cold copy to a NAS folder, with a stand-in
 * `docker` on PATH recording the compose stop/start around the cold capture.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { readFile, writeFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { cliPath, repoRoot, runCli } from "../helpers/cli.js";
import { makeWorkspace, PASS_ENV } from "../helpers/workspace.js";
import { readTree } from "../helpers/compare.js";
import { startS3Server, S3RVER_KEY, S3RVER_SECRET, type S3Server } from "../helpers/s3server.js";

const fakeDockerDir = path.join(repoRoot, "test", "helpers", "fake-docker");

describe("primary + 3: S3, B2 through rclone, cold NAS copy", () => {
  let s3: S3Server;
  let b2: S3Server;
  let ws: Awaited<ReturnType<typeof makeWorkspace>>;
  let env: Record<string, string>;

  beforeAll(async () => {
    [s3, b2] = await Promise.all([startS3Server(["owui-backups"]), startS3Server(["owui-b2"])]);
    const spec = `version: 1
instances:
  openwebui:
    preset: open-webui
    path: ./data
    compose: { file: ./docker-compose.yml, service: open-webui }
targets:
  s3:  { type: s3, bucket: owui-backups, region: us-east-1, endpoint: "${s3.endpoint}", forcePathStyle: true, accessKeyId: "\${env:TEST_S3_KEY}", secretAccessKey: "\${env:TEST_S3_SECRET}" }
  b2:  { type: rclone, remote: "b2:owui-b2/backplan", config: ./rclone.conf }
  nas: { type: local, path: ./targets/nas }
encryption: { passphrase: "\${env:BACKPLAN_TEST_PASSPHRASE}" }
policies:
  - { target: s3,  every: daily,  keep: { daily: 7, weekly: 4, monthly: 6 } }
  - { target: b2,  every: daily,  keep: { daily: 14 } }
  - { target: nas, every: weekly, consistency: cold, keep: { weekly: 3 } }
`;
    ws = await makeWorkspace(spec);
    await writeFile(path.join(ws.dir, "docker-compose.yml"), "services:\n  open-webui:\n    image: ghcr.io/open-webui/open-webui:main\n");
    await writeFile(
      path.join(ws.dir, "rclone.conf"),
      `[b2]\ntype = s3\nprovider = Other\nendpoint = ${b2.endpoint}\naccess_key_id = ${S3RVER_KEY}\nsecret_access_key = ${S3RVER_SECRET}\n`,
    );
    await mkdir(path.join(ws.dir, "targets"), { recursive: true });
    env = {
      ...PASS_ENV,
      TEST_S3_KEY: S3RVER_KEY,
      TEST_S3_SECRET: S3RVER_SECRET,
      PATH: `${fakeDockerDir}:${process.env.PATH}`,
      FAKE_DOCKER_LOG: path.join(ws.dir, "docker-calls.jsonl"),
      FAKE_DOCKER_SERVICES: "open-webui",
      BACKPLAN_NOW: "2026-11-22T02:00:00Z",
    };
  }, 120_000);

  afterAll(async () => {
    await Promise.allSettled([s3?.stop(), b2?.stop()]);
    await ws?.cleanup();
  });

  it("validates the shipped example of this model plan", async () => {
    const r = await runCli(["validate", "-c", path.join(repoRoot, "examples", "primary-plus-3.yaml")], { cwd: ws.dir });
    expect(r.code, r.stderr).toBe(0);
  });

  it("a killed S3 server fails only the S3 copies (exit 3); the next apply completes them", async () => {
    // Run apply with its JSON event stream and kill the S3 server as soon as it starts on S3.
    const child = spawn(process.execPath, [cliPath, "apply", "--auto-approve", "--json"], {
      cwd: ws.dir,
      env: { ...process.env, ...env },
    });
    let out = "";
    let err = "";
    let killed = false;
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (!killed && /"type":"action-start".*"target":"s3"/.test(out)) {
        killed = true;
        void s3.kill();
      }
    });
    const code = await new Promise<number>((r) => child.on("close", (c) => r(c ?? -1)));
    expect(killed).toBe(true);
    expect(code, err).toBe(3);
    const events = out.trim().split("\n").map((l) => JSON.parse(l) as { type: string; action?: { target: string } });
    const failedTargets = new Set(events.filter((e) => e.type === "action-failed").map((e) => e.action!.target));
    expect([...failedTargets]).toEqual(["s3"]);
    expect(events.filter((e) => e.type === "action-done" && e.action!.target !== "s3")).toHaveLength(6);
    expect(err).not.toMatch(/\n\s+at .*:\d+:\d+/);
    expect(err + out).not.toContain(S3RVER_SECRET + "\n");

    // The cold NAS capture stopped and always restarted the compose service.
    const calls = (await readFile(env.FAKE_DOCKER_LOG!, "utf8")).trim().split("\n").map((l) => (JSON.parse(l) as { argv: string[] }).argv.join(" "));
    expect(calls.filter((c) => c.includes(" stop "))).toHaveLength(1);
    expect(calls.filter((c) => c.includes(" start "))).toHaveLength(1);

    await s3.restart();
    const again = await runCli(["apply", "--auto-approve"], { cwd: ws.dir, env: { ...env, BACKPLAN_NOW: "2026-11-22T03:00:00Z" } });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/Plan: 3 to snapshot, 0 to prune/);

    const plan = await runCli(["plan", "--detailed-exitcode"], { cwd: ws.dir, env: { ...env, BACKPLAN_NOW: "2026-11-22T04:00:00Z" } });
    expect(plan.stdout).toContain("No changes. Every copy is current.");
    expect(plan.code).toBe(0);
  });

  it("a bucket that does not exist is named in the plan, and apply fails fast naming it", async () => {
    const specText = (await readFile(ws.spec, "utf8")).replace("bucket: owui-backups", "bucket: no-such-bucket");
    const other = path.join(ws.dir, "missing-bucket.yaml");
    await writeFile(other, specText);
    const plan = await runCli(["-c", other, "plan"], { cwd: ws.dir, env: { ...env, BACKPLAN_NOW: "2026-11-23T02:00:00Z" } });
    expect(plan.code).toBe(0);
    expect(plan.stdout + plan.stderr).toMatch(/no-such-bucket/);
    expect(plan.stdout + plan.stderr).toMatch(/does not exist/);
    expect(plan.stdout + plan.stderr).not.toContain(S3RVER_SECRET + "\n");

    const apply = await runCli(["-c", other, "apply", "--auto-approve"], { cwd: ws.dir, env: { ...env, BACKPLAN_NOW: "2026-11-23T02:00:00Z" } });
    expect(apply.code).toBe(3);
    expect(apply.stderr).toMatch(/snapshot openwebui\/webui.db@s3 FAILED: .*no-such-bucket/);
    expect(apply.stderr).not.toMatch(/\n\s+at .*:\d+:\d+/);
  });

  for (const target of ["s3", "b2", "nas"]) {
    it(`restores from ${target} identical to the source`, async () => {
      const dest = path.join(ws.dir, `restored-${target}`);
      const r = await runCli(["restore", "openwebui", "--target", target, "--to", dest], { cwd: ws.dir, env });
      expect(r.code, r.stderr).toBe(0);
      const skip = (rel: string) => rel.startsWith("cache") || rel === "audit.log" || rel.startsWith("webui.db") || rel.startsWith("vector_db/chroma.sqlite3");
      expect(await readTree(dest, { skip })).toEqual(await readTree(path.join(ws.dir, "data"), { skip }));
    });
  }
});
