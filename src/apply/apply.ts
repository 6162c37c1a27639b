/**
 * Executes a Plan's actions exactly: it never re-plans. Order per run:
 *   capture each due component once → store it to every target due → prune (only series whose
 *   planned snapshot succeeded) → garbage-collect → verify.
 * One failing series or target never stops the others; the result says which failed.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Spec, Instance } from "../spec/types.js";
import type { Action, Plan, PruneAction, SnapshotAction, VerifyAction } from "../plan/types.js";
import type { Target } from "../targets/target.js";
import type { Catalog } from "../catalog/catalog.js";
import type { Emit } from "./events.js";
import { Repository } from "../repo/repository.js";
import { prepareStore, storeSnapshot, type PreparedStore } from "../repo/store.js";
import { acquireLock, type HeldLock } from "../repo/locks.js";
import { forgetSnapshots, gc } from "../repo/prune.js";
import { verifySnapshot } from "../repo/verify.js";
import { captureComponent } from "../capture/index.js";
import { pruneStaging } from "../capture/staging.js";
import type { CapturedComponent } from "../capture/types.js";
import { resolveVolume, withColdWindow } from "../docker/index.js";
import { BugError, describeError, UserError } from "../errors.js";
import { formatBytes } from "../render/format.js";

export interface ApplyDeps {
  spec: Spec;
  targets: Map<string, Target>;
  catalog: Catalog;
  passphrase?: string;
  /** The clock the snapshots are stamped with (BACKPLAN_NOW in tests). */
  now: Date;
  emit: Emit;
  /**
   * The repositories' keys still being unlocked (observe's `deferKeys`): hot captures start
   * before it settles, anything that stores, stops a service, prunes or verifies after.
   */
  keys?: Promise<void>;
  /**
   * Repositories observe opened, by target name: used as they are, not opened again. Those the
   * apply creates are added to it.
   */
  repos?: Map<string, Repository>;
}

export interface ApplyResult {
  done: Action[];
  failed: { action: Action; error: string }[];
  skipped: { action: Action; why: string }[];
  /** Snapshot ids created, by series address. */
  created: Map<string, string>;
}

export async function applyPlan(plan: Plan, deps: ApplyDeps): Promise<ApplyResult> {
  const started = Date.now();
  const result: ApplyResult = { done: [], failed: [], skipped: [], created: new Map() };
  deps.emit({ type: "apply-start", actions: plan.actions.length, at: deps.now.toISOString() });
  const repos = new RepoCache(deps);

  try {
    await tidyStaging(deps);
    try {
      await runSnapshots(plan.actions.filter(isSnapshot), deps, repos, result);
    } finally {
      // Before the prunes: gc takes an exclusive lock, which our own shared one would block.
      await repos.releaseBackupLocks();
    }
    await deps.keys;
    await runPrunes(plan.actions.filter(isPrune), deps, repos, result);
    await runVerifies(plan.actions.filter(isVerify), deps, repos, result);
  } finally {
    deps.emit({
      type: "apply-done",
      done: result.done.length,
      failed: result.failed.length,
      skipped: result.skipped.length,
      ms: Date.now() - started,
    });
  }
  return result;
}

/**
 * Drops staged copies the spec no longer needs (see pruneStaging). Best effort: a copy that
 * cannot be removed now only costs disk, and the next apply tries again.
 */
async function tidyStaging(deps: ApplyDeps): Promise<void> {
  if (deps.catalog.stateDir === undefined) return;
  const wanted = new Map(
    Object.values(deps.spec.instances).map((i) => [
      i.name,
      new Set(Object.values(i.components).filter((c) => c.enabled && c.kind !== "files").map((c) => c.name)),
    ]),
  );
  await pruneStaging(stagingRoot(deps.catalog.stateDir), wanted).catch(() => undefined);
}

/** `.backplan/staging`: one copy of each SQLite database (src/capture/staging.ts). */
const stagingRoot = (stateDir: string) => path.join(stateDir, "staging");

const isSnapshot = (a: Action): a is SnapshotAction => a.type === "snapshot";
const isPrune = (a: Action): a is PruneAction => a.type === "prune";
const isVerify = (a: Action): a is VerifyAction => a.type === "verify";

/** Each target's repository, opened once per apply (or observe's), created on first write. */
class RepoCache {
  private readonly open = new Map<string, Promise<Repository>>();
  private readonly backupLocks = new Map<string, Promise<HeldLock>>();
  constructor(private readonly deps: ApplyDeps) {}
  get(targetName: string): Promise<Repository> {
    let p = this.open.get(targetName);
    const opened = this.deps.repos?.get(targetName);
    if (!p && opened) this.open.set(targetName, (p = Promise.resolve(opened)));
    if (!p) {
      const target = this.deps.targets.get(targetName);
      if (!target) throw new BugError(`plan names target "${targetName}" that is not open`);
      p = Repository.open(target, {
        ...(this.deps.passphrase !== undefined ? { passphrase: this.deps.passphrase } : {}),
        create: true,
      }) as Promise<Repository>;
      // Into the caller's map too: it learns which repositories this apply created (the key hint).
      p.then((repo) => this.deps.repos?.set(targetName, repo), () => undefined);
      this.open.set(targetName, p);
    }
    return p;
  }

  /**
   * One shared lock per target for all of this apply's snapshots, as restic holds one per
   * backup: with a lock per store, the index was forgotten when each store released its lock
   * and read again by the next (three reads of every index object for one instance's three
   * components), besides two more lock writes and listings per store.
   */
  backupLock(targetName: string, repo: Repository): Promise<HeldLock> {
    let p = this.backupLocks.get(targetName);
    if (!p) {
      p = acquireLock(repo, { exclusive: false, purpose: "backup (apply)" });
      p.catch(() => undefined); // each store awaits it, and fails with its error
      this.backupLocks.set(targetName, p);
    }
    return p;
  }

  async releaseBackupLocks(): Promise<void> {
    const held = [...this.backupLocks.values()];
    this.backupLocks.clear();
    // A release that fails leaves a lock that expires (LOCK_TTL_MS) or is seen as a dead process's.
    await Promise.allSettled(held.map(async (p) => (await p).release()));
  }
}

function fail(result: ApplyResult, emit: Emit, action: Action, err: unknown): void {
  const error = describeError(err);
  result.failed.push({ action, error });
  emit({ type: "action-failed", action, error });
}

async function runSnapshots(actions: SnapshotAction[], deps: ApplyDeps, repos: RepoCache, result: ApplyResult) {
  // Capture once, store many: group the actions by instance, then by component.
  const byInstance = new Map<string, Map<string, SnapshotAction[]>>();
  for (const a of actions) {
    const comps = byInstance.get(a.instance) ?? new Map<string, SnapshotAction[]>();
    comps.set(a.component, [...(comps.get(a.component) ?? []), a]);
    byInstance.set(a.instance, comps);
  }
  for (const [instanceName, comps] of byInstance) {
    const instance = deps.spec.instances[instanceName];
    const all = [...comps.values()].flat();
    if (!instance) {
      for (const a of all) fail(result, deps.emit, a, new BugError(`unknown instance ${instanceName}`));
      continue;
    }
    let root: string;
    try {
      root = await instanceRoot(instance);
    } catch (err) {
      for (const a of all) fail(result, deps.emit, a, err);
      continue;
    }
    // Only cold components go inside the stop window, all of them in one window.
    const cold = [...comps.entries()].filter(([, acts]) => acts.some((a) => seriesConsistency(deps, a) === "cold"));
    const hot = [...comps.entries()].filter(([c]) => !cold.some(([cc]) => cc === c));
    // Every hot capture starts at once; stores follow in order. A large SQLite copy runs on a
    // worker thread, so it overlaps the store of the uploads instead of waiting for it.
    const captures = hot.map(([component, acts]) => ({
      acts,
      captured: captureFor(instance, root, component, acts, deps, result).catch((err: unknown) => {
        for (const a of acts) fail(result, deps.emit, a, err);
        return undefined;
      }),
    }));
    try {
      await deps.keys;
    } catch (err) {
      // A wrong passphrase: nothing is stored; the copies made so far are tidied, then it is the error.
      for (const c of captures) await (await c.captured)?.done();
      throw err;
    }
    for (const c of captures) await storeCaptured(await c.captured, c.acts, deps, repos, result);
    if (cold.length > 0) {
      const work = async () => {
        for (const [component, acts] of cold) await storeCaptured(await captureFor(instance, root, component, acts, deps, result), acts, deps, repos, result);
      };
      if (!instance.compose) {
        // Validation requires compose for cold consistency; a hot capture is still consistent for SQLite.
        await work();
      } else {
        try {
          await withColdWindow(instance.compose, work, {
            onDowntime: (ms: number) =>
              deps.emit({ type: "downtime", instance: instanceName, service: instance.compose!.service, ms }),
          });
        } catch (err) {
          for (const [, acts] of cold)
            for (const a of acts) if (!result.done.includes(a) && !result.failed.some((f) => f.action === a)) fail(result, deps.emit, a, err);
        }
      }
    }
  }
}

function seriesConsistency(deps: ApplyDeps, a: SnapshotAction): "hot" | "cold" {
  return deps.spec.series.find((s) => s.address === a.address)?.consistency ?? "hot";
}

async function instanceRoot(instance: Instance): Promise<string> {
  if (instance.path) return instance.path;
  if (instance.volume) return resolveVolume(instance.volume);
  throw new UserError(`instance "${instance.name}" has neither path nor volume`, {
    hint: "set `path:` to the data directory or `volume:` to the Docker volume name",
  });
}

interface Captured {
  capture: CapturedComponent;
  /** Found as soon as it is captured, while the keys may still be unlocking (prepareStore). */
  prepared: PreparedStore;
  /** Removes the capture's temporary files (never the persistent staging area). */
  done(): Promise<void>;
}

/** Captures one component for all its due targets; on failure fails those actions and gives undefined. */
async function captureFor(
  instance: Instance,
  root: string,
  componentName: string,
  actions: SnapshotAction[],
  deps: ApplyDeps,
  result: ApplyResult,
): Promise<Captured | undefined> {
  const component = instance.components[componentName];
  if (!component) {
    for (const a of actions) fail(result, deps.emit, a, new BugError(`unknown component ${componentName}`));
    return undefined;
  }
  // With a state folder, SQLite copies stay in .backplan/staging and are reused while unchanged;
  // an in-memory catalog remembers nothing, so they go to a temp folder removed afterwards.
  const stateDir = deps.catalog.stateDir;
  const tempStaging = stateDir === undefined ? await mkdtemp(path.join(os.tmpdir(), "backplan-capture-")) : undefined;
  const staging = stateDir !== undefined ? { stagingDir: stagingRoot(stateDir), reuse: deps.catalog } : { stagingDir: tempStaging! };
  const dropTemp = async () => {
    if (tempStaging !== undefined) await rm(tempStaging, { recursive: true, force: true });
  };
  deps.emit({ type: "capture-start", instance: instance.name, component: componentName });
  const t0 = Date.now();
  let capture: CapturedComponent;
  try {
    capture = await captureComponent(instance.name, root, component, staging);
  } catch (err) {
    for (const a of actions) fail(result, deps.emit, a, err);
    await dropTemp();
    return undefined;
  }
  const bytes = capture.entries.reduce((n, e) => n + e.size, 0);
  const files = capture.entries.filter((e) => e.type === "file").length;
  deps.emit({ type: "capture-done", instance: instance.name, component: componentName, files, bytes, ms: Date.now() - t0 });
  for (const message of capture.warnings) deps.emit({ type: "warning", instance: instance.name, component: componentName, message });
  deps.catalog.rememberCaptureBytes(`${instance.name}/${componentName}`, bytes);
  const done = async () => {
    await capture.cleanup();
    await dropTemp();
  };
  let prepared: PreparedStore;
  try {
    prepared = prepareStore(capture, deps.catalog);
  } catch (err) {
    for (const a of actions) fail(result, deps.emit, a, err);
    await done();
    return undefined;
  }
  return { capture, prepared, done };
}

/** Stores a captured component to every target due; the targets (a NAS and two clouds) are independent, so all at once. */
async function storeCaptured(captured: Captured | undefined, actions: SnapshotAction[], deps: ApplyDeps, repos: RepoCache, result: ApplyResult): Promise<void> {
  if (!captured) return;
  const { capture, prepared } = captured;
  try {
    await Promise.all(actions.map(async (action) => {
      deps.emit({ type: "action-start", action });
      const t1 = Date.now();
      try {
        const repo = await repos.get(action.target);
        const lock = await repos.backupLock(action.target, repo);
        const summary = await storeSnapshot(repo, capture, {
          lock,
          prepared,
          statCache: deps.catalog,
          time: deps.now,
          onWarning: (message) => deps.emit({ type: "warning", instance: capture.instance, component: capture.component, target: action.target, message }),
          onProgress: (p: { bytesDone: number; bytesTotal?: number }) =>
            deps.emit({ type: "progress", action, bytesDone: p.bytesDone, ...(p.bytesTotal !== undefined ? { bytesTotal: p.bytesTotal } : {}) }),
        });
        deps.catalog.flushStatCache();
        deps.catalog.rememberSnapshot(action.target, summary);
        result.created.set(action.address, summary.id);
        result.done.push(action);
        deps.emit({
          type: "action-done",
          action,
          ms: Date.now() - t1,
          snapshotId: summary.id,
          detail: `snapshot ${summary.id.slice(0, 8)}: ${summary.stats.files} files, ${formatBytes(summary.stats.bytes)}, ${formatBytes(summary.stats.bytesWritten)} written`,
        });
      } catch (err) {
        fail(result, deps.emit, action, err);
      }
    }));
  } finally {
    await captured.done();
  }
}

async function runPrunes(actions: PruneAction[], deps: ApplyDeps, repos: RepoCache, result: ApplyResult) {
  const failedSeries = new Set(result.failed.map((f) => f.action.address));
  const planned = new Set(result.done.map((a) => a.address).concat([...failedSeries]));
  const byTarget = new Map<string, PruneAction[]>();
  for (const a of actions) {
    // Never prune a series whose new snapshot failed (or was never attempted) in this apply.
    if (a.afterSnapshot && (failedSeries.has(a.address) || !planned.has(a.address))) {
      result.skipped.push({ action: a, why: "the new snapshot of this series did not succeed" });
      deps.emit({ type: "action-skipped", action: a, why: "the new snapshot of this series did not succeed" });
      continue;
    }
    byTarget.set(a.target, [...(byTarget.get(a.target) ?? []), a]);
  }
  // Belt and braces over the planner's rule: never remove the last copy of a series.
  for (const [targetName, acts] of byTarget) {
    const known = [...deps.catalog.snapshotSummaries(targetName).values()];
    const doomed = new Set(acts.map((a) => a.snapshotId));
    const keep = acts.filter((a) => {
      const left = known.filter((s) => s.instance === a.instance && s.component === a.component && !doomed.has(s.id));
      if (left.length > 0 || result.created.has(a.address)) return true;
      const why = "it would remove the last copy of this series";
      result.skipped.push({ action: a, why });
      deps.emit({ type: "action-skipped", action: a, why });
      return false;
    });
    byTarget.set(targetName, keep);
  }
  for (const [targetName, acts] of byTarget) {
    if (acts.length === 0) continue;
    try {
      const repo = await repos.get(targetName);
      for (const a of acts) deps.emit({ type: "action-start", action: a });
      const t0 = Date.now();
      await forgetSnapshots(repo, acts.map((a) => a.snapshotId));
      const freed = await gc(repo);
      for (const a of acts) {
        result.done.push(a);
        deps.emit({ type: "action-done", action: a, ms: Date.now() - t0, detail: `removed snapshot ${a.snapshotId.slice(0, 8)}` });
      }
      void freed;
    } catch (err) {
      for (const a of acts) fail(result, deps.emit, a, err);
    }
  }
}

async function runVerifies(actions: VerifyAction[], deps: ApplyDeps, repos: RepoCache, result: ApplyResult) {
  for (const a of actions) {
    let id = a.snapshotId;
    if (id === "latest") {
      const created = result.created.get(a.address);
      if (created) id = created;
    }
    deps.emit({ type: "action-start", action: a });
    const t0 = Date.now();
    try {
      const repo = await repos.get(a.target);
      if (id === "latest") {
        const newest = await newestSnapshotId(repo, a.instance, a.component);
        if (!newest) {
          result.skipped.push({ action: a, why: "no snapshot to verify" });
          deps.emit({ type: "action-skipped", action: a, why: "no snapshot to verify" });
          continue;
        }
        id = newest;
      }
      const manifest = await repo.readSnapshot(id);
      const record = await verifySnapshot(repo, manifest);
      if (!record.ok) throw new UserError(`verification of snapshot ${id.slice(0, 8)} failed: ${record.problems.join("; ")}`);
      result.done.push(a);
      deps.emit({ type: "action-done", action: a, ms: Date.now() - t0, detail: `verified ${record.files} files, ${formatBytes(record.bytes)}` });
    } catch (err) {
      fail(result, deps.emit, a, err);
    }
  }
}

async function newestSnapshotId(repo: Repository, instance: string, component: string): Promise<string | undefined> {
  let best: { id: string; time: string } | undefined;
  for (const id of await repo.listSnapshotIds()) {
    const m = await repo.readSnapshot(id);
    if (m.instance === instance && m.component === component && (!best || m.time > best.time)) best = { id, time: m.time };
  }
  return best?.id;
}
