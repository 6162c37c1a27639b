/**
 * A restore test: the only proof a copy is good. Restores the snapshot into a temporary folder
 * (every chunk authenticated and hash-checked on the way), then runs `PRAGMA integrity_check` on
 * every SQLite file. The record is written to `verified/<snapshot id>` so every host sees it —
 * also when it failed, so an older success never outlives a copy that has since gone bad.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { errorMessage } from "../errors.js";
import type { Repository } from "./repository.js";
import { restoreSnapshots, type RestoreOptions } from "./restore.js";
import type { SnapshotManifest, VerificationRecord } from "./types.js";

export interface VerifyOptions {
  /** Where the temporary folder goes (default: the OS temp folder). */
  tmpRoot?: string;
  /** Write the record to the repository (default true). */
  record?: boolean;
  onProgress?: (p: { bytesDone: number; bytesTotal: number }) => void;
  decodeOn?: RestoreOptions["decodeOn"];
}

export async function verifySnapshot(repo: Repository, manifest: SnapshotManifest, opts: VerifyOptions = {}): Promise<VerificationRecord> {
  const problems: string[] = [];
  const dir = await mkdtemp(path.join(opts.tmpRoot ?? os.tmpdir(), "backplan-verify-"));
  let files = 0;
  let bytes = 0;
  try {
    try {
      const r = await restoreSnapshots(repo, [manifest], dir, {
        onProblem: (m) => problems.push(m),
        ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
        ...(opts.decodeOn ? { decodeOn: opts.decodeOn } : {}),
      });
      files = r.files;
      bytes = r.bytes;
    } catch (err) {
      problems.push(errorMessage(err));
    }
    if (problems.length === 0) {
      for (const e of manifest.entries) {
        if (e.type !== "file" || !e.sqlite) continue;
        const problem = await sqliteProblem(path.join(dir, e.path));
        if (problem) problems.push(`${e.path}: ${problem}`);
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const record: VerificationRecord = { snapshotId: manifest.id, time: new Date().toISOString(), ok: problems.length === 0, files, bytes, problems };
  if (opts.record !== false) {
    try {
      await repo.writeVerification(record);
    } catch (err) {
      // A failed verification is reported anyway; a success that cannot be recorded is a problem.
      if (record.ok) throw err;
    }
  }
  return record;
}

async function sqliteProblem(file: string): Promise<string | undefined> {
  const { default: Database } = await import("better-sqlite3");
  let db;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const rows = db.pragma("integrity_check") as { integrity_check: string }[];
    const msgs = rows.flatMap((r) => r.integrity_check.split("\n"));
    if (msgs.length === 1 && msgs[0] === "ok") return undefined;
    const shown = msgs.filter((m) => !m.startsWith("***")).slice(0, 5);
    return `integrity_check: ${shown.join("; ")}${msgs.length > shown.length + 1 ? ` (and ${msgs.length - shown.length - 1} more)` : ""}`;
  } catch (err) {
    return `not a readable SQLite database: ${errorMessage(err)}`;
  } finally {
    db?.close();
  }
}
