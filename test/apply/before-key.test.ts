/**
 * scrypt (~0.1 s) is a no-change apply's longest wait, so what needs no key is done during it:
 * the workspace starts the derivation before it opens the catalog (whose load holds the thread
 * the key file's reads need), and apply asks the stat cache as soon as each component is
 * captured. Nothing is stored before the key is there.
 */
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { openWorkspace } from "../../src/workspace.js";
import { observe } from "../../src/observe/observe.js";
import { plan as makePlan } from "../../src/plan/plan.js";
import { executePlan } from "../../src/apply/run.js";
import { Catalog } from "../../src/catalog/catalog.js";
import { Repository } from "../../src/repo/repository.js";
import { LocalTarget } from "../../src/targets/local.js";
import { makeWorkspace, PASS_ENV } from "../helpers/workspace.js";

let dir: Awaited<ReturnType<typeof makeWorkspace>>;

beforeAll(async () => {
  Object.assign(process.env, PASS_ENV);
  dir = await makeWorkspace();
  const ws = await openWorkspace(dir.spec, { mode: "apply" });
  try {
    const now = new Date("2026-11-22T02:00:00Z");
    const { observed } = await observe(ws.spec, ws.targets, { catalog: ws.catalog, passphrase: ws.passphrase! });
    const r = await executePlan(ws, makePlan(ws.spec, observed, now), { now, emit: () => {}, warn: () => {} });
    expect(r.failed).toEqual([]);
  } finally {
    await ws.close();
  }
});
afterAll(() => dir.cleanup());

it("starts deriving each repository's key before it opens the catalog", async () => {
  const events: string[] = [];
  const open = Repository.open.bind(Repository);
  const repoOpen = vi.spyOn(Repository, "open").mockImplementation((target, opts) => {
    const started = opts.onKeyDerivation;
    return open(target, { ...opts, onKeyDerivation: () => (events.push("derive"), started?.()) });
  });
  const catalogOpen = vi.spyOn(Catalog, "open");
  catalogOpen.mockImplementation(async (specDir) => {
    events.push("catalog");
    catalogOpen.mockRestore();
    return Catalog.open(specDir);
  });
  try {
    // No bound here: a loaded test machine may take longer than a run would wait (KEY_HEAD_START_MS).
    const ws = await openWorkspace(dir.spec, { mode: "apply", keyHeadStartMs: 60_000 });
    await ws.close();
    expect(events).toEqual(["derive", "derive", "catalog"]); // two targets
  } finally {
    repoOpen.mockRestore();
    catalogOpen.mockRestore();
  }
});

it("asks the stat cache for every captured file while the keys are still unlocking, and stores only after", async () => {
  const ws = await openWorkspace(dir.spec, { mode: "apply" });
  const put = vi.spyOn(LocalTarget.prototype, "put");
  try {
    const now = new Date("2026-11-23T02:00:00Z");
    const observed = await observe(ws.spec, ws.targets, { catalog: ws.catalog, deferKeys: true, passphrase: ws.passphrase!, ...(ws.opening ? { opening: ws.opening } : {}) });
    const plan = makePlan(ws.spec, observed.observed, now);
    expect(plan.actions.some((a) => a.type === "snapshot")).toBe(true);
    let unlock = () => {};
    const gate = new Promise<void>((resolve) => (unlock = resolve));
    const get = vi.spyOn(ws.catalog, "get");
    const applying = executePlan(ws, plan, { now, emit: () => {}, warn: () => {}, keys: observed.keys.then(() => gate), repos: observed.repos });
    await vi.waitFor(() => expect(get.mock.calls.length).toBeGreaterThan(10), { timeout: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 200)); // every component captured by then
    const askedBefore = get.mock.calls.length;
    expect(put.mock.calls.filter(([key]) => key.startsWith("snapshots/") || key.startsWith("locks/"))).toEqual([]);
    unlock();
    const r = await applying;
    expect(r.failed).toEqual([]);
    expect(r.done.length).toBeGreaterThan(0);
    expect(askedBefore).toBeGreaterThan(10);
    expect(get.mock.calls.length).toBe(askedBefore); // the stores used what was prepared
  } finally {
    put.mockRestore();
    await ws.close();
  }
});
