/**
 * Capture: turns one component of an instance into a CapturedComponent the store step can read
 * at its own pace (SQLite files as consistent staging copies, everything else as live files).
 *
 * Seam for cold captures: these functions never stop or start anything and take no view on
 * consistency beyond SQLite's own snapshot. A cold capture is the same call made inside a stop
 * window — `withColdWindow(compose, () => captureComponent(...))` in src/docker stops the Compose
 * service, runs the captures of all the instance's cold components, and always starts it again.
 * The result's `consistency` just records which of the two the caller asked for.
 */
import { lstat, mkdir, mkdtemp, rm } from "node:fs/promises";
import path from "node:path";
import type { Component } from "../spec/types.js";
import { UserError } from "../errors.js";
import type { CapturedComponent } from "./types.js";
import { captureSqlite } from "./sqlite.js";
import { captureChroma } from "./chroma.js";
import { normaliseRel, walkFiles, type WalkResult } from "./files.js";
import { captureFsError, errnoCode } from "./fs-errors.js";

export type { CaptureEntry, CapturedComponent } from "./types.js";
export { captureSqlite } from "./sqlite.js";
export { captureChroma } from "./chroma.js";
export { walkFiles } from "./files.js";
export { captureFsError } from "./fs-errors.js";

export interface CaptureOptions {
  /** A folder the caller owns; the capture makes its own subfolder in it, removed by cleanup(). */
  stagingDir: string;
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

  await mkdir(opts.stagingDir, { recursive: true });
  const staging = await mkdtemp(path.join(opts.stagingDir, `${component.name.replace(/[^\w.-]/g, "_")}-`));
  const cleanup = async () => rm(staging, { recursive: true, force: true });
  const walkOpts = { include: component.include, exclude: component.exclude, ...(opts.signal ? { signal: opts.signal } : {}) };

  let result: WalkResult;
  try {
    switch (component.kind) {
      case "sqlite": {
        const staged = path.join(staging, ...rel.split("/"));
        await mkdir(path.dirname(staged), { recursive: true });
        result = { entries: [await captureSqlite(abs, rel, staged, opts.signal ? { signal: opts.signal } : {})], warnings: [] };
        break;
      }
      case "chroma":
        result = await captureChroma(instanceRoot, rel, staging, walkOpts);
        break;
      case "files":
        result = await walkFiles(instanceRoot, rel, walkOpts);
        break;
      default: {
        const kind: never = component.kind;
        throw new UserError(`component "${component.name}" has an unknown kind "${String(kind)}"`);
      }
    }
  } catch (err) {
    await cleanup();
    throw err;
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
