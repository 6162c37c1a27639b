/**
 * The persistent staging area: an unchanged SQLite database is not copied again, and the store's
 * stat cache recognises the kept copy. Real files, a real catalog, a real local repository; the
 * "application" is a connection held open in this process, as Open WebUI holds its own.
 */
import { lstat, mkdir, open, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { captureComponent as captureComponentUnchecked, type CapturedComponent } from "../../src/capture/index.js";
import { captureSqlite as captureSqliteUnchecked, type SqliteCaptureStats } from "../../src/capture/sqlite.js";
import { Catalog } from "../../src/catalog/catalog.js";
import { Repository } from "../../src/repo/repository.js";
import { restoreSnapshots } from "../../src/repo/restore.js";
import { storeSnapshot } from "../../src/repo/store.js";
import type { StatCache } from "../../src/repo/types.js";
import type { Component } from "../../src/spec/types.js";
import { LocalTarget } from "../../src/targets/local.js";
import { UserError } from "../../src/errors.js";
import { chatIds, tempDir } from "../helpers/capture-fixtures.js";

/** Captures and their integrity_check (which the store awaits before the manifest). */
async function captureComponent(...args: Parameters<typeof captureComponentUnchecked>): Promise<CapturedComponent> {
  const c = await captureComponentUnchecked(...args);
  await Promise.all(c.entries.map((e) => e.checked));
  for (const e of c.entries) delete e.checked; // settled: entries compare as data
  return c;
}
async function captureSqlite(...args: Parameters<typeof captureSqliteUnchecked>) {
  const entry = await captureSqliteUnchecked(...args);
  await entry.checked;
  delete entry.checked;
  return entry;
}

let dir: string;
let cleanup: () => Promise<void>;
let data: string;
let live: string;
let app: Database.Database;
let catalog: Catalog;
let stagingDir: string;
let repo: Repository;

const component = (over: Partial<Component> = {}): Component => ({
  name: "webui.db",
  kind: "sqlite",
  path: "webui.db",
  include: [],
  exclude: [],
  consistency: "hot",
  enabled: true,
  ...over,
});

const capture = (over: Partial<Component> = {}, signal?: AbortSignal) =>
  captureComponent("openwebui", data, component(over), { stagingDir, reuse: catalog, ...(signal ? { signal } : {}) });

/** Backs up the database by itself, with its stats; `reuse` as apply passes it. */
async function captureWithStats(): Promise<SqliteCaptureStats> {
  let stats: SqliteCaptureStats | undefined;
  await mkdir(path.dirname(stagedPath()), { recursive: true });
  await captureSqlite(live, "webui.db", stagedPath(), { reuse: { records: catalog, instance: "openwebui", component: "webui.db" }, onStats: (s) => (stats = s) });
  return stats!;
}

const stagedPath = (name = "webui.db") => path.join(stagingDir, "openwebui", name, "webui.db");
const stamp = async (file: string) => {
  const st = await lstat(file);
  return { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, ctimeMs: st.ctimeMs };
};
const walStamp = () => stamp(`${live}-wal`);

/** Moves the live files' mtimes a minute back, so no capture is within a second of a write. */
async function backdate(): Promise<void> {
  const t = Date.now() / 1000 - 60;
  for (const f of [live, `${live}-wal`]) await utimes(f, t, t);
}

function insertChat(id: string): void {
  app.prepare("INSERT INTO chat (id, body) VALUES (?, ?)").run(id, `chat ${id} `.repeat(40));
}

/** Stores `captured` with the catalog as stat cache, noting which paths it found there and which it set. */
async function store(captured: CapturedComponent) {
  const hits: string[] = [];
  const sets: string[] = [];
  const statCache: StatCache = {
    get: (k) => {
      const r = catalog.get(k);
      if (r) hits.push(k.path);
      return r;
    },
    set: (k, v) => {
      sets.push(k.path);
      catalog.set(k, v);
    },
  };
  const summary = await storeSnapshot(repo, captured, { statCache });
  catalog.flushStatCache();
  return { summary, hits, sets };
}

async function restoredChatIds(snapshotId: string): Promise<string[]> {
  const dest = path.join(dir, `restored-${snapshotId.slice(0, 8)}`);
  await restoreSnapshots(repo, [await repo.readSnapshot(snapshotId)], dest);
  return chatIds(path.join(dest, "webui.db"));
}

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  data = path.join(dir, "data");
  await mkdir(data);
  live = path.join(data, "webui.db");
  app = new Database(live);
  app.pragma("journal_mode = WAL");
  // Like a busy application between checkpoints: the newest commits live only in the -wal.
  app.pragma("wal_autocheckpoint = 0");
  app.exec("CREATE TABLE chat (id TEXT PRIMARY KEY, body TEXT)");
  for (let i = 0; i < 300; i++) insertChat(`c${i}`);
  await backdate();
  catalog = await Catalog.open(path.join(dir, "spec"));
  stagingDir = path.join(catalog.stateDir!, "staging");
  repo = await Repository.open(new LocalTarget("nas", path.join(dir, "repo")), { create: true });
});
afterEach(async () => {
  app.close();
  catalog.close();
  await cleanup();
});

describe("the persistent staging area", () => {
  it("copies an unchanged database once: no online backup, and the store reads and writes nothing", async () => {
    const first = await capture();
    const staged = stagedPath();
    expect(first.entries).toEqual([expect.objectContaining({ path: "webui.db", source: staged, sqlite: true, staged: true })]);
    const one = await store(first);
    expect(one.sets).toEqual(["webui.db"]);
    const copy = await stamp(staged);

    const second = await capture();
    // Same inode and ctime: nothing wrote the copy (a backup goes to a new file renamed over it).
    expect(await stamp(staged)).toEqual(copy);
    expect(second.entries).toEqual(first.entries);
    const two = await store(second);
    expect(two.hits).toEqual(["webui.db"]); // known by its stat...
    expect(two.sets).toEqual([]); // ...so never read (a set follows every read)
    expect(two.summary.stats).toMatchObject({ files: 1, chunksNew: 0, bytesWritten: 0 });
    expect(await captureWithStats()).toMatchObject({ reused: true, bytes: 0, pages: 0 });

    // A cold capture (the application stopped) goes by the same rule.
    const cold = await capture({ consistency: "cold" });
    expect(cold.entries).toEqual(first.entries);
    expect(await stamp(staged)).toEqual(copy);

    // The copies are the users' data: only their owner may read them.
    expect((await lstat(staged)).mode & 0o777).toBe(0o600);
    for (const d of [stagingDir, path.dirname(path.dirname(staged)), path.dirname(staged)]) expect((await lstat(d)).mode & 0o777).toBe(0o700);
    await first.cleanup(); // leaves the persistent copy
    expect(await readdir(path.dirname(staged))).toEqual(["webui.db"]);
  });

  it("recaptures a commit that exists only in the -wal, and the restored database holds it", async () => {
    await store(await capture());
    const copy = await stamp(stagedPath());
    const db = await stamp(live);
    insertChat("wal-only");
    expect(await stamp(live)).toEqual(db); // the database file itself did not change

    const again = await capture();
    // Written over in place: the same file, not the same stamp.
    const now = await stamp(stagedPath());
    expect(now.ino).toBe(copy.ino);
    expect(now.ctimeMs).not.toBe(copy.ctimeMs);
    expect(chatIds(stagedPath())).toContain("wal-only");
    const { summary } = await store(again);
    expect(await restoredChatIds(summary.id)).toContain("wal-only");
  });

  it("recaptures a commit checkpointed into the database file, with the -wal emptied", async () => {
    await capture();
    expect((await walStamp()).size).toBeGreaterThan(0);
    insertChat("checkpointed");
    app.pragma("wal_checkpoint(TRUNCATE)");
    expect((await walStamp()).size).toBe(0);

    const again = await capture();
    const { summary } = await store(again);
    expect(await restoredChatIds(summary.id)).toContain("checkpointed");
  });

  it("reuses the copy of a database closed by its application (no -wal left), and sees the next commit", async () => {
    app.close(); // the last connection checkpoints and removes the -wal
    await expect(walStamp()).rejects.toThrow(/ENOENT/);
    const t = Date.now() / 1000 - 60;
    await utimes(live, t, t);
    expect((await captureWithStats()).reused).toBe(false);
    // Our read-only connection left an empty -wal behind; that is no change.
    expect((await walStamp()).size).toBe(0);
    expect((await captureWithStats()).reused).toBe(true);

    app = new Database(live);
    insertChat("after reopen");
    expect((await captureWithStats()).reused).toBe(false);
    expect(chatIds(stagedPath())).toContain("after reopen");
  });

  it("recaptures when the last capture began within a second of the newest write, however unchanged", async () => {
    insertChat("just now");
    const walNow = await walStamp();
    expect((await captureWithStats()).reused).toBe(false);
    // Nothing changed since, but a write in that same mtime tick after our stat would look just
    // like this: the copy cannot be trusted, so it is made again.
    expect(await walStamp()).toMatchObject({ size: walNow.size, mtimeMs: walNow.mtimeMs, ino: walNow.ino });
    expect((await captureWithStats()).reused).toBe(false);
    // Once a capture began more than a second after the last write, its copy is reused.
    await backdate();
    expect((await captureWithStats()).reused).toBe(false);
    expect((await captureWithStats()).reused).toBe(true);
  });

  it("recaptures when the staged copy was deleted or edited by hand, or .backplan/staging removed", async () => {
    await capture();
    await rm(stagedPath());
    expect((await captureWithStats()).reused).toBe(false);
    expect(chatIds(stagedPath())).toHaveLength(300);

    const edit = new Database(stagedPath());
    edit.exec("DELETE FROM chat WHERE id = 'c7'");
    edit.close();
    expect((await captureWithStats()).reused).toBe(false);
    expect(chatIds(stagedPath())).toContain("c7");

    // Same size, mtime put back: the ctime still tells.
    const before = await stamp(stagedPath());
    const fh = await open(stagedPath(), "r+");
    await fh.write(Buffer.from("x"), 0, 1, before.size - 1);
    await fh.close();
    await utimes(stagedPath(), before.mtimeMs / 1000, before.mtimeMs / 1000);
    expect((await captureWithStats()).reused).toBe(false);

    await rm(stagingDir, { recursive: true });
    const fresh = await capture();
    expect(fresh.entries[0]!.source).toBe(stagedPath());
    expect(chatIds(stagedPath())).toHaveLength(300);
    expect((await captureWithStats()).reused).toBe(true);
  });

  it("a failed capture forgets and removes the staged copy; the next one makes it whole and tidies the folder", async () => {
    await capture();
    insertChat("after the copy");
    const ac = new AbortController();
    ac.abort(new Error("stopped"));
    await expect(capture({}, ac.signal)).rejects.toThrow("stopped");
    expect(catalog.sqliteCapture({ instance: "openwebui", component: "webui.db", path: "webui.db" })).toBeUndefined();
    expect(await readdir(path.dirname(stagedPath()))).toEqual([]);

    // A crashed run's leftovers, and a copy under a name the component no longer uses.
    await writeFile(path.join(path.dirname(stagedPath()), ".webui.db.tmp-0123456789ab"), "half a copy");
    await writeFile(path.join(path.dirname(stagedPath()), "old-name.db"), "an old copy");
    await backdate();
    await capture();
    expect(await readdir(path.dirname(stagedPath()))).toEqual(["webui.db"]);
    expect(chatIds(stagedPath())).toContain("after the copy");
    expect((await captureWithStats()).reused).toBe(true);
  });

  it("a copy that fails integrity_check is removed, and nothing records it", async () => {
    app.pragma("wal_checkpoint(TRUNCATE)");
    app.exec("CREATE INDEX chat_body ON chat (body)");
    app.pragma("wal_checkpoint(TRUNCATE)");
    await backdate();
    await capture();
    const pageSize = app.pragma("page_size", { simple: true }) as number;
    const pages = app.pragma("page_count", { simple: true }) as number;
    const fh = await open(live, "r+");
    await fh.write(Buffer.alloc(pageSize), 0, pageSize, (pages - 2) * pageSize); // zero one b-tree page
    await fh.close();

    // The capture returns once the copy is written; its check (awaited by the store) fails.
    const unchecked = await captureComponentUnchecked("openwebui", data, component(), { stagingDir, reuse: catalog });
    const err = await Promise.all(unchecked.entries.map((e) => e.checked)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/failed PRAGMA integrity_check/);
    expect(await readdir(path.dirname(stagedPath()))).toEqual([]);
    expect(catalog.sqliteCapture({ instance: "openwebui", component: "webui.db", path: "webui.db" })).toBeUndefined();
  });

  it("a copy killed midway is trusted by nothing: the next capture writes over it, byte for byte a fresh copy", async () => {
    await capture();
    for (let i = 0; i < 50; i++) insertChat(`later ${i}`);
    app.pragma("wal_checkpoint(TRUNCATE)");
    await backdate();
    // What a kill during the copy leaves: the record forgotten, the file half written over.
    catalog.forgetSqliteCapture({ instance: "openwebui", component: "webui.db", path: "webui.db" });
    const fh = await open(stagedPath(), "r+");
    const size = (await fh.stat()).size;
    await fh.write(Buffer.alloc(size / 2, 0xa5), 0, size / 2, 0);
    await fh.close();
    await writeFile(`${stagedPath()}-journal`, "a journal SQLite must not roll back into the fresh copy");

    const stats = await captureWithStats();
    expect(stats.reused).toBe(false);
    expect(stats.written).toBeGreaterThanOrEqual(size / 2);
    const fresh = path.join(dir, "fresh.db");
    await captureSqlite(live, "webui.db", fresh, {});
    expect((await readFile(stagedPath())).equals(await readFile(fresh))).toBe(true);
    expect(chatIds(stagedPath())).toContain("later 49");
    expect(await readdir(path.dirname(stagedPath()))).toEqual(["webui.db"]);
  });

  it("gives two components whose databases have the same file name a copy each", async () => {
    await mkdir(path.join(data, "other"));
    const other = new Database(path.join(data, "other", "webui.db"));
    other.exec("CREATE TABLE chat (id TEXT PRIMARY KEY, body TEXT); INSERT INTO chat VALUES ('other', 'x')");
    other.close();
    const t = Date.now() / 1000 - 60;
    await utimes(path.join(data, "other", "webui.db"), t, t);

    const a = await capture({ name: "a" });
    const b = await capture({ name: "b", path: "other/webui.db" });
    expect(a.entries[0]!.source).toBe(stagedPath("a"));
    expect(b.entries[0]!.source).toBe(stagedPath("b"));
    expect(chatIds(stagedPath("b"))).toEqual(["other"]);
    const [sa, sb] = [await stamp(stagedPath("a")), await stamp(stagedPath("b"))];
    await capture({ name: "a" });
    await capture({ name: "b", path: "other/webui.db" });
    expect([await stamp(stagedPath("a")), await stamp(stagedPath("b"))]).toEqual([sa, sb]);
    expect(chatIds(stagedPath("a"))).toHaveLength(300);
  });

  it("without a state folder, copies into a temp folder every time and removes it", async () => {
    const tmp = path.join(dir, "tmp");
    const first = await captureComponent("openwebui", data, component(), { stagingDir: tmp });
    const second = await captureComponent("openwebui", data, component(), { stagingDir: tmp });
    expect(first.entries[0]!.source).not.toBe(second.entries[0]!.source);
    for (const c of [first, second]) await c.cleanup();
    expect(await readdir(tmp)).toEqual([]);
  });
});
