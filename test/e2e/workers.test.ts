/**
 * The worker threads as built (dist/), as the CLI runs them: the unit tests load the TypeScript
 * sources through tsx, and the end-to-end tests' data is too small to reach the thresholds.
 * The bundled CLI (dist/cli/) finds its workers from its chunks, not beside their callers.
 */
import { execFileSync } from "node:child_process";
import { readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { cliPath, repoRoot, runCli } from "../helpers/cli.js";
import { generateOpenWebUi } from "../../src/demo/generate.js";
import { withTmpDir } from "../helpers/tmp.js";

const dist = (p: string) => JSON.stringify(path.join(repoRoot, "dist", "src", p));

describe("worker threads of the built package", () => {
  it("copy a SQLite database and decode chunks off the main thread", () =>
    withTmpDir(async (dir) => {
      const script = `
        const { generateOpenWebUi } = await import(${dist("demo/generate.js")});
        const { captureSqlite } = await import(${dist("capture/sqlite.js")});
        const { Repository } = await import(${dist("repo/repository.js")});
        const { storeSnapshot } = await import(${dist("repo/store.js")});
        const { restoreSnapshots } = await import(${dist("repo/restore.js")});
        const { LocalTarget } = await import(${dist("targets/local.js")});
        const fs = await import("node:fs");
        const dir = ${JSON.stringify(dir)};
        const gen = await generateOpenWebUi(dir + "/data", { seed: 2, scale: 0.05 });
        let stats;
        const entry = await captureSqlite(gen.paths.webuiDb, "webui.db", dir + "/staged.db", { copyOn: "worker", onStats: (s) => (stats = s) });
        const repo = await Repository.open(new LocalTarget("t", dir + "/repo"), { create: true, passphrase: "pw" });
        const now = new Date();
        const s = await storeSnapshot(repo, { instance: "i", component: "webui.db", kind: "sqlite", consistency: "hot", entries: [entry], warnings: [], startedAt: now, finishedAt: now, cleanup: async () => {} });
        await restoreSnapshots(repo, [await repo.readSnapshot(s.id)], dir + "/out", { decodeOn: "worker" });
        const same = fs.readFileSync(dir + "/out/webui.db").equals(fs.readFileSync(dir + "/staged.db"));
        console.log(JSON.stringify({ pages: stats.pages, same }));
      `;
      const file = path.join(dir, "run.mjs");
      await writeFile(file, script);
      const out = execFileSync(process.execPath, [file], { encoding: "utf8" });
      const r = JSON.parse(out.trim().split("\n").pop()!) as { pages: number; same: boolean };
      expect(r.pages).toBeGreaterThan(0);
      expect(r.same).toBe(true);
    }));

  it("run from the bundled CLI: a 40 MiB database copied and restored on them", () =>
    withTmpDir(async (dir) => {
      expect(path.relative(repoRoot, cliPath)).toBe(path.join("dist", "cli", "main.js"));
      const gen = await generateOpenWebUi(path.join(dir, "data"), { seed: 3, scale: 0.05, dbMiB: 40 });
      expect((await stat(gen.paths.webuiDb)).size).toBeGreaterThan(32 * 1024 * 1024); // both workers' thresholds
      await writeFile(
        path.join(dir, "backup.yaml"),
        `version: 1
instances:
  openwebui: { preset: open-webui, path: ./data }
targets:
  disk: { type: local, path: ./target }
encryption: { passphrase: "\${env:BACKPLAN_TEST_PASSPHRASE}" }
policies:
  - { target: disk, every: daily, keep: { last: 3 } }
`,
      );
      const env = { BACKPLAN_TEST_PASSPHRASE: "pw", BACKPLAN_NOW: "2026-11-22T02:00:00Z" };
      const applied = await runCli(["apply", "--auto-approve"], { cwd: dir, env });
      expect(applied.code, applied.stderr).toBe(0);
      const restored = await runCli(["restore", "openwebui", "--to", path.join(dir, "out")], { cwd: dir, env });
      expect(restored.code, restored.stderr).toBe(0);
      const staged = path.join(dir, ".backplan", "staging", "openwebui", "webui.db");
      const out = await readFile(path.join(dir, "out", "webui.db"));
      expect(out.length).toBeGreaterThan(32 * 1024 * 1024);
      expect(out.equals(await readFile(await firstFile(staged)))).toBe(true);
    }), 60_000);
});

/** The staged copy: a file, or the one file in a folder. */
async function firstFile(p: string): Promise<string> {
  const { readdir } = await import("node:fs/promises");
  if ((await stat(p)).isFile()) return p;
  const [name] = await readdir(p);
  return firstFile(path.join(p, name!));
}
