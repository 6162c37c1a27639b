/**
 * The worker threads as built (dist/), as the CLI runs them: the unit tests load the TypeScript
 * sources through tsx, and the end-to-end tests' data is too small to reach the thresholds.
 */
import { execFileSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../helpers/cli.js";
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
});
