import { createHash } from "node:crypto";
import { copyFile, lstat, mkdir, readFile, readdir, readlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { generateOpenWebUi, mulberry32, writePassphrase } from "../../src/demo/generate.js";
import { chatIds, readDb, tempDir } from "../helpers/capture-fixtures.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir("backplan-demo-test-")));
afterEach(() => cleanup());

/** Every file, folder and link under root: path → size and content hash / "dir" / "-> target". */
async function inventory(root: string, rel = ""): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const d of await readdir(path.join(root, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${d.name}` : d.name;
    const abs = path.join(root, p);
    if (d.isDirectory()) Object.assign(out, { [p]: "dir" }, await inventory(root, p));
    else if (d.isSymbolicLink()) out[p] = `-> ${await readlink(abs)}`;
    else if (/\.(db|sqlite3)(-wal|-shm)?$/.test(p)) out[p] = `${(await lstat(abs)).size}`; // SQLite salts its WAL headers
    else out[p] = `${(await lstat(abs)).size} ${createHash("sha256").update(await readFile(abs)).digest("hex")}`;
  }
  return out;
}

function dump(file: string): Record<string, unknown[]> {
  return readDb(file, (db) => {
    const tables = (db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((t) => t.name);
    return Object.fromEntries(tables.map((t) => [t, db.prepare(`SELECT * FROM "${t}" ORDER BY rowid`).all()]));
  });
}

const tableNames = (file: string) =>
  readDb(file, (db) => (db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name));

describe("generateOpenWebUi", () => {
  it("is deterministic: same seed, same files, sizes, bytes and rows; another seed differs", async () => {
    const [a, b, c] = ["a", "b", "c"].map((x) => path.join(dir, x)) as [string, string, string];
    const sa = await generateOpenWebUi(a, { seed: 9, scale: 0.05 });
    const sb = await generateOpenWebUi(b, { seed: 9, scale: 0.05 });
    await generateOpenWebUi(c, { seed: 10, scale: 0.05 });

    expect(await inventory(a)).toEqual(await inventory(b));
    expect(await inventory(a)).not.toEqual(await inventory(c));
    for (const db of ["webui.db", "vector_db/chroma.sqlite3"]) expect(dump(path.join(a, db))).toEqual(dump(path.join(b, db)));
    expect(dump(path.join(a, "webui.db"))).not.toEqual(dump(path.join(c, "webui.db")));
    expect({ ...sa, dir: "", paths: {} }).toEqual({ ...sb, dir: "", paths: {} });
  });

  it("leaves the last chat rows only in webui.db-wal, where a copy of webui.db alone loses them", async () => {
    const s = await generateOpenWebUi(path.join(dir, "data"), { seed: 4, scale: 0.05 });
    expect(s.walOnlyRowIds).toHaveLength(3);
    const wal = await lstat(`${s.paths.webuiDb}-wal`);
    expect(wal.size).toBeGreaterThan(0);
    expect(s.bytes.webuiDbWal).toBe(wal.size);

    // What `cp webui.db` (the scripts this product replaces) would keep:
    const raw = path.join(dir, "raw");
    await mkdir(raw);
    await copyFile(s.paths.webuiDb, path.join(raw, "webui.db"));
    const rawIds = chatIds(path.join(raw, "webui.db"));
    expect(rawIds.length).toBeGreaterThan(0);
    for (const id of s.walOnlyRowIds) expect(rawIds).not.toContain(id);

    // Any reader of the live database (with its -wal) sees them.
    const liveIds = chatIds(s.paths.webuiDb);
    for (const id of s.walOnlyRowIds) expect(liveIds).toContain(id);
    expect(liveIds).toHaveLength(rawIds.length + 3);

    // Same for the Chroma store.
    await copyFile(path.join(s.paths.vectorDb, "chroma.sqlite3"), path.join(raw, "chroma.sqlite3"));
    const rawEmb = readDb(path.join(raw, "chroma.sqlite3"), (db) => db.prepare("SELECT embedding_id FROM embeddings").all() as { embedding_id: string }[]);
    expect(s.walOnlyEmbeddingIds).toHaveLength(2);
    for (const id of s.walOnlyEmbeddingIds) expect(rawEmb.map((r) => r.embedding_id)).not.toContain(id);
  });

  it("with keepWalPending: false, everything is in the main database files", async () => {
    const s = await generateOpenWebUi(path.join(dir, "data"), { seed: 4, scale: 0.02, keepWalPending: false });
    expect(s.walOnlyRowIds).toEqual([]);
    await expect(lstat(`${s.paths.webuiDb}-wal`)).rejects.toThrow(/ENOENT/);
    expect(chatIds(s.paths.webuiDb)).toHaveLength(s.counts.chats);
  });

  it("builds the Open WebUI layout: tables, segment folders, odd upload names, cache, audit.log", async () => {
    const s = await generateOpenWebUi(path.join(dir, "data"), { seed: 1, scale: 0.05 });
    expect(tableNames(s.paths.webuiDb)).toEqual(
      expect.arrayContaining(["user", "auth", "chat", "message", "file", "config", "model", "knowledge", "tag"]),
    );
    const chat = readDb(s.paths.webuiDb, (db) => db.prepare("SELECT chat FROM chat LIMIT 1").get() as { chat: string });
    expect(JSON.parse(chat.chat)).toMatchObject({ history: { messages: expect.any(Object) }, messages: expect.any(Array) });
    expect(tableNames(path.join(s.paths.vectorDb, "chroma.sqlite3"))).toEqual(
      expect.arrayContaining(["collections", "segments", "embeddings", "embedding_metadata"]),
    );

    expect(s.paths.segments).toHaveLength(2);
    for (const seg of s.paths.segments) {
      expect(path.basename(seg)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect((await readdir(seg)).sort()).toEqual(["data_level0.bin", "header.bin", "index_metadata.pickle", "length.bin", "link_lists.bin"]);
    }
    const up = await readdir(s.paths.uploads);
    expect(up).toEqual(expect.arrayContaining(["résumé 2024.pdf", "日本語.txt", "empty.txt", "empty folder", "nested", "latest.pdf"]));
    expect((await lstat(path.join(s.paths.uploads, "empty.txt"))).size).toBe(0);
    expect(await readdir(path.join(s.paths.uploads, "empty folder"))).toEqual([]);
    expect(await readlink(path.join(s.paths.uploads, "latest.pdf"))).toBe("résumé 2024.pdf");
    expect((await lstat(path.join(s.paths.uploads, "nested", "deeper", "quarterly report.csv"))).isFile()).toBe(true);
    expect((await readdir(s.paths.cache, { recursive: true })).length).toBeGreaterThan(0);
    expect((await readFile(s.paths.auditLog, "utf8")).split("\n")[0]).toMatch(/^\{"id":/);
    expect(s.counts.symlinks).toBe(1);
  });

  it("sizes follow scale, uploads and dbMiB", async () => {
    const s = await generateOpenWebUi(path.join(dir, "data"), { seed: 2, scale: 0.1, uploads: 40, dbMiB: 1 });
    expect(s.counts.uploads).toBe(40 + 4); // four fixed, odd-named files besides the generated ones
    expect(s.bytes.webuiDb).toBeGreaterThanOrEqual(1024 * 1024);
    expect(s.bytes.webuiDb).toBeLessThan(1.3 * 1024 * 1024);
    const demo = await generateOpenWebUi(path.join(dir, "demo"), { seed: 42 });
    expect(demo.bytes.total).toBeGreaterThan(5e6);
    expect(demo.bytes.total).toBeLessThan(11e6);
  });

  it("refuses a folder that is not empty", async () => {
    await writeFile(path.join(dir, "x"), "");
    await expect(generateOpenWebUi(dir)).rejects.toThrow(`${dir} is not empty`);
  });
});

describe("mulberry32", () => {
  it("is a fixed sequence per seed", () => {
    const a = mulberry32(1);
    const b = mulberry32(1);
    const xs = Array.from({ length: 5 }, () => a());
    expect(xs).toEqual(Array.from({ length: 5 }, () => b()));
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(mulberry32(2)()).not.toBe(xs[0]);
  });
});

describe("writePassphrase", () => {
  it("creates a 0600 file once and never overwrites it", async () => {
    const file = path.join(dir, "demo", "passphrase");
    expect(await writePassphrase(file)).toBe(true);
    expect((await lstat(file)).mode & 0o777).toBe(0o600);
    const first = await readFile(file, "utf8");
    expect(first.length).toBeGreaterThanOrEqual(24);
    expect(await writePassphrase(file)).toBe(false);
    expect(await readFile(file, "utf8")).toBe(first);
  });
});
