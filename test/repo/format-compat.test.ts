/**
 * A repository written before zstd (commit b5a8345: brotli quality 0 chunks, manifests and
 * index objects) restores and verifies with this code. The fixture was made by that build's
 * `backplan apply` of a small instance (a SQLite database and two files); it is never written.
 */
import { createHash } from "node:crypto";
import { cp, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { BROTLI, ZSTD } from "../../src/repo/compress.js";
import { unseal } from "../../src/repo/crypto.js";
import { blobAad } from "../../src/repo/pack.js";
import { restoreSnapshots } from "../../src/repo/restore.js";
import { verifySnapshot } from "../../src/repo/verify.js";
import { withTmpDir } from "../helpers/tmp.js";
import { DECODE_PATHS, openRepo } from "./helpers.js";

const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures", "repo-brotli");
const sha256 = async (file: string) => createHash("sha256").update(await readFile(file)).digest("hex");

describe.each(DECODE_PATHS)("a repository written with brotli, decoding $decodeOn, whole files on the threads: $localFiles", ({ decodeOn, localFiles }) => {
  it("restores byte for byte, and verifies", () =>
    withTmpDir(async (dir) => {
      const copy = path.join(dir, "repo");
      await cp(fixture, copy, { recursive: true });
      const { repo } = await openRepo(copy, "fixture-pass", { localFiles });
      const ids = await repo.listSnapshotIds();
      expect(ids).toHaveLength(2);
      const manifests = await Promise.all(ids.map((id) => repo.readSnapshot(id)));
      const out = path.join(dir, "out");
      await restoreSnapshots(repo, manifests, out, { decodeOn });
      expect(await sha256(path.join(out, "notes", "readme.md"))).toBe("8c0ac347f12619cf338a84b28bd380aca8eeae03816d47a1608cc415e8c5f209");
      expect(await sha256(path.join(out, "notes", "noise.bin"))).toBe("3ba3301ad7d5a00023d4d6ec9a2f7d39613506d8922804d2cae937d988f9a83c");
      const db = new Database(path.join(out, "app.db"), { readonly: true });
      expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
      expect(db.prepare("SELECT count(*) AS n FROM chat").get()).toEqual({ n: 800 });
      db.close();
      for (const m of manifests) expect(await verifySnapshot(repo, m)).toMatchObject({ ok: true, problems: [] });
    }));
});

describe("the fixture", () => {
  it("really is brotli-coded, and what this code writes is zstd", () =>
    withTmpDir(async (dir) => {
      const copy = path.join(dir, "repo");
      await cp(fixture, copy, { recursive: true });
      const { repo } = await openRepo(copy, "fixture-pass");
      const key = (repo as unknown as { key: { enc: Buffer } }).key;
      const firstByte = async (id: string) => {
        const at = (await repo.locateChunk(id))!;
        const pack = await readFile(path.join(copy, at.key.split("/").join(path.sep)));
        return unseal(key.enc, pack.subarray(at.offset, at.offset + at.length), blobAad(id))![0];
      };
      const manifests = await Promise.all((await repo.listSnapshotIds()).map((id) => repo.readSnapshot(id)));
      const readme = manifests.flatMap((m) => m.entries).find((e) => e.path === "notes/readme.md")!;
      expect(await firstByte(readme.chunks![0]!)).toBe(BROTLI);
      // The same bytes stored now: a new chunk id (the file changed by one line), zstd-coded.
      const changed = Buffer.from("line -1: a line the fixture does not have\n".repeat(3000));
      const { id } = await repo.putChunk(changed);
      await repo.flushPacks();
      expect(await firstByte(id)).toBe(ZSTD);
    }));
});
