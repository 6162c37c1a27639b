/**
 * `backplan apply` killed with SIGKILL in the middle of its work (a real child process, a real
 * data directory): no snapshot that lists afterwards is partial, the locks it left behind do not
 * block the next run, and the next apply converges to every copy, all of which verify.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { cliPath, runCli } from "../helpers/cli.js";
import { makeWorkspace, PASS_ENV } from "../helpers/workspace.js";
import { generateOpenWebUi } from "../../src/demo/generate.js";
import { rm } from "node:fs/promises";
import path from "node:path";

describe("apply killed with SIGKILL", () => {
  let ws: Awaited<ReturnType<typeof makeWorkspace>>;
  beforeAll(async () => {
    ws = await makeWorkspace();
    // A bigger data directory, so the kill lands while chunks are being written.
    await rm(path.join(ws.dir, "data"), { recursive: true, force: true });
    await generateOpenWebUi(path.join(ws.dir, "data"), { seed: 3, scale: 2, uploads: 60 });
  });
  afterAll(async () => {
    await ws.cleanup();
  });

  for (const after of ["capture-done", "action-start", "progress"]) {
    it(`after the first "${after}" event: nothing partial lists, and the next apply converges`, async () => {
      const env = { ...process.env, ...PASS_ENV, NO_COLOR: "1", BACKPLAN_NOW: "2026-11-22T02:00:00Z" };
      const child = spawn(process.execPath, [cliPath, "apply", "--auto-approve", "--json"], { cwd: ws.dir, env });
      const closed = new Promise<string | null>((resolve) => child.on("close", (_code, signal) => resolve(signal)));
      let out = "";
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes(`"type":"${after}"`) && child.exitCode === null) child.kill("SIGKILL");
      });
      expect(await closed).toBe("SIGKILL");

      const listed = await runCli(["snapshots", "--json"], { cwd: ws.dir, env: { ...PASS_ENV } });
      expect(listed.code, listed.stderr).toBe(0);
      const verifyPartial = await runCli(["verify"], { cwd: ws.dir, env: { ...PASS_ENV } });
      // Whatever lists is complete: verify passes on it (or there is nothing to verify yet).
      if (!/Nothing to verify/.test(verifyPartial.stdout)) expect(verifyPartial.code, verifyPartial.stdout).toBe(0);

      const again = await runCli(["apply", "--auto-approve"], { cwd: ws.dir, env: { ...PASS_ENV, BACKPLAN_NOW: "2026-11-22T03:00:00Z" } });
      expect(again.code, again.stderr).toBe(0);
      const plan = await runCli(["plan", "--detailed-exitcode"], { cwd: ws.dir, env: { ...PASS_ENV, BACKPLAN_NOW: "2026-11-22T04:00:00Z" } });
      expect(plan.code, plan.stdout).toBe(0);
      const verify = await runCli(["verify"], { cwd: ws.dir, env: { ...PASS_ENV } });
      expect(verify.code, verify.stdout).toBe(0);
      // Reset for the next kill point: remove the copies.
      await rm(path.join(ws.dir, "targets", "nas"), { recursive: true, force: true });
      await rm(path.join(ws.dir, "targets", "offsite"), { recursive: true, force: true });
      await rm(path.join(ws.dir, ".backplan"), { recursive: true, force: true });
    });
  }
});
