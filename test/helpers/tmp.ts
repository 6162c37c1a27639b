/** Temp folders for tests that touch real files; each is removed by the returned cleanup. */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

export async function tmpDir(prefix = "backplan-test-"): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Runs `fn` with a fresh temp folder, removed afterwards even when `fn` throws. */
export async function withTmpDir<T>(fn: (dir: string) => Promise<T>, prefix?: string): Promise<T> {
  const { dir, cleanup } = await tmpDir(prefix);
  try {
    return await fn(dir);
  } finally {
    await cleanup();
  }
}
