/**
 * Where a component's SQLite copy is staged.
 *
 * Persistent (apply, with a state folder): `<root>/<instance>/<component>/<database file>`, with
 * root `.backplan/staging` beside the spec. The copy stays after the run: the next capture reuses
 * it while the database is unchanged (./sqlite-reuse.ts), and since it keeps its path and inode
 * the store's stat cache knows it and reads nothing. The price is one copy of each database on
 * disk. One folder per component (spec names: letters, digits and `._-`), so two components
 * never share a copy, whatever their files are called.
 *
 * Temporary (nothing remembers what a copy holds): a fresh subfolder of the caller's folder,
 * removed by cleanup().
 */
import { chmod, mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import path from "node:path";
import { BugError, UserError } from "../errors.js";
import { errnoCode } from "./fs-errors.js";

export interface Staging {
  dir: string;
  persistent: boolean;
  /** After a success: removes anything else in a persistent folder (an old name's copy, a crashed run's temp file). */
  keepOnly(fileName: string): Promise<void>;
  /** Removes a temporary folder; leaves a persistent one. Idempotent. */
  cleanup(): Promise<void>;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export async function openStaging(root: string, instance: string, component: string, persistent: boolean): Promise<Staging> {
  if (!persistent) {
    await mkdir(root, { recursive: true });
    const dir = await mkdtemp(path.join(root, `${component.replace(/[^\w.-]/g, "_")}-`));
    return { dir, persistent, keepOnly: async () => {}, cleanup: () => rm(dir, { recursive: true, force: true }) };
  }
  for (const name of [instance, component]) {
    // The spec's schema allows only these; anything else here would escape the folder.
    if (!NAME.test(name)) throw new BugError(`"${name}" is not a valid instance or component name for a staging folder`);
  }
  const dir = path.join(root, instance, component);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // The copies are users' data: the root guards all below it, whatever umask or version made it.
    await chmod(root, 0o700);
  } catch (err) {
    throw stagingError(err, dir);
  }
  return {
    dir,
    persistent,
    keepOnly: async (fileName) => {
      for (const name of await readdir(dir)) if (name !== fileName) await rm(path.join(dir, name), { recursive: true, force: true });
    },
    cleanup: async () => {},
  };
}

/** Permission, read-only and full-disk errors on the staging area, as something a user can act on. */
export function stagingError(err: unknown, file: string): unknown {
  const code = errnoCode(err);
  if (code !== "EACCES" && code !== "EPERM" && code !== "EROFS" && code !== "ENOSPC" && code !== "SQLITE_FULL") return err;
  const full = code === "ENOSPC" || code === "SQLITE_FULL";
  return new UserError(`cannot write the staging copy ${file} (${full ? "disk full" : code})`, {
    hint:
      full
        ? "each SQLite database is copied there before it is stored (.backplan/staging/ keeps one copy of each): free that much space on that disk"
        : "each SQLite database is copied there before it is stored: run backplan as a user that can write that folder (.backplan/ beside the spec)",
    cause: err,
  });
}

/**
 * Removes the copies of components the spec no longer stages (removed, renamed, disabled, now
 * `kind: files`): users' data with no purpose left. `wanted`: instance → component names.
 */
export async function pruneStaging(root: string, wanted: Map<string, Set<string>>): Promise<void> {
  const drop = (p: string) => rm(p, { recursive: true, force: true });
  for (const instance of await readdir(root).catch(() => [])) {
    const keep = wanted.get(instance);
    if (!keep) await drop(path.join(root, instance));
    else for (const name of await readdir(path.join(root, instance)).catch(() => [])) if (!keep.has(name)) await drop(path.join(root, instance, name));
  }
}
