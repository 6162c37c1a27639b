/**
 * A Chroma persistent store (Open WebUI's `vector_db/`): `chroma.sqlite3` through the SQLite
 * online backup, every other file (the UUID-named HNSW segment folders) as plain live files.
 * The database's -wal/-shm/-journal are left out: their content is inside the online backup.
 *
 * Hot, the segment files are read live by the store step, after the SQLite snapshot, so they may
 * be newer than it; Chroma tolerates index files ahead of or behind its queue better than a torn
 * database, and `consistency: cold` (the application stopped) makes the pair exact.
 */
import { lstat } from "node:fs/promises";
import path from "node:path";
import { UserError } from "../errors.js";
import { captureSqlite, type SqliteCaptureOptions } from "./sqlite.js";
import { normaliseRel, walkFiles, type WalkOptions, type WalkResult } from "./files.js";

export const CHROMA_DB = "chroma.sqlite3";
const SIDECARS = ["-wal", "-shm", "-journal"].map((s) => CHROMA_DB + s);

export interface ChromaOptions extends WalkOptions {
  reuse?: SqliteCaptureOptions["reuse"];
}

/** Stages the database as `<stagingDir>/chroma.sqlite3` (the folder must exist). */
export async function captureChroma(
  instanceRoot: string,
  componentPath: string,
  stagingDir: string,
  opts: ChromaOptions = {},
): Promise<WalkResult> {
  const rel = normaliseRel(componentPath);
  const absDir = path.join(instanceRoot, ...rel.split("/").filter(Boolean));
  const dbRel = rel === "" ? CHROMA_DB : `${rel}/${CHROMA_DB}`;
  const absDb = path.join(absDir, CHROMA_DB);
  const st = await lstat(absDb).catch(() => undefined);
  if (!st?.isFile()) {
    throw new UserError(`${absDir} is not a Chroma store: it has no ${CHROMA_DB}`, {
      hint: "point the component's `path:` at Open WebUI's vector_db folder, or use `kind: files` for a plain folder",
    });
  }

  const { reuse, ...walkOpts } = opts;
  const walked = await walkFiles(instanceRoot, rel, walkOpts);
  const skip = new Set([dbRel, ...SIDECARS.map((s) => (rel === "" ? s : `${rel}/${s}`))]);
  const entries = walked.entries.filter((e) => !skip.has(e.path));

  const dbEntry = await captureSqlite(absDb, dbRel, path.join(stagingDir, CHROMA_DB), {
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(reuse ? { reuse } : {}),
  });
  entries.push(dbEntry);
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { entries, warnings: walked.warnings };
}
