import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { readFile, writeFile, appendFile } from "node:fs/promises";
import path from "node:path";
import { runCli } from "../helpers/cli.js";
import { makeWorkspace, PASS_ENV } from "../helpers/workspace.js";

describe("plan → apply → plan on a generated Open WebUI instance", () => {
  let ws: Awaited<ReturnType<typeof makeWorkspace>>;
  beforeEach(async () => {
    ws = await makeWorkspace();
  });
  afterEach(async () => {
    await ws.cleanup();
  });

  const env = (now: string) => ({ ...PASS_ENV, BACKPLAN_NOW: now });

  it("first plan shows every series missing, apply creates them, the next plan has no changes", async () => {
    const plan1 = await runCli(["plan", "--detailed-exitcode"], { cwd: ws.dir, env: env("2026-11-22T02:00:00Z") });
    expect(plan1.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
    expect(plan1.code).toBe(2);
    for (const c of ["webui.db", "vector_db", "uploads"]) {
      expect(plan1.stdout).toContain(`openwebui/${c}@offsite`);
      expect(plan1.stdout).toContain(`openwebui/${c}@nas`);
    }
    expect(plan1.stdout).toMatch(/Plan: 6 to snapshot, 0 to prune, 0 to verify\./);
    // plan has no side effects: no repository was initialised on any target
    expect(existsSync(path.join(ws.dir, "targets/nas"))).toBe(false);
    expect(existsSync(path.join(ws.dir, "targets/offsite"))).toBe(false);

    const apply = await runCli(["apply", "--auto-approve"], { cwd: ws.dir, env: env("2026-11-22T02:00:00Z") });
    expect(apply.stderr + apply.stdout).not.toMatch(/FAILED/);
    expect(apply.code).toBe(0);

    const plan2 = await runCli(["plan", "--detailed-exitcode"], { cwd: ws.dir, env: env("2026-11-22T09:00:00Z") });
    expect(plan2.stdout).toContain("No changes. Every copy is current.");
    expect(plan2.code).toBe(0);

    const status = await runCli(["status", "--json"], { cwd: ws.dir, env: env("2026-11-22T09:00:00Z") });
    expect(status.code).toBe(0);
    const parsed = JSON.parse(status.stdout) as { series: { state: string }[] };
    expect(parsed.series).toHaveLength(6);
    expect(parsed.series.every((s) => s.state === "OK")).toBe(true);
  });

  it("apply without a terminal needs --auto-approve, and changes nothing", async () => {
    const r = await runCli(["apply"], { cwd: ws.dir, env: env("2026-11-22T02:00:00Z") });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("--auto-approve");
    expect(existsSync(path.join(ws.dir, "targets/nas"))).toBe(false);
    expect(existsSync(path.join(ws.dir, "targets/offsite"))).toBe(false);
  });

  it("a saved plan applies exactly; after the spec or a target changed it is refused as stale", async () => {
    const saved = await runCli(["plan", "--out", "plans/first.json"], { cwd: ws.dir, env: env("2026-11-22T02:00:00Z") });
    expect(saved.code).toBe(0);
    expect(existsSync(path.join(ws.dir, "plans/first.md"))).toBe(true);
    const json = await readFile(path.join(ws.dir, "plans/first.json"), "utf8");
    expect(json).not.toContain(PASS_ENV.BACKPLAN_TEST_PASSPHRASE);

    // a second saved plan, made now, goes stale once the first is applied (targets changed)
    await runCli(["plan", "--out", "plans/second.json"], { cwd: ws.dir, env: env("2026-11-22T02:00:00Z") });
    const applied = await runCli(["apply", "plans/first.json"], { cwd: ws.dir, env: env("2026-11-22T02:00:00Z") });
    expect(applied.code).toBe(0);
    const stale = await runCli(["apply", "plans/second.json"], { cwd: ws.dir, env: env("2026-11-22T02:00:00Z") });
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(/stale: the snapshots on the targets changed/);

    // a plan made, then the spec edited: refused
    await runCli(["plan", "--out", "plans/third.json"], { cwd: ws.dir, env: env("2026-11-23T02:00:00Z") });
    await appendFile(ws.spec, "# a comment changes the spec's digest\n");
    const stale2 = await runCli(["apply", "plans/third.json"], { cwd: ws.dir, env: env("2026-11-23T02:00:00Z") });
    expect(stale2.code).toBe(1);
    expect(stale2.stderr).toMatch(/stale: backup.yaml changed/);
  });

  it("one unwritable target does not stop the others: exit 3, and the next apply converges", async () => {
    // The nas target's folder is a file: every write there fails.
    await writeFile(path.join(ws.dir, "nas-blocker"), "not a folder");
    const spec = (await readFile(ws.spec, "utf8")).replace("path: ./targets/nas", "path: ./nas-blocker/nas");
    await writeFile(ws.spec, spec);
    const r = await runCli(["apply", "--auto-approve"], { cwd: ws.dir, env: env("2026-11-22T02:00:00Z") });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/nas/);
    expect(r.stderr).not.toMatch(/\n\s+at .*:\d+:\d+/);
    const status = await runCli(["status", "--json"], { cwd: ws.dir, env: env("2026-11-22T03:00:00Z") });
    const parsed = JSON.parse(status.stdout) as { series: { address: string; state: string }[] };
    expect(parsed.series.filter((s) => s.address.endsWith("@offsite")).every((s) => s.state === "OK")).toBe(true);

    await writeFile(ws.spec, spec.replace("path: ./nas-blocker/nas", "path: ./targets/nas"));
    const again = await runCli(["apply", "--auto-approve"], { cwd: ws.dir, env: env("2026-11-22T04:00:00Z") });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/Plan: 3 to snapshot/);
  });
});
