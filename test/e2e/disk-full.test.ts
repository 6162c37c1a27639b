/**
 * A full disk on the NAS target: a real 96 KiB tmpfs mounted as the target folder. The apply
 * fails with one clear paragraph, leaves no snapshot that lists as good, and once there is room
 * the next apply converges. Needs root to mount (CI and these machines run as root); where mount
 * is not permitted the test says so and is reported as skipped.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { captureSqlite } from "../../src/capture/sqlite.js";
import { generateOpenWebUi } from "../../src/demo/generate.js";
import { UserError } from "../../src/errors.js";
import { restoreSnapshots } from "../../src/repo/restore.js";
import { storeSnapshot } from "../../src/repo/store.js";
import { runCli } from "../helpers/cli.js";
import { withTmpDir } from "../helpers/tmp.js";
import { captureDir, openRepo, seededBytes } from "../repo/helpers.js";
import { makeWorkspace, PASS_ENV } from "../helpers/workspace.js";

const spec = `version: 1
instances:
  openwebui: { preset: open-webui, path: ./data }
targets:
  nas: { type: local, path: ./mnt/backplan }
encryption: { passphrase: "\${env:BACKPLAN_TEST_PASSPHRASE}" }
policies:
  - { target: nas, every: daily, keep: { daily: 7 } }
`;

function canMount(): boolean {
  const probe = path.join("/tmp", `backplan-mount-probe-${process.pid}`);
  mkdirSync(probe, { recursive: true });
  const ok = spawnSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", probe]).status === 0;
  if (ok) spawnSync("umount", [probe]);
  rmSync(probe, { recursive: true, force: true });
  return ok;
}

describe.runIf(canMount())("a full disk", () => {
  let ws: Awaited<ReturnType<typeof makeWorkspace>>;
  let mnt: string;
  beforeAll(async () => {
    ws = await makeWorkspace(spec);
    mnt = path.join(ws.dir, "mnt");
    mkdirSync(mnt);
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=96k", "tmpfs", mnt]);
  });
  afterAll(async () => {
    spawnSync("umount", [mnt]);
    await ws.cleanup();
  });

  it("fails clearly, leaves no good-looking snapshot, and converges once there is room", async () => {
    const env = { ...PASS_ENV, BACKPLAN_NOW: "2026-11-22T02:00:00Z" };
    const full = await runCli(["apply", "--auto-approve"], { cwd: ws.dir, env });
    expect(full.code).not.toBe(0);
    expect(full.stderr).toMatch(/no space left on the device/);
    expect(full.stderr).not.toMatch(/\n\s+at .*:\d+:\d+/);
    const listed = await runCli(["snapshots", "--json"], { cwd: ws.dir, env });
    const snaps = (JSON.parse(listed.stdout) as { snapshots: { component: string }[] }).snapshots;
    // Whatever fitted is complete; the component that hit the wall is not listed at all.
    expect(snaps.length).toBeLessThan(3);

    execFileSync("mount", ["-o", "remount,size=64m", mnt]);
    const again = await runCli(["apply", "--auto-approve"], { cwd: ws.dir, env: { ...env, BACKPLAN_NOW: "2026-11-22T03:00:00Z" } });
    expect(again.code, again.stderr).toBe(0);
    const verify = await runCli(["verify"], { cwd: ws.dir, env });
    expect(verify.code, verify.stdout).toBe(0);
  });

  it("a restore onto a full disk says so, names the file, and leaves no half-written file", async () => {
    const env = { ...PASS_ENV, BACKPLAN_NOW: "2026-11-22T04:00:00Z" };
    const small = path.join(ws.dir, "small");
    mkdirSync(small);
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=128k", "tmpfs", small]);
    try {
      const r = await runCli(["restore", "openwebui", "--to", path.join(small, "out")], { cwd: ws.dir, env });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^backplan: cannot restore .*small\/out\/.*: no space left on the device\n {2}free space on the disk that holds /m);
      expect(r.stderr).not.toMatch(/internal error|\n\s+at .*:\d+:\d+/);
      const left = execFileSync("find", [small, "-name", ".*.backplan-*"], { encoding: "utf8" });
      expect(left).toBe("");
    } finally {
      spawnSync("umount", [small]);
    }
  });

  // The decoder threads write large restores themselves: their ENOSPC must come back as the same error.
  it.each([false, true])("decoder threads that hit a full disk give the same clear error and leave no temp file (whole files: %s)", (localFiles) =>
    withTmpDir(async (dir) => {
      const data = path.join(dir, "data");
      mkdirSync(path.join(data, "uploads"), { recursive: true });
      writeFileSync(path.join(data, "uploads", "big.bin"), seededBytes(3_000_000, "big"));
      const { repo } = await openRepo(path.join(dir, "repo"), "pw", { localFiles });
      const s = await storeSnapshot(repo, await captureDir(data, { sub: "uploads" }));
      const small = path.join(dir, "small");
      mkdirSync(small);
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", small]);
      try {
        const err = await restoreSnapshots(repo, [await repo.readSnapshot(s.id)], path.join(small, "out"), { decodeOn: "worker" }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(UserError);
        expect((err as Error).message).toMatch(/^cannot restore .*small\/out\/.*big\.bin: no space left on the device$/);
        expect(execFileSync("find", [small, "-name", ".*.backplan-*"], { encoding: "utf8" })).toBe("");
      } finally {
        spawnSync("umount", [small]);
      }
    }));

  it.each(["here", "worker"] as const)("a SQLite copy (made %s) into a full staging area is one clear error and leaves nothing there", (copyOn) =>
    withTmpDir(async (dir) => {
      const demo = await generateOpenWebUi(path.join(dir, "data"), { seed: 2, scale: 0.05 });
      const small = path.join(dir, "staging");
      mkdirSync(small);
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", small]);
      try {
        const err = await captureSqlite(demo.paths.webuiDb, "webui.db", path.join(small, "webui.db"), { copyOn }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(UserError);
        expect((err as Error).message).toMatch(/^cannot write the staging copy .*staging\/webui\.db \(disk full\)$/);
        expect(execFileSync("find", [small, "-mindepth", "1"], { encoding: "utf8" })).toBe("");
      } finally {
        spawnSync("umount", [small]);
      }
    }),
  );
});
