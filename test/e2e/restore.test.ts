import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { runCli } from "../helpers/cli.js";
import { makeWorkspace, PASS_ENV } from "../helpers/workspace.js";
import { readTree } from "../helpers/compare.js";

describe("restore and verify through the CLI", () => {
  let ws: Awaited<ReturnType<typeof makeWorkspace>>;
  let out: string;
  const env = { ...PASS_ENV, BACKPLAN_NOW: "2026-11-22T02:00:00Z" };

  beforeAll(async () => {
    ws = await makeWorkspace();
    out = await mkdtemp(path.join(os.tmpdir(), "backplan-restore-"));
    const r = await runCli(["apply", "--auto-approve"], { cwd: ws.dir, env });
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(async () => {
    await ws.cleanup();
    await rm(out, { recursive: true, force: true });
  });

  // First: no verification records yet, so observe needs no key and the refusal comes from apply.
  it("apply with a wrong passphrase stores nothing, due or not: one clear paragraph, exit 1", async () => {
    const count = async () => {
      const r = await runCli(["snapshots", "--json"], { cwd: ws.dir, env });
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.length;
    };
    const before = await count();
    // Due (a day later): the hot captures start while the key is unlocked, then it is refused.
    for (const now of ["2026-11-23T02:00:00Z", "2026-11-22T02:00:00Z"]) {
      const r = await runCli(["apply", "--auto-approve"], { cwd: ws.dir, env: { ...env, BACKPLAN_NOW: now, BACKPLAN_TEST_PASSPHRASE: "wrong" } });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/^backplan: wrong passphrase for repository on /m);
      expect(r.stderr.match(/wrong passphrase/g)?.length).toBe(1); // one error, not one per action
      expect(r.stderr).not.toMatch(/\n\s+at .*:\d+:\d+/);
      if (now === "2026-11-23T02:00:00Z") expect(r.stdout).toMatch(/to snapshot/); // refused after planning
    }
    expect(await count()).toBe(before);
  });

  for (const target of ["nas", "offsite"]) {
    it(`restores the instance from ${target} identical to the source`, async () => {
      const dest = path.join(out, target);
      const r = await runCli(["restore", "openwebui", "--target", target, "--to", dest], { cwd: ws.dir, env });
      expect(r.code, r.stderr).toBe(0);
      const skip = (rel: string) => rel.startsWith("cache") || rel === "audit.log" || rel.startsWith("webui.db") || rel.startsWith("vector_db/chroma.sqlite3");
      const src = await readTree(path.join(ws.dir, "data"), { skip });
      const got = await readTree(dest, { skip });
      expect(got).toEqual(src);
      // webui.db is one consistent file holding every committed row, WAL-only rows included
      const a = new Database(path.join(ws.dir, "data", "webui.db"), { readonly: true });
      const b = new Database(path.join(dest, "webui.db"), { readonly: true });
      const tables = (a.prepare("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name").all() as { name: string }[]).map((t) => t.name);
      for (const t of tables) {
        expect(b.prepare(`SELECT count(*) AS n FROM "${t}"`).get()).toEqual(a.prepare(`SELECT count(*) AS n FROM "${t}"`).get());
      }
      expect(b.pragma("integrity_check", { simple: true })).toBe("ok");
      a.close();
      b.close();
    });
  }

  it("refuses a non-empty destination without --force", async () => {
    const dest = path.join(out, "busy");
    await mkdir(dest, { recursive: true });
    await writeFile(path.join(dest, "keep-me"), "precious");
    const r = await runCli(["restore", "openwebui", "--to", dest], { cwd: ws.dir, env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/not empty|--force/);
  });

  it("verify checks every series and exits 0", async () => {
    const r = await runCli(["verify"], { cwd: ws.dir, env });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout.match(/^OK /gm)?.length).toBe(6);
  });

  it("a wrong passphrase is one clear paragraph, exit 1", async () => {
    const r = await runCli(["snapshots"], { cwd: ws.dir, env: { ...env, BACKPLAN_TEST_PASSPHRASE: "wrong" } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/passphrase/);
    expect(r.stderr).not.toContain("wrong\n");
    expect(r.stderr).not.toMatch(/\n\s+at .*:\d+:\d+/);
  });
});
