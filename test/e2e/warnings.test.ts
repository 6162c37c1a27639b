import { execFileSync } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { makeWorkspace, PASS_ENV } from "../helpers/workspace.js";

describe("apply warnings", () => {
  let ws: Awaited<ReturnType<typeof makeWorkspace>>;
  beforeAll(async () => {
    ws = await makeWorkspace();
    execFileSync("mkfifo", [path.join(ws.dir, "data", "uploads", "a-pipe")]);
  });
  afterAll(() => ws.cleanup());

  it("what a capture left out reaches the user, as a line and as a --json event", async () => {
    const env = { ...PASS_ENV, BACKPLAN_NOW: "2026-03-01T02:00:00Z" };
    const r = await runCli(["apply", "--auto-approve"], { cwd: ws.dir, env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^warning: openwebui\/uploads: .*a-pipe.*fifo/m);
    const j = await runCli(["apply", "--auto-approve", "--json"], { cwd: ws.dir, env: { ...env, BACKPLAN_NOW: "2026-03-02T02:00:00Z" } });
    expect(j.code, j.stderr).toBe(0);
    const events = j.stdout.trim().split("\n").map((l) => JSON.parse(l) as { type: string; component?: string; message?: string });
    expect(events.find((e) => e.type === "warning")).toMatchObject({ component: "uploads", message: expect.stringContaining("a-pipe") });
  });
});
