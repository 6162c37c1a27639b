import { copyFile, lstat, mkdir, open, readdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { captureSqlite as captureUnchecked, type SqliteCaptureStats } from "../../src/capture/sqlite.js";
import { generateOpenWebUi, type GenerateSummary } from "../../src/demo/generate.js";
import { UserError } from "../../src/errors.js";
import { chatIds, readDb, tempDir } from "../helpers/capture-fixtures.js";
import { startWriter } from "../helpers/capture-writer.js";

/** The capture and its integrity_check (which the store awaits before the manifest). */
async function captureSqlite(...args: Parameters<typeof captureUnchecked>) {
  const entry = await captureUnchecked(...args);
  await entry.checked;
  return entry;
}

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

// Every case runs with the copy made on this thread and on a worker (large databases use one).
describe.each(["here", "worker"] as const)("copy made %s", (copyOn) => {
  describe("captureSqlite on the demo webui.db", () => {
    let demo: GenerateSummary;
    beforeEach(async () => {
      demo = await generateOpenWebUi(path.join(dir, "data"), { seed: 3, scale: 0.05 });
    });

    it("includes the rows that exist only in the -wal, and leaves the live files untouched", async () => {
      const walBefore = (await lstat(`${demo.paths.webuiDb}-wal`)).size;
      const staged = path.join(dir, "staged", "webui.db");
      await mkdir(path.dirname(staged));
      const live = await lstat(demo.paths.webuiDb);

      const entry = await captureSqlite(demo.paths.webuiDb, "webui.db", staged, { copyOn });

      expect(entry).toMatchObject({ path: "webui.db", type: "file", source: staged, sqlite: true, mode: live.mode & 0o7777 });
      // The copy's own identity, so the store's stat cache knows it next time; users' data: 0600.
      const copy = await lstat(staged);
      expect(entry).toMatchObject({ size: copy.size, mtimeMs: copy.mtimeMs, ino: copy.ino, ctimeMs: copy.ctimeMs, staged: true });
      expect(copy.mode & 0o777).toBe(0o600);
      // Its mtime is the live database's (the -wal's, which is newer), as the entry's always was.
      expect(Math.abs(entry.mtimeMs - (await lstat(`${demo.paths.webuiDb}-wal`)).mtimeMs)).toBeLessThan(0.01);
      const ids = chatIds(staged);
      for (const id of demo.walOnlyRowIds) expect(ids).toContain(id);
      // A single self-contained file: no -wal/-shm beside it, rollback-journal mode.
      expect((await readdir(path.dirname(staged))).sort()).toEqual(["webui.db"]);
      expect(readDb(staged, (db) => db.pragma("journal_mode", { simple: true }))).toBe("delete");
      // A read-only connection never checkpoints the application's -wal.
      expect((await lstat(`${demo.paths.webuiDb}-wal`)).size).toBe(walBefore);
    });

    it("still reads the -wal when the -shm index is gone", async () => {
      await rm(`${demo.paths.webuiDb}-shm`);
      const staged = path.join(dir, "staged.db");
      await captureSqlite(demo.paths.webuiDb, "webui.db", staged, { copyOn });
      const ids = chatIds(staged);
      for (const id of demo.walOnlyRowIds) expect(ids).toContain(id);
    });
  });

  describe("captureSqlite against a busy writer process", () => {
    /** A 20 MiB database of `mode`, so a copy takes long enough for many commits to race it. */
    function seedDatabase(file: string, mode: string): void {
      const seed = new Database(file);
      seed.pragma(`journal_mode = ${mode}`);
      seed.exec("CREATE TABLE filler (id INTEGER PRIMARY KEY, body BLOB)");
      const ins = seed.prepare("INSERT INTO filler (body) VALUES (zeroblob(4000))");
      seed.transaction(() => {
        for (let i = 0; i < 5000; i++) ins.run();
      })();
      seed.close();
    }

    /** The copy passes integrity_check and holds rows 1..max of `seq` with no gap (n is the primary key). */
    function expectGapFreePrefix(staged: string): number {
      const { count, max, check } = readDb(staged, (c) => ({
        ...(c.prepare("SELECT count(*) AS count, max(n) AS max FROM seq").get() as { count: number; max: number }),
        check: c.pragma("integrity_check", { simple: true }),
      }));
      expect(check).toBe("ok");
      expect(max).toBeGreaterThanOrEqual(1);
      expect(count).toBe(max);
      return max;
    }

    it.each([
      { mode: "wal", checkpointEvery: 0, rounds: 1, what: "WAL, commits piling up in the -wal" },
      { mode: "wal", checkpointEvery: 3, rounds: 10, what: "WAL, checkpointed and restarted under the copy" },
      { mode: "delete", checkpointEvery: 0, rounds: 10, what: "rollback journal, the writer waiting on our lock" },
    ])("finishes while the writer keeps committing ($what), each copy a gap-free prefix with integrity ok", async ({ mode, checkpointEvery, rounds }) => {
      const db = path.join(dir, "busy.db");
      seedDatabase(db, mode);
      const writer = await startWriter(db, { intervalMs: 1, journalMode: mode, checkpointEvery });
      try {
        await new Promise((r) => setTimeout(r, 150));
        let max = 0;
        for (let round = 0; round < rounds; round++) {
          const staged = path.join(dir, `staged-${round}.db`);
          let stats: SqliteCaptureStats | undefined;
          await captureSqlite(db, "busy.db", staged, { copyOn, onStats: (s) => (stats = s) });
          expect(writer.alive()).toBe(true);
          expect(stats!.pages).toBeGreaterThan(4000);
          const got = expectGapFreePrefix(staged);
          expect(got).toBeGreaterThanOrEqual(max); // later copies, later states
          max = got;
        }
        const last = await writer.stop();
        expect(max).toBeLessThan(last); // the writer went on committing after the snapshots
      } finally {
        if (writer.alive()) await writer.stop();
      }
    });
  });

  describe("captureSqlite errors", () => {
    it("names a missing database file", async () => {
      const missing = path.join(dir, "nope.db");
      const err = await captureSqlite(missing, "nope.db", path.join(dir, "s.db"), { copyOn }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UserError);
      expect((err as Error).message).toBe(`the file ${missing} does not exist`);
      expect((err as UserError).hint).toMatch(/component `path:`/);
    });

    it("refuses a file that is not SQLite", async () => {
      const file = path.join(dir, "webui.db");
      await writeFile(file, "this is not a database, just text long enough for a header");
      const err = await captureSqlite(file, "webui.db", path.join(dir, "s.db"), { copyOn }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UserError);
      expect((err as Error).message).toBe(`${file} is not a SQLite database`);
      expect((err as UserError).hint).toMatch(/kind: files/);
    });

    it("refuses a folder", async () => {
      await expect(captureSqlite(dir, "x", path.join(dir, "s.db"), { copyOn })).rejects.toThrow(/is not a SQLite database file \(it is a folder\)/);
    });

    it("fails when the copy does not pass integrity_check, and leaves no staged file", async () => {
      const file = path.join(dir, "broken.db");
      const db = new Database(file);
      db.exec("CREATE TABLE t (x TEXT); CREATE INDEX t_x ON t (x)");
      const ins = db.prepare("INSERT INTO t VALUES (?)");
      db.transaction(() => {
        for (let i = 0; i < 2000; i++) ins.run(`row ${i} `.repeat(10));
      })();
      const pageSize = db.pragma("page_size", { simple: true }) as number;
      const pages = db.pragma("page_count", { simple: true }) as number;
      db.close();
      const fh = await open(file, "r+");
      await fh.write(Buffer.alloc(pageSize), 0, pageSize, (pages - 2) * pageSize); // zero one b-tree page
      await fh.close();

      const staged = path.join(dir, "staged.db");
      const err = await captureSqlite(file, "broken.db", staged, { copyOn }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UserError);
      expect((err as Error).message).toMatch(new RegExp(`^the online backup of ${file} failed PRAGMA integrity_check: `));
      await expect(lstat(staged)).rejects.toThrow(/ENOENT/);
    });

    it("explains a hot journal left by a crash, which a read-only connection cannot roll back", async () => {
      const file = path.join(dir, "crashed.db");
      const db = new Database(file);
      db.exec("CREATE TABLE t (x)");
      db.close();
      await writeFile(`${file}-journal`, "a journal SQLite must roll back before anyone reads");
      await expect(captureSqlite(file, "crashed.db", path.join(dir, "s.db"), { copyOn })).rejects.toThrow(
        `${file} has an unfinished transaction left by a crash (a hot ${file}-journal), which a read-only backup cannot roll back`,
      );
    });

    it("captures an empty (0-byte) database file as an empty database", async () => {
      const file = path.join(dir, "empty.db");
      await writeFile(file, "");
      const entry = await captureSqlite(file, "empty.db", path.join(dir, "s.db"), { copyOn });
      expect(entry.sqlite).toBe(true);
    });

    it("can be cancelled", async () => {
      const src = path.join(dir, "src.db");
      const demo = await generateOpenWebUi(path.join(dir, "d"), { seed: 1, scale: 0.05 });
      await copyFile(demo.paths.webuiDb, src);
      const ac = new AbortController();
      ac.abort(new Error("stop"));
      await expect(captureSqlite(src, "src.db", path.join(dir, "s.db"), { copyOn, signal: ac.signal })).rejects.toThrow("stop");
    });
  });
});
