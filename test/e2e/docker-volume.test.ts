import { afterAll, beforeAll, describe, expect, it } from "vitest";
import path from "node:path";
import { repoRoot, runCli } from "../helpers/cli.js";
import { makeWorkspace, PASS_ENV } from "../helpers/workspace.js";

const spec = `version: 1
instances:
  openwebui: { preset: open-webui, volume: open-webui }
targets:
  nas: { type: local, path: ./targets/nas }
encryption: { passphrase: "\${env:BACKPLAN_TEST_PASSPHRASE}" }
policies:
  - { target: nas, every: daily, keep: { daily: 7 } }
`;

describe("an instance on a named Docker volume (stand-in docker on PATH)", () => {
  let ws: Awaited<ReturnType<typeof makeWorkspace>>;
  let env: Record<string, string>;
  beforeAll(async () => {
    ws = await makeWorkspace(spec);
    env = {
      ...PASS_ENV,
      PATH: `${path.join(repoRoot, "test", "helpers", "fake-docker")}:${process.env.PATH}`,
      FAKE_DOCKER_VOLUMES: JSON.stringify({ "open-webui": path.join(ws.dir, "data") }),
      FAKE_DOCKER_LOG: path.join(ws.dir, "docker.jsonl"),
      BACKPLAN_NOW: "2026-11-22T02:00:00Z",
    };
  });
  afterAll(async () => {
    await ws.cleanup();
  });

  it("a stopped Docker engine is one clear error and nothing is written", async () => {
    const r = await runCli(["apply", "--auto-approve"], { cwd: ws.dir, env: { ...env, FAKE_DOCKER_DOWN: "1" } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Docker/);
    expect(r.stderr).not.toMatch(/\n\s+at .*:\d+:\d+/);
  });

  it("resolves the volume's mount point with docker volume inspect and backs it up", async () => {
    const r = await runCli(["apply", "--auto-approve"], { cwd: ws.dir, env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/snapshot openwebui\/webui.db@nas/);
    const restored = await runCli(["restore", "openwebui", "--to", path.join(ws.dir, "restored")], { cwd: ws.dir, env });
    expect(restored.code, restored.stderr).toBe(0);
  });

  it("an unknown volume names it", async () => {
    const r = await runCli(["apply", "--auto-approve"], { cwd: ws.dir, env: { ...env, FAKE_DOCKER_VOLUMES: "{}", BACKPLAN_NOW: "2026-11-23T02:00:00Z" } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/open-webui/);
  });
});
