/**
 * The CLI begins an apply's workspace (spec, targets, key derivations) while the apply command's
 * modules load; openWorkspace then takes that work over as if it had done it, errors included.
 * Each test imports a fresh copy of the module (the begun work is the process's), with loadSpec
 * counted.
 */
import { writeFile } from "node:fs/promises";
import { afterAll, afterEach, beforeAll, expect, it, vi } from "vitest";
import { makeWorkspace, PASS_ENV } from "../helpers/workspace.js";

type WorkspaceModule = typeof import("../../src/workspace.js");
let dir: Awaited<ReturnType<typeof makeWorkspace>>;
let loads = 0;

beforeAll(async () => {
  Object.assign(process.env, PASS_ENV);
  dir = await makeWorkspace();
});
afterAll(() => dir.cleanup());
afterEach(() => {
  vi.doUnmock("../../src/spec/load.js");
});

async function freshModule(): Promise<WorkspaceModule> {
  vi.resetModules();
  loads = 0;
  vi.doMock("../../src/spec/load.js", async (importOriginal) => {
    const real = await importOriginal<typeof import("../../src/spec/load.js")>();
    return { ...real, loadSpec: (...args: Parameters<typeof real.loadSpec>) => (loads++, real.loadSpec(...args)) };
  });
  return import("../../src/workspace.js");
}

it("takes over the spec, targets and key derivations begun before it: the spec is read once", async () => {
  const w = await freshModule();
  w.beginApplyWorkspace(dir.spec);
  expect(loads).toBe(1); // begun at once, not when the workspace is opened
  const ws = await w.openWorkspace(dir.spec, { mode: "apply" });
  try {
    expect(loads).toBe(1);
    expect(ws.opening?.size).toBe(ws.targets.size);
    expect(ws.passphrase).toBe(PASS_ENV.BACKPLAN_TEST_PASSPHRASE);
  } finally {
    await ws.close();
  }
});

it("reports a begun spec's error from openWorkspace, the same error as without the begin", async () => {
  const good = await import("node:fs/promises").then((fs) => fs.readFile(dir.spec, "utf8"));
  await writeFile(dir.spec, "version: 1\ninstances: [\n");
  try {
    const w = await freshModule();
    w.beginApplyWorkspace(dir.spec);
    const err = (await w.openWorkspace(dir.spec, { mode: "apply" }).catch((e: unknown) => e)) as Error;
    const plain = (await (await freshModule()).openWorkspace(dir.spec, { mode: "apply" }).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(Error);
    expect(err.constructor.name).toBe(plain.constructor.name);
    expect(err.message).toBe(plain.message);
    expect(err.message).toContain("backup.yaml");
  } finally {
    await writeFile(dir.spec, good);
  }
});

it("is not taken by another command's workspace, and a begin after the apply's own open starts nothing", async () => {
  const w = await freshModule();
  w.beginApplyWorkspace(dir.spec);
  await (await w.openWorkspace(dir.spec, { mode: "validate" })).close();
  expect(loads).toBe(2);
  await (await w.openWorkspace(dir.spec, { mode: "apply" })).close();
  expect(loads).toBe(2); // the begun one

  // A process whose command opened its workspace before the begin came: the begin is ignored.
  const late = await freshModule();
  await (await late.openWorkspace(dir.spec, { mode: "apply" })).close();
  late.beginApplyWorkspace(dir.spec);
  expect(loads).toBe(1);
});
