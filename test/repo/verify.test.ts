import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { storeSnapshot } from "../../src/repo/store.js";
import { verifySnapshot } from "../../src/repo/verify.js";
import { withTmpDir } from "../helpers/tmp.js";
import { captureDir, openRepo } from "./helpers.js";

function makeDb(file: string, rows: number) {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.exec("CREATE TABLE chat (id INTEGER PRIMARY KEY, body TEXT)");
  const ins = db.prepare("INSERT INTO chat (body) VALUES (?)");
  db.transaction(() => {
    for (let i = 0; i < rows; i++) ins.run(`message ${i} `.repeat(20));
  })();
  db.pragma("wal_checkpoint(TRUNCATE)");
  db.close();
}

describe("verifySnapshot", () => {
  it("restores, runs integrity_check on SQLite entries, and records the result on the target", () =>
    withTmpDir(async (dir) => {
      const data = path.join(dir, "data");
      await mkdir(data);
      makeDb(path.join(data, "webui.db"), 5000);
      const { repo } = await openRepo(path.join(dir, "repo"), "pw");
      const s = await storeSnapshot(repo, await captureDir(data, { sub: "webui.db", sqlite: () => true }));
      expect(s.stats.bytesWritten).toBeLessThan(s.stats.bytes / 2); // SQLite pages compress
      const rec = await verifySnapshot(repo, await repo.readSnapshot(s.id));
      expect(rec).toMatchObject({ snapshotId: s.id, ok: true, files: 1, problems: [] });
      expect(rec.bytes).toBe(s.stats.bytes);
      expect(await repo.listVerifications()).toEqual([rec]);
    }));

  it("reports a database that fails integrity_check even though its chunks are intact", () =>
    withTmpDir(async (dir) => {
      const data = path.join(dir, "data");
      await mkdir(data);
      const db = path.join(data, "webui.db");
      makeDb(db, 5000);
      const bytes = await readFile(db);
      // Scribble over an interior b-tree page: a bad copy that hashes perfectly.
      bytes.fill(0x7a, 4096, 4096 + 200); // page 2: the root of table chat
      await writeFile(db, bytes);
      const { repo } = await openRepo(path.join(dir, "repo"));
      const s = await storeSnapshot(repo, await captureDir(data, { sub: "webui.db", sqlite: () => true }));
      const rec = await verifySnapshot(repo, await repo.readSnapshot(s.id));
      expect(rec.ok).toBe(false);
      expect(rec.problems[0]).toMatch(/^webui\.db: /);
    }));
});
