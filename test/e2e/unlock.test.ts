import { afterAll, beforeAll, describe, expect, it } from "vitest";
import path from "node:path";
import { runCli } from "../helpers/cli.js";
import { makeWorkspace, PASS_ENV } from "../helpers/workspace.js";
import { LocalTarget } from "../../src/targets/local.js";
import { Repository } from "../../src/repo/repository.js";

describe("repository locks held by another host, and backplan unlock", () => {
  let ws: Awaited<ReturnType<typeof makeWorkspace>>;
  const env = (now: string) => ({ ...PASS_ENV, BACKPLAN_NOW: now });
  beforeAll(async () => {
    ws = await makeWorkspace();
    const r = await runCli(["apply", "--auto-approve"], { cwd: ws.dir, env: env("2026-11-22T02:00:00Z") });
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(async () => {
    await ws.cleanup();
  });

  it("a live exclusive lock blocks only its target; unlock keeps it, unlock --all --yes removes it", async () => {
    const target = new LocalTarget("nas", path.join(ws.dir, "targets", "nas"));
    const repo = await Repository.open(target, { passphrase: PASS_ENV.BACKPLAN_TEST_PASSPHRASE, create: false });
    const now = Date.now();
    await repo!.putJson("locks/0123456789abcdef0123456789abcdef", {
      host: "nas-box",
      pid: 4242,
      time: new Date(now).toISOString(),
      expires: new Date(now + 3_600_000).toISOString(),
      exclusive: true,
      purpose: "gc",
    });

    const blocked = await runCli(["apply", "--auto-approve"], { cwd: ws.dir, env: env("2026-11-30T02:00:00Z") });
    expect(blocked.code).toBe(3);
    expect(blocked.stderr).toMatch(/nas-box/);
    expect(blocked.stderr).toMatch(/unlock/);

    const keep = await runCli(["unlock"], { cwd: ws.dir, env: env("2026-11-30T02:00:00Z") });
    expect(keep.code).toBe(0);
    expect(keep.stdout).toMatch(/nas: lock 01234567 exclusive by nas-box pid 4242 \(gc\)/);
    expect(keep.stdout).toContain("Removed 0 locks.");

    const refused = await runCli(["unlock", "--all"], { cwd: ws.dir, env: env("2026-11-30T02:00:00Z") });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/--yes/);

    const removed = await runCli(["unlock", "--all", "--yes", "--target", "nas"], { cwd: ws.dir, env: env("2026-11-30T02:00:00Z") });
    expect(removed.code).toBe(0);
    expect(removed.stdout).toContain("Removed 1 lock.");

    const again = await runCli(["apply", "--auto-approve"], { cwd: ws.dir, env: env("2026-11-30T03:00:00Z") });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/Plan: 3 to snapshot/);
  });
});
