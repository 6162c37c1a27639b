import { spawnSync } from "node:child_process";
import path from "node:path";
import { expect, it } from "vitest";
import { percentFor } from "../../src/cli/heap.js";
import { repoRoot } from "../helpers/cli.js";

const MiB = 1024 * 1024;

it("gives a small heap at least 24 MiB of growth and a large one 1.5x", () => {
  expect(percentFor(0)).toBe(400);
  expect(percentFor(4 * MiB)).toBe(400);
  expect(percentFor(9 * MiB)).toBe(300); // 24/9 = 2.67, rounded up to a step of 50
  expect(percentFor(24 * MiB)).toBe(100);
  expect(percentFor(48 * MiB)).toBe(50);
  expect(percentFor(120 * MiB)).toBe(50);
  for (let live = MiB; live < 200 * MiB; live += 3 * MiB) expect(live * (percentFor(live) / 100)).toBeGreaterThanOrEqual(Math.min(24 * MiB, live * 4));
});

it("cuts the full collections of a small heap churning large buffers (a real V8, in a child process)", () => {
  const heap = path.join(repoRoot, "dist", "src", "cli", "heap.js");
  const fullGcs = (mode: string) => {
    const r = spawnSync(process.execPath, ["--trace-gc", path.join(repoRoot, "test", "cli", "fixtures", "churn-heap.mjs"), mode, heap], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    return r.stdout.split("\n").filter((l) => l.includes("Mark-Compact")).length;
  };
  const fixed = fullGcs("fixed");
  const tuned = fullGcs("tuned");
  // Measured: 22-23 with 1.5x growth throughout, 1 tuned.
  expect(fixed).toBeGreaterThanOrEqual(10);
  expect(tuned).toBeLessThanOrEqual(fixed / 3);
});
