/**
 * Capture: turns one component of an instance into a CapturedComponent the store step can read
 * at its own pace (SQLite files as consistent staging copies, everything else as live files).
 *
 * Seam for cold captures: these functions never stop or start anything and take no view on
 * consistency beyond SQLite's own snapshot. A cold capture is the same call made inside a stop
 * window — `withColdWindow(compose, () => captureComponent(...))` in src/docker stops the Compose
 * service, runs the captures of all the instance's cold components, and always starts it again.
 * The result's `consistency` just records which of the two the caller asked for. A staged copy
 * made hot may be reused by a cold capture, and the other way round: it is reused only while the
 * database is byte-for-byte what was copied, and the copy of a database is the same either way.
 */
import { lstat } from "node:fs/promises";
import path from "node:path";
import type { Component } from "../spec/types.js";
import { UserError } from "../errors.js";
import type { CapturedComponent, SqliteCaptureRecords } from "./types.js";
import { captureSqlite } from "./sqlite.js";
import { CHROMA_DB, captureChroma } from "./chroma.js";
import { normaliseRel, walkFiles, type WalkResult } from "./files.js";
import { captureFsError, errnoCode } from "./fs-errors.js";
import { openStaging } from "./staging.js";

export type { CaptureEntry, CapturedComponent, SqliteCaptureRecords } from "./types.js";
export { captureSqlite } from "./sqlite.js";
export { captureChroma } from "./chroma.js";
export { walkFiles } from "./files.js";
export { captureFsError } from "./fs-errors.js";

export interface CaptureOptions {
  /**
   * Where SQLite copies are staged (./staging.ts). Without `reuse`: a folder the caller owns;
   * the capture makes its own subfolder in it, removed by cleanup(). With `reuse`: the persistent
   * staging area, `.backplan/staging`; copies stay there and `reuse` remembers what each holds.
   */
  stagingDir: string;
  reuse?: SqliteCaptureRecords;
  signal?: AbortSignal;
}

export async function captureComponent(
  instanceName: string,
  instanceRoot: string,
  component: Component,
  opts: CaptureOptions,
): Promise<CapturedComponent> {
  const startedAt = new Date();
  const rel = normaliseRel(component.path);
  const abs = rel === "" ? instanceRoot : path.join(instanceRoot, ...rel.split("/"));
  await mustExist(abs, instanceName, component);

  const signal = opts.signal ? { signal: opts.signal } : {};
  const walkOpts = { include: component.include, exclude: component.exclude, ...signal };
  const reuse = opts.reuse ? { reuse: { records: opts.reuse, instance: instanceName, component: component.name } } : {};

  let result: WalkResult;
  let cleanup = async () => {};
  if (component.kind === "files") {
    // Read live by the store: nothing to stage.
    result = await walkFiles(instanceRoot, rel, walkOpts);
  } else if (component.kind === "sqlite" || component.kind === "chroma") {
    const staging = await openStaging(opts.stagingDir, instanceName, component.name, opts.reuse !== undefined);
    cleanup = staging.cleanup;
    const stagedName = component.kind === "chroma" ? CHROMA_DB : path.basename(abs);
    try {
      result =
        component.kind === "chroma"
          ? await captureChroma(instanceRoot, rel, staging.dir, { ...walkOpts, ...reuse })
          : { entries: [await captureSqlite(abs, rel, path.join(staging.dir, stagedName), { ...signal, ...reuse })], warnings: [] };
      const copy = result.entries.find((e) => e.checked);
      if (!copy) await staging.keepOnly(stagedName);
      else {
        // Tidy once the fresh copy has passed its check (a crashed run's leftovers, an old name's copy).
        copy.checked = copy.checked!.then(
          () => staging.keepOnly(stagedName),
          async (err: unknown) => {
            await staging.cleanup();
            throw err;
          },
        );
        copy.checked.catch(() => undefined);
      }
    } catch (err) {
      // A persistent folder keeps its copy as the base of the next one; only a record makes it trusted.
      await staging.cleanup();
      throw err;
    }
  } else {
    const kind: never = component.kind;
    throw new UserError(`component "${component.name}" has an unknown kind "${String(kind)}"`);
  }

  return {
    instance: instanceName,
    component: component.name,
    kind: component.kind,
    consistency: component.consistency,
    entries: result.entries,
    warnings: result.warnings,
    startedAt,
    finishedAt: new Date(),
    cleanup,
  };
}

async function mustExist(abs: string, instanceName: string, component: Component): Promise<void> {
  try {
    await lstat(abs);
  } catch (err) {
    if (errnoCode(err) !== "ENOENT" && errnoCode(err) !== "ENOTDIR") throw captureFsError(err, abs, "path");
    throw new UserError(`component "${component.name}" of instance "${instanceName}": ${abs} does not exist`, {
      hint:
        `check the instance \`path:\` and the component's \`path: ${component.path}\` in backup.yaml; ` +
        "if this instance really has no such data, disable the component (`enabled: false`)",
      cause: err,
    });
  }
}
