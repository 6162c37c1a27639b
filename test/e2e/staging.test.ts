/**
 * The persistent staging area through the CLI: a no-change apply copies no SQLite database again,
 * a commit (even one only in the -wal) is captured and restorable, and deleting `.backplan/`
 * costs nothing but a fresh copy.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lstat, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import path from "node:path";
import Database from "better-sqlite3";
import { runCli } from "../helpers/cli.js";
import { makeWorkspace, PASS_ENV } from "../helpers/workspace.js";

describe("apply with the persistent staging area", () => {
  let ws: Awaited<ReturnType<typeof makeWorkspace>>;
  const env = (now: string) => ({ ...PASS_ENV, BACKPLAN_NOW: now });
  const apply = async (now: string) => {
    const r = await runCli(["apply", "--auto-approve"], { cwd: ws.dir, env: env(now) });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    return r;
  };
  const staging = () => path.join(ws.dir, ".backplan", "staging", "openwebui");
  const stagedDb = () => path.join(staging(), "webui.db", "webui.db");
  const stagedChroma = () => path.join(staging(), "vector_db", "chroma.sqlite3");
  const stamp = async (file: string) => {
    const st = await lstat(file);
    return { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, ctimeMs: st.ctimeMs };
  };

  beforeAll(async () => {
    ws = await makeWorkspace();
    // Written a while ago, as a quiet instance's would be (a capture within a second of a write never counts as unchanged).
    const t = Date.now() / 1000 - 3600;
    for (const f of ["webui.db", "webui.db-wal", "vector_db/chroma.sqlite3", "vector_db/chroma.sqlite3-wal"]) await utimes(path.join(ws.dir, "data", f), t, t);
  });
  afterAll(async () => {
    await ws.cleanup();
  });

  it("stages each database once, beside the spec, readable by its owner only; files components stage nothing", async () => {
    await apply("2026-11-22T02:00:00Z");
    expect((await readdir(staging())).sort()).toEqual(["vector_db", "webui.db"]);
    expect(await readdir(path.dirname(stagedDb()))).toEqual(["webui.db"]);
    expect(await readdir(path.dirname(stagedChroma()))).toEqual(["chroma.sqlite3"]);
    for (const f of [stagedDb(), stagedChroma()]) expect((await lstat(f)).mode & 0o777).toBe(0o600);
    expect((await lstat(path.join(ws.dir, ".backplan", "staging"))).mode & 0o777).toBe(0o700);
  });

  it("a no-change apply makes no new copy and writes nothing for it", async () => {
    const before = [await stamp(stagedDb()), await stamp(stagedChroma())];
    const r = await apply("2026-11-23T02:00:00Z");
    expect(r.stdout + r.stderr).toMatch(/snapshot openwebui\/webui\.db@offsite: snapshot \w+: 1 files, [^,]+, 0 B written/);
    expect([await stamp(stagedDb()), await stamp(stagedChroma())]).toEqual(before);
  });

  it("a commit that lives only in the -wal is captured, and restored", async () => {
    const before = await stamp(stagedDb());
    // The application's connection stays open, so its commit is not checkpointed into webui.db.
    const app = new Database(path.join(ws.dir, "data", "webui.db"));
    try {
      app.pragma("wal_autocheckpoint = 0");
      app.exec("CREATE TABLE e2e_marker (note TEXT); INSERT INTO e2e_marker VALUES ('after the first copy')");
      await apply("2026-11-24T02:00:00Z");
      expect((await stamp(stagedDb())).ctimeMs).not.toBe(before.ctimeMs); // a new copy, written over the old in place
      const dest = path.join(ws.dir, "restored");
      const r = await runCli(["restore", "openwebui", "--component", "webui.db", "--target", "offsite", "--to", dest], { cwd: ws.dir, env: env("2026-11-24T03:00:00Z") });
      expect(r.code, r.stderr).toBe(0);
      const restored = new Database(path.join(dest, "webui.db"), { readonly: true });
      expect(restored.prepare("SELECT note FROM e2e_marker").all()).toEqual([{ note: "after the first copy" }]);
      restored.close();
    } finally {
      app.close();
    }
  });

  it("works on after .backplan/ is deleted: a fresh copy", async () => {
    await rm(path.join(ws.dir, ".backplan"), { recursive: true });
    await apply("2026-11-25T02:00:00Z");
    expect((await lstat(stagedDb())).isFile()).toBe(true);
    expect((await lstat(stagedChroma())).isFile()).toBe(true);
  });

  it("removes the copy of a component that is disabled", async () => {
    const spec = await readFile(ws.spec, "utf8");
    await writeFile(ws.spec, spec.replace("    path: ./data\n", "    path: ./data\n    components: { webui.db: { enabled: false } }\n"));
    await apply("2026-11-26T02:00:00Z");
    expect(await readdir(staging())).toEqual(["vector_db"]);
  });
});
