/** The benchmark's tiny smoke run, so the script never rots. Asserts shape, never timings. */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { repoRoot } from "../helpers/cli.js";

describe("npm run bench (tiny smoke run)", () => {
  it("runs every phase against the peers and writes the markdown table", { timeout: 180_000 }, () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "backplan-bench-smoke-"));
    try {
      const out = path.join(dir, "result.md");
      const r = spawnSync(process.execPath, [path.join(repoRoot, "dist", "bench", "run.js"), "--tiny", "--repeat", "2", "--files", "200", "--out", out], { encoding: "utf8" });
      expect(r.status, r.stderr).toBe(0);
      const md = readFileSync(out, "utf8");
      for (const phase of ["full", "no-change", "churn 1%", "restore"]) expect(md).toContain(`| ${phase} | backplan |`);
      expect(md).toMatch(/\| full \| restic \| [\d.]+ \| \d+ \| [\d.]+× \| [\d.]+ · [\d.]+ \([\d.]+×\) \|/);
      expect(md).toMatch(/No-change `backplan plan` on 200 small files/);
      expect(md).toContain("every run starts after an untimed `sync`");
      // The tools take turns going first: round 2 runs each phase in round 1's order, turned by one.
      const fulls = [...r.stderr.matchAll(/^ {2}(\S+(?: -r)?) +full /gm)].map((m) => m[1]);
      const first = fulls.slice(0, fulls.length / 2);
      expect(first[0]).toBe("backplan");
      expect(fulls.slice(fulls.length / 2)).toEqual([...first.slice(1), first[0]]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
