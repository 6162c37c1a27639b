/**
 * An apply reads each repository's config and key file once: the workspace starts opening it
 * (for scrypt's head start), observe takes that over, and the stores use observe's repository.
 * Each extra open is three requests to a remote target, on the path to the first store.
 * Its snapshots share one lock per target, so the index is read once, not once per store.
 */
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { openWorkspace } from "../../src/workspace.js";
import { observe } from "../../src/observe/observe.js";
import { plan as makePlan } from "../../src/plan/plan.js";
import { executePlan } from "../../src/apply/run.js";
import { LocalTarget } from "../../src/targets/local.js";
import { makeWorkspace, PASS_ENV } from "../helpers/workspace.js";

let dir: Awaited<ReturnType<typeof makeWorkspace>>;

async function applyAt(now: Date) {
  const ws = await openWorkspace(dir.spec, { mode: "apply" });
  try {
    const { observed, keys, repos } = await observe(ws.spec, ws.targets, {
      catalog: ws.catalog,
      deferKeys: true,
      passphrase: ws.passphrase!,
      ...(ws.opening ? { opening: ws.opening } : {}),
    });
    const plan = makePlan(ws.spec, observed, now);
    expect(plan.actions.some((a) => a.type === "snapshot")).toBe(true);
    const r = await executePlan(ws, plan, { now, emit: () => {}, warn: () => {}, keys, repos });
    expect(r.failed).toEqual([]);
    return ws.targets.size;
  } finally {
    await ws.close();
  }
}

beforeAll(async () => {
  Object.assign(process.env, PASS_ENV);
  dir = await makeWorkspace();
  await applyAt(new Date("2026-11-22T02:00:00Z")); // creates the repositories
});
afterAll(() => dir.cleanup());

it("reads each repository's config and key file once per apply", async () => {
  const get = vi.spyOn(LocalTarget.prototype, "get");
  try {
    const targets = await applyAt(new Date("2026-11-23T02:00:00Z"));
    const keys = get.mock.calls.map(([key]) => key);
    expect(targets).toBeGreaterThan(0);
    expect(keys.filter((k) => k === "config")).toHaveLength(targets);
    expect(keys.filter((k) => k.startsWith("keys/"))).toHaveLength(targets);
  } finally {
    get.mockRestore();
  }
});

it("takes one lock per target for all its snapshots, writes it once, and reads each index object once", async () => {
  const get = vi.spyOn(LocalTarget.prototype, "get");
  const put = vi.spyOn(LocalTarget.prototype, "put");
  try {
    await applyAt(new Date("2026-11-24T02:00:00Z"));
    const calls = put.mock.calls.map(([key], i) => ({ key, target: put.mock.contexts[i] }));
    const stored = calls.filter((c) => c.key.startsWith("snapshots/"));
    const targets = new Set(stored.map((c) => c.target)).size;
    expect(stored.length).toBeGreaterThan(targets); // several stores per target, or the test shows nothing
    const lockPuts = calls.filter((c) => c.key.startsWith("locks/")).map((c) => c.key);
    expect(new Set(lockPuts).size).toBe(targets);
    expect(lockPuts).toHaveLength(targets); // written once: a fresh lock is not renewed before each manifest
    const indexGets = get.mock.calls.map(([key]) => key).filter((k) => k.startsWith("index/"));
    expect(indexGets.length).toBeGreaterThan(0);
    expect(indexGets).toHaveLength(new Set(indexGets).size);
  } finally {
    get.mockRestore();
    put.mockRestore();
  }
});
