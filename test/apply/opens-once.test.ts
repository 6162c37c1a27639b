/**
 * An apply reads each repository's config and key file once: the workspace starts opening it
 * (for scrypt's head start), observe takes that over, and the stores use observe's repository.
 * Each extra open is three requests to a remote target, on the path to the first store.
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
