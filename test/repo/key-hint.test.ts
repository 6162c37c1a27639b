/**
 * The key hint (src/repo/key-hint.ts): the derivation it starts is the one the open then uses,
 * and a hint that is wrong, stale or garbage changes nothing but the CPU spent. Each case loads
 * the modules afresh (vi.resetModules): the derivation cache is per process, and in one module
 * instance the repository's creation would already have filled it.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { runCli } from "../helpers/cli.js";
import { makeWorkspace, PASS_ENV } from "../helpers/workspace.js";

const REF = { ref: "${env:BACKPLAN_HINT_TEST_PASS}", kind: "env" as const, name: "BACKPLAN_HINT_TEST_PASS" };

async function fresh() {
  vi.resetModules();
  const crypto = await import("../../src/repo/crypto.js");
  const hint = await import("../../src/repo/key-hint.js");
  const { Repository } = await import("../../src/repo/repository.js");
  const { LocalTarget } = await import("../../src/targets/local.js");
  return { ...crypto, ...hint, Repository, LocalTarget };
}

describe("key hint", () => {
  let dir: string;
  let configPath: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "backplan-key-hint-"));
    configPath = path.join(dir, "backup.yaml");
    await mkdir(path.join(dir, ".backplan"));
    process.env.BACKPLAN_HINT_TEST_PASS = "right passphrase";
  });
  afterEach(async () => {
    delete process.env.BACKPLAN_HINT_TEST_PASS;
    await rm(dir, { recursive: true, force: true });
  });

  /** A repository on a local target, and its hint as an apply would leave it. */
  async function repoWithHint(): Promise<string> {
    const m = await fresh();
    const target = new m.LocalTarget("t", path.join(dir, "target"));
    const created = await m.Repository.open(target, { passphrase: "right passphrase", create: true });
    await created.putJson("snapshots/probe", { ok: true });
    const reopened = await m.Repository.open(target, { passphrase: "right passphrase", create: false });
    m.rememberKeyHintOf(dir, REF, [reopened!]);
    return target.root;
  }

  it("starts the derivation that the open then uses, once", async () => {
    const root = await repoWithHint();
    const m = await fresh();
    expect(m.derivationsStarted()).toBe(0);
    expect(m.deriveAhead(configPath)).toBe(1);
    expect(m.derivationsStarted()).toBe(1);
    const repo = await m.Repository.open(new m.LocalTarget("t", root), { passphrase: "right passphrase", create: false });
    expect(await repo!.getJson("snapshots/probe")).toEqual({ ok: true });
    expect(m.derivationsStarted()).toBe(1); // the hinted one, not a second
  });

  it("holds the reference and the key file, never the passphrase; mode 0600; rewritten only when it changes", async () => {
    const root = await repoWithHint();
    const file = path.join(dir, ".backplan", "key-hint.json");
    const text = await readFile(file, "utf8");
    expect(text).not.toContain("right passphrase");
    const hint = JSON.parse(text) as { passphrase: unknown; keyFiles: string[] };
    expect(hint.passphrase).toEqual(REF);
    expect(hint.keyFiles).toHaveLength(1);
    expect(hint.keyFiles[0]!.startsWith(path.join(root, "keys") + path.sep)).toBe(true);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const before = (await stat(file)).mtimeMs;
    await new Promise((r) => setTimeout(r, 20));
    const m = await fresh();
    const repo = await m.Repository.open(new m.LocalTarget("t", root), { passphrase: "right passphrase", create: false });
    m.rememberKeyHintOf(dir, REF, [repo!]);
    expect((await stat(file)).mtimeMs).toBe(before);
  });

  it("a hint whose variable now holds another passphrase costs a derivation and changes nothing else", async () => {
    const root = await repoWithHint();
    process.env.BACKPLAN_HINT_TEST_PASS = "some other passphrase";
    const m = await fresh();
    expect(m.deriveAhead(configPath)).toBe(1);
    const repo = await m.Repository.open(new m.LocalTarget("t", root), { passphrase: "right passphrase", create: false });
    expect(await repo!.getJson("snapshots/probe")).toEqual({ ok: true });
    expect(m.derivationsStarted()).toBe(2);
    // ...and with that other passphrase the open fails as it always did.
    await expect(m.Repository.open(new m.LocalTarget("t", root), { passphrase: "some other passphrase", create: false })).rejects.toThrow(/wrong passphrase/);
  });

  it("garbage, a missing key file or an unset variable start nothing and throw nothing", async () => {
    const file = path.join(dir, ".backplan", "key-hint.json");
    const m = await fresh();
    expect(m.deriveAhead(configPath)).toBe(0); // no hint
    for (const text of ["{", "null", '{"version":2}', JSON.stringify({ version: 1, passphrase: REF, keyFiles: ["relative/key"] })]) {
      await writeFile(file, text);
      expect(m.deriveAhead(configPath)).toBe(0);
    }
    await writeFile(file, JSON.stringify({ version: 1, passphrase: REF, keyFiles: [path.join(dir, "nope")] }));
    expect(m.deriveAhead(configPath)).toBe(0);
    await repoWithHint();
    delete process.env.BACKPLAN_HINT_TEST_PASS;
    const n = await fresh();
    expect(n.deriveAhead(configPath)).toBe(0);
    expect(n.derivationsStarted()).toBe(0);
  });

  it("which spec an unlocking command reads, from argv", async () => {
    const { unlockingSpec } = await import("../../src/cli/early.js");
    const cwd = "/work";
    expect(unlockingSpec(["apply", "--auto-approve"], cwd)).toBe("/work/backup.yaml");
    expect(unlockingSpec(["-c", "x/b.yaml", "apply"], cwd)).toBe("/work/x/b.yaml");
    expect(unlockingSpec(["--config=/etc/b.yaml", "plan", "--format", "json"], cwd)).toBe("/etc/b.yaml");
    expect(unlockingSpec(["-cb.yaml", "restore", "openwebui", "--to", "r"], cwd)).toBe("/work/b.yaml");
    expect(unlockingSpec(["apply", "-c", "late.yaml"], cwd)).toBe("/work/late.yaml");
    expect(unlockingSpec(["validate"], cwd)).toBeUndefined();
    expect(unlockingSpec(["--help"], cwd)).toBeUndefined();
    expect(unlockingSpec([], cwd)).toBeUndefined();
  });

  it("a first CLI apply leaves the hint, and the next apply works with a damaged one and writes it anew", { timeout: 60_000 }, async () => {
    const ws = await makeWorkspace();
    try {
      const env = { ...PASS_ENV, BACKPLAN_NOW: "2026-11-22T02:00:00Z" };
      // The first apply creates the repositories, and names their keys.
      expect((await runCli(["apply", "--auto-approve"], { cwd: ws.dir, env })).code).toBe(0);
      const file = path.join(ws.dir, ".backplan", "key-hint.json");
      const hint = JSON.parse(await readFile(file, "utf8")) as { keyFiles: string[] };
      expect(hint.keyFiles.map((f) => path.relative(ws.dir, f).split(path.sep).slice(0, 2).join("/")).sort()).toEqual(["targets/nas", "targets/offsite"]);
      await writeFile(file, "{ damaged");
      const r = await runCli(["apply", "--auto-approve"], { cwd: ws.dir, env: { ...env, BACKPLAN_NOW: "2026-11-23T02:00:00Z" } });
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(await readFile(file, "utf8"))).toEqual(hint); // written anew
    } finally {
      await ws.cleanup();
    }
  });
});
