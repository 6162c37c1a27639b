import { existsSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { IntegrityError, UserError } from "../../src/errors.js";
import { Repository } from "../../src/repo/repository.js";
import { LocalTarget } from "../../src/targets/local.js";
import { withTmpDir } from "../helpers/tmp.js";
import { seededBytes } from "./helpers.js";

const PASS = "correct horse battery staple";

async function files(dir: string, sub: string): Promise<string[]> {
  return existsSync(path.join(dir, sub)) ? (await readdir(path.join(dir, sub), { recursive: true })).map(String) : [];
}

describe("Repository", () => {
  it("create: false on an empty target returns undefined and writes nothing", () =>
    withTmpDir(async (dir) => {
      const t = new LocalTarget("nas", path.join(dir, "repo"));
      expect(await Repository.open(t, { create: false })).toBeUndefined();
      expect(await Repository.open(t, { create: false, passphrase: PASS })).toBeUndefined();
      expect(existsSync(path.join(dir, "repo"))).toBe(false);
    }));

  it("round-trips chunks encrypted; ids are keyed and content is not visible at rest", () =>
    withTmpDir(async (dir) => {
      const t = new LocalTarget("nas", dir);
      const repo = await Repository.open(t, { create: true, passphrase: PASS });
      expect(repo.encrypted).toBe(true);
      const text = Buffer.from("SQLite format 3\0".repeat(20000)); // compressible, recognisable
      const { id, written } = await repo.putChunk(text);
      expect(written).toBeGreaterThan(0);
      expect(written).toBeLessThan(text.length / 5); // compressed before sealing
      const sha = (await import("node:crypto")).createHash("sha256").update(text).digest("hex");
      expect(id).not.toBe(sha);
      expect(await repo.locateChunk(id)).toBeUndefined(); // in the open pack, not yet stored
      await repo.flushPacks();
      const loc = (await repo.locateChunk(id))!;
      expect(loc.key).toMatch(/^data\/[0-9a-f]{2}\/[0-9a-f]{32}$/);
      const stored = await readFile(path.join(dir, loc.key));
      expect(stored.includes(Buffer.from("SQLite format 3"))).toBe(false);
      const index = await readFile(path.join(dir, "index", (await files(dir, "index"))[0]!));
      expect(index.includes(Buffer.from(id))).toBe(false); // the index is sealed too
      expect((await repo.putChunk(text)).written).toBe(0);
      const again = (await Repository.open(t, { create: false, passphrase: PASS }))!;
      expect((await again.getChunk(id)).equals(text)).toBe(true);
      const raw = seededBytes(300_000, "raw");
      const r = await again.putChunk(raw);
      expect(r.written).toBeGreaterThan(raw.length); // incompressible: stored raw + nonce/tag/header
      await again.flushPacks();
      expect((await again.getChunk(r.id)).equals(raw)).toBe(true);
      const cfg = JSON.parse(await readFile(path.join(dir, "config"), "utf8"));
      expect(cfg).toMatchObject({ format: "backplan-repository", version: 2, chunker: { min: 262144, avg: 1048576, max: 4194304 } });
      const key = JSON.parse(await readFile(path.join(dir, "keys", (await files(dir, "keys"))[0]!), "utf8"));
      expect(key).toMatchObject({ kdf: "scrypt", N: 32768, r: 8, p: 1 });
    }));

  it("unencrypted ids are plain sha256 of the content", () =>
    withTmpDir(async (dir) => {
      const repo = await Repository.open(new LocalTarget("nas", dir), { create: true });
      const data = Buffer.from("hello");
      const { id } = await repo.putChunk(data);
      expect(id).toBe((await import("node:crypto")).createHash("sha256").update(data).digest("hex"));
    }));

  it("a wrong passphrase is a clear UserError that reveals no secret", () =>
    withTmpDir(async (dir) => {
      const t = new LocalTarget("nas", dir);
      await Repository.open(t, { create: true, passphrase: PASS });
      const err = await Repository.open(t, { create: false, passphrase: "wrong guess" }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UserError);
      expect((err as UserError).message).toBe(`wrong passphrase for repository on local folder ${dir}`);
      expect((err as UserError).hint).toBeTruthy();
      expect(JSON.stringify({ m: (err as Error).message, h: (err as UserError).hint })).not.toMatch(/wrong guess|horse/);
    }));

  it("opens a repository whose key appeared between its key listing and its config read (one being created)", () =>
    withTmpDir(async (dir) => {
      const made = new LocalTarget("nas", dir);
      await Repository.open(made, { create: true, passphrase: PASS });
      // The listing that runs beside the config read saw the keys/ folder before the key was in it.
      const racing = new LocalTarget("nas", dir);
      let first = true;
      const list = racing.list.bind(racing);
      racing.list = async (prefix) => (prefix === "keys/" && first ? ((first = false), []) : list(prefix));
      const repo = await Repository.open(racing, { create: false, passphrase: PASS });
      expect(repo?.encrypted).toBe(true);
      expect(first).toBe(false);
    }));

  it("deferKey: opens before scrypt is done; objects wait for the key, chunk ids refuse to guess", () =>
    withTmpDir(async (dir) => {
      const t = new LocalTarget("nas", dir);
      const made = await Repository.open(t, { create: true, passphrase: PASS });
      const { id } = await made.putChunk(Buffer.from("hello"));
      await made.flushPacks();
      const deferred = await Repository.open(t, { create: false, passphrase: PASS, deferKey: true });
      expect(deferred!.encrypted).toBe(true);
      // A keyless id would be the plain sha256: silently a different chunk.
      expect(() => deferred!.chunkId("00".repeat(32))).toThrow(/before it was unlocked/);
      expect((await deferred!.getChunk(id)).toString()).toBe("hello"); // waits for the key itself
      expect(deferred!.chunkId("00".repeat(32))).toBe(made.chunkId("00".repeat(32)));

      const wrong = await Repository.open(t, { create: false, passphrase: "wrong guess", deferKey: true });
      await expect(wrong!.unlocked()).rejects.toThrow(/wrong passphrase/);
      await expect(wrong!.getChunk(id)).rejects.toThrow(/wrong passphrase/);
    }));

  it("refuses a passphrase on an unencrypted repository and vice versa", () =>
    withTmpDir(async (dir) => {
      const plain = new LocalTarget("a", path.join(dir, "a"));
      await Repository.open(plain, { create: true });
      await expect(Repository.open(plain, { create: true, passphrase: PASS })).rejects.toThrow(/not encrypted, but the spec sets/);
      const enc = new LocalTarget("b", path.join(dir, "b"));
      await Repository.open(enc, { create: true, passphrase: PASS });
      await expect(Repository.open(enc, { create: true })).rejects.toThrow(/is encrypted and the spec sets no passphrase/);
    }));

  it("refuses an unknown or newer repository format, and foreign objects without a config", () =>
    withTmpDir(async (dir) => {
      const t = new LocalTarget("nas", dir);
      await Repository.open(t, { create: true });
      const cfg = JSON.parse(await readFile(path.join(dir, "config"), "utf8"));
      await writeFile(path.join(dir, "config"), JSON.stringify({ ...cfg, version: 3 }));
      await expect(Repository.open(t, { create: false })).rejects.toThrow(/format version 3; this backplan reads version 2/);
      await writeFile(path.join(dir, "config"), JSON.stringify({ ...cfg, version: 1 }));
      const old = await Repository.open(t, { create: false }).catch((e: unknown) => e);
      expect(old).toBeInstanceOf(UserError);
      expect((old as UserError).hint).toMatch(/one object per chunk.*new, empty location/);
      await writeFile(path.join(dir, "config"), JSON.stringify({ format: "restic" }));
      await expect(Repository.open(t, { create: true })).rejects.toBeInstanceOf(UserError);
      await writeFile(path.join(dir, "config"), "garbage");
      await expect(Repository.open(t, { create: true })).rejects.toThrow(/not a backplan repository/);
      const t2 = new LocalTarget("x", path.join(dir, "x"));
      await t2.put("snapshots/0123456789abcdef0123456789abcdef", new Uint8Array([1]));
      await expect(Repository.open(t2, { create: false })).rejects.toThrow(/holds repository objects but no `config`/);
      await expect(Repository.open(t2, { create: true })).rejects.toThrow(/no `config`/);
    }));

  it("detects a tampered or swapped object and names it", () =>
    withTmpDir(async (dir) => {
      for (const pass of [PASS, undefined]) {
        const root = path.join(dir, pass ? "enc" : "plain");
        const repo = await Repository.open(new LocalTarget("nas", root), { create: true, ...(pass ? { passphrase: pass } : {}) });
        const { id } = await repo.putChunk(seededBytes(100_000, "t"));
        const other = await repo.putChunk(seededBytes(50_000, "u"));
        await repo.flushPacks();
        const loc = (await repo.locateChunk(id))!;
        const file = path.join(root, loc.key);
        const bytes = await readFile(file);
        bytes[loc.offset + (loc.length >> 1)]! ^= 0x01;
        await writeFile(file, bytes);
        const fresh = (await Repository.open(new LocalTarget("nas", root), { create: false, ...(pass ? { passphrase: pass } : {}) }))!;
        const err = await fresh.getChunk(id).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(IntegrityError);
        expect((err as Error).message).toContain(id);
        expect((err as Error).message).toContain(loc.key);
        expect((await fresh.getChunk(other.id)).length).toBe(50_000); // the rest of the pack is fine
      }
    }));
});
