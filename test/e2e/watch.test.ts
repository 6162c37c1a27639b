import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { appendFile } from "node:fs/promises";
import { cliPath } from "../helpers/cli.js";
import { makeWorkspace, PASS_ENV } from "../helpers/workspace.js";

describe("backplan watch", () => {
  let ws: Awaited<ReturnType<typeof makeWorkspace>>;
  beforeAll(async () => {
    ws = await makeWorkspace();
  });
  afterAll(async () => {
    await ws.cleanup();
  });

  it("reconciles on start, re-plans when backup.yaml changes, and stops cleanly on SIGTERM", async () => {
    const child = spawn(process.execPath, [cliPath, "watch", "--interval", "1h"], {
      cwd: ws.dir,
      env: { ...process.env, ...PASS_ENV, NO_COLOR: "1", BACKPLAN_NOW: "2026-11-22T02:00:00Z" },
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const waitFor = async (f: () => boolean, what: string) => {
      for (let i = 0; i < 300 && !f(); i++) await new Promise((r) => setTimeout(r, 100));
      if (!f()) throw new Error(`timed out waiting for ${what}\nstdout:\n${out}\nstderr:\n${err}`);
    };
    await waitFor(() => /apply: 6 done, 0 failed/.test(err), "the first reconcile");
    await appendFile(ws.spec, "# reviewed\n");
    await waitFor(() => /backup.yaml changed: planning/.test(err) && /No changes\. Every copy is current\./.test(out), "the re-plan");
    child.kill("SIGTERM");
    const code = await new Promise<number>((r) => child.on("close", (c) => r(c ?? -1)));
    expect(code).toBe(0);
    expect(err).toContain("watch: stopped");
  });
});
