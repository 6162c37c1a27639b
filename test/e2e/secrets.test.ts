/**
 * Secrets never leak: run every command (also with --debug and --json, also failing ones) and
 * search every byte they printed and every file they left — the state database, saved plans,
 * the repository on the target — for the passphrase and a webhook token.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { runCli } from "../helpers/cli.js";
import { defaultSpec, makeWorkspace, PASS_ENV } from "../helpers/workspace.js";

const TOKEN = "tok_4f9c2e7d1a8b6c3e5f0a9d2b7c4e1f8a";

async function allFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const d of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, d.name);
    if (d.isDirectory()) out.push(...(await allFiles(p)));
    else if (d.isFile()) out.push(p);
  }
  return out;
}

describe("secrets never leak", () => {
  let ws: Awaited<ReturnType<typeof makeWorkspace>>;
  beforeAll(async () => {
    ws = await makeWorkspace(defaultSpec + `notify:\n  - { on: [failure], webhook: "\${env:TEST_HOOK}" }\n`);
  });
  afterAll(async () => {
    await ws.cleanup();
  });

  it("not in any output, plan, state database or repository object", async () => {
    const env = { ...PASS_ENV, TEST_HOOK: `http://127.0.0.1:9/hook?token=${TOKEN}`, BACKPLAN_NOW: "2026-11-22T02:00:00Z" };
    const runs = [
      ["validate", "--debug"],
      ["plan", "--out", "plans/x.json", "--debug"],
      ["plan", "--format", "json"],
      ["apply", "--auto-approve", "--json", "--debug"],
      ["status", "--json"],
      ["snapshots", "--json"],
      ["verify", "--debug"],
    ];
    let printed = "";
    for (const args of runs) {
      const r = await runCli(args, { cwd: ws.dir, env });
      printed += r.stdout + r.stderr;
    }
    // A wrong passphrase, with --debug: the error names the problem, never the value.
    const wrong = await runCli(["snapshots", "--debug"], { cwd: ws.dir, env: { ...env, BACKPLAN_TEST_PASSPHRASE: "hunter2-wrong-passphrase" } });
    expect(wrong.code).toBe(1);
    expect(wrong.stdout + wrong.stderr).not.toContain("hunter2-wrong-passphrase");

    for (const secret of [PASS_ENV.BACKPLAN_TEST_PASSPHRASE, TOKEN]) expect(printed).not.toContain(secret);
    const files = (await allFiles(ws.dir)).filter((f) => !f.includes(`${path.sep}data${path.sep}`));
    expect(files.some((f) => f.endsWith("state.db"))).toBe(true);
    expect(files.some((f) => f.endsWith("key-hint.json"))).toBe(true);
    expect(files.some((f) => f.includes(`${path.sep}keys${path.sep}`))).toBe(true);
    for (const f of files) {
      if ((await stat(f)).size > 64 << 20) continue;
      const bytes = await readFile(f);
      for (const secret of [PASS_ENV.BACKPLAN_TEST_PASSPHRASE, TOKEN]) expect(bytes.includes(Buffer.from(secret)), `${secret} in ${f}`).toBe(false);
    }
  });
});
