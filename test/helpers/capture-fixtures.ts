/** Small helpers shared by the capture and demo tests. */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";

export async function tempDir(prefix = "backplan-capture-test-"): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Runs `fn` on a read-only connection and closes it (read-only: never checkpoints anything). */
export function readDb<T>(file: string, fn: (db: Database.Database) => T): T {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

export function chatIds(file: string): string[] {
  return readDb(file, (db) => (db.prepare("SELECT id FROM chat ORDER BY id").all() as { id: string }[]).map((r) => r.id));
}
