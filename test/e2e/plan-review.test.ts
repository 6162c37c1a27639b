import { afterAll, beforeAll, describe, expect, it } from "vitest";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { runCli } from "../helpers/cli.js";
import { defaultSpec, makeWorkspace, PASS_ENV } from "../helpers/workspace.js";

describe("plan for review: the spec diff, markdown, JSON, and no side effects", () => {
  let ws: Awaited<ReturnType<typeof makeWorkspace>>;
  let hook: http.Server;
  let hookUrl: string;
  const calls: string[] = [];
  beforeAll(async () => {
    hook = http.createServer((req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        calls.push(body);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, "127.0.0.1", r));
    hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
    ws = await makeWorkspace(defaultSpec + `notify:\n  - { on: [success, failure, stale, prune], webhook: "\${env:TEST_HOOK}" }\n`);
  });
  afterAll(async () => {
    await new Promise((r) => hook.close(r));
    await ws.cleanup();
  });
  const env = (now: string) => ({ ...PASS_ENV, TEST_HOOK: hookUrl, BACKPLAN_NOW: now });

  it("plan never notifies or writes; apply notifies; the next plan shows what changed in backup.yaml", async () => {
    const p = await runCli(["plan", "--format", "json"], { cwd: ws.dir, env: env("2026-11-22T02:00:00Z") });
    expect(p.code).toBe(0);
    const plan = JSON.parse(p.stdout) as { formatVersion: number; actions: { type: string; reason: string }[] };
    expect(plan.formatVersion).toBe(1);
    expect(plan.actions.filter((a) => a.type === "snapshot")).toHaveLength(6);
    expect(calls).toHaveLength(0);

    const a = await runCli(["apply", "--auto-approve"], { cwd: ws.dir, env: env("2026-11-22T02:00:00Z") });
    expect(a.code, a.stderr).toBe(0);
    expect(calls).toHaveLength(1);
    expect(JSON.parse(calls[0]!)).toMatchObject({ events: expect.arrayContaining(["success"]) });

    const spec = (await readFile(ws.spec, "utf8")).replace("keep: { daily: 7, weekly: 4 }", "keep: { daily: 14, weekly: 8 }");
    await writeFile(ws.spec, spec);
    const md = await runCli(["plan", "--format", "markdown", "--out", "plans/pr.json"], { cwd: ws.dir, env: env("2026-11-22T05:00:00Z") });
    expect(md.code).toBe(0);
    expect(md.stdout).toContain("```diff");
    expect(md.stdout).toMatch(/^-.*keep: \{ daily: 7, weekly: 4 \}/m);
    expect(md.stdout).toMatch(/^\+.*keep: \{ daily: 14, weekly: 8 \}/m);
    expect(md.stdout).not.toContain(PASS_ENV.BACKPLAN_TEST_PASSPHRASE);
    expect(await readFile(path.join(ws.dir, "plans/pr.md"), "utf8")).toMatch(/No changes|Plan:/);
    expect(calls).toHaveLength(1); // plan sent nothing
  });
});
