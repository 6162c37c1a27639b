import { chmod, lstat, mkdir, readdir, readFile, rm, symlink, truncate, utimes, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { IntegrityError, NotFoundError, UserError } from "../../src/errors.js";
import { restoreSnapshots } from "../../src/repo/restore.js";
import { storeSnapshot } from "../../src/repo/store.js";
import type { SnapshotManifest } from "../../src/repo/types.js";
import { verifySnapshot } from "../../src/repo/verify.js";
import { readTree } from "../helpers/compare.js";
import { withTmpDir } from "../helpers/tmp.js";
import { captureDir, DECODE_PATHS, openRepo, seededBytes } from "./helpers.js";

const t1 = new Date("2024-02-29T12:34:56.789Z");
const t2 = new Date("2001-01-01T00:00:00.000Z");

async function oddTree(root: string) {
  const up = path.join(root, "uploads");
  await mkdir(path.join(up, "empty dir"), { recursive: true });
  await mkdir(path.join(up, "ünï cödé 📁"));
  await writeFile(path.join(up, "ünï cödé 📁", "naïve résumé.pdf"), seededBytes(2_500_000, "r"));
  await writeFile(path.join(up, "with  two spaces .txt"), "spaces\n");
  await writeFile(path.join(up, "empty"), "");
  await writeFile(path.join(up, "secret.key"), "k");
  await writeFile(path.join(up, "run.sh"), "#!/bin/sh\n");
  await chmod(path.join(up, "secret.key"), 0o600);
  await chmod(path.join(up, "with  two spaces .txt"), 0o644);
  await chmod(path.join(up, "run.sh"), 0o755);
  await symlink("ünï cödé 📁/naïve résumé.pdf", path.join(up, "link to pdf"));
  await symlink("/etc/passwd", path.join(up, "abs link"));
  for (const f of ["empty", "secret.key", "run.sh", "ünï cödé 📁/naïve résumé.pdf"]) await utimes(path.join(up, f), t1, t1);
  await utimes(path.join(up, "ünï cödé 📁"), t2, t2);
  await utimes(path.join(up, "empty dir"), t2, t2);
  await writeFile(path.join(root, "webui.db"), seededBytes(100_000, "db"));
}

describe.each(DECODE_PATHS)("restore, decoding $decodeOn, whole files on the threads: $localFiles", ({ decodeOn, localFiles }) => {
  it("round-trips names, empty file and folder, symlinks, modes and mtimes (files and folders)", () =>
    withTmpDir(async (dir) => {
      const data = path.join(dir, "data");
      await oddTree(data);
      for (const pass of [undefined, "pw"]) {
        const { repo } = await openRepo(path.join(dir, `repo-${pass ?? "plain"}`), pass, { localFiles });
        const a = await storeSnapshot(repo, await captureDir(data, { sub: "uploads" }));
        const b = await storeSnapshot(repo, await captureDir(data, { sub: "webui.db" }));
        const out = path.join(dir, `out-${pass ?? "plain"}`);
        const r = await restoreSnapshots(repo, [await repo.readSnapshot(a.id), await repo.readSnapshot(b.id)], out, { decodeOn });
        expect(r.files).toBe(6);
        expect(r.symlinks).toBe(2);
        expect(await readTree(out)).toEqual(await readTree(data));
        const dirSt = await lstat(path.join(out, "uploads", "ünï cödé 📁"));
        expect(dirSt.mtime.toISOString()).toBe(t2.toISOString());
        expect((await lstat(path.join(out, "uploads", "empty dir"))).mtime.toISOString()).toBe(t2.toISOString());
        expect((await lstat(path.join(out, "uploads", "secret.key"))).mode & 0o777).toBe(0o600);
        expect((await lstat(path.join(out, "uploads", "run.sh"))).mode & 0o777).toBe(0o755);
        expect((await readdir(path.join(out, "uploads"))).some((n) => n.includes(".backplan-"))).toBe(false);
      }
    }));

  it("refuses a non-empty destination unless forced", () =>
    withTmpDir(async (dir) => {
      const data = path.join(dir, "data");
      await oddTree(data);
      const { repo } = await openRepo(path.join(dir, "repo"), undefined, { localFiles });
      const s = await storeSnapshot(repo, await captureDir(data, { sub: "webui.db" }));
      const m = await repo.readSnapshot(s.id);
      const out = path.join(dir, "out");
      await mkdir(out);
      await writeFile(path.join(out, "webui.db"), "old");
      const err = await restoreSnapshots(repo, [m], out, { decodeOn }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UserError);
      expect((err as Error).message).toMatch(/is not empty/);
      expect((err as UserError).hint).toMatch(/--force/);
      expect(await readFile(path.join(out, "webui.db"), "utf8")).toBe("old");
      await restoreSnapshots(repo, [m], out, { decodeOn, force: true });
      expect((await readFile(path.join(out, "webui.db"))).equals(await readFile(path.join(data, "webui.db")))).toBe(true);
    }));

  it("rejects crafted manifests: ../, absolute paths, writes through symlinks", () =>
    withTmpDir(async (dir) => {
      const data = path.join(dir, "data");
      await oddTree(data);
      const { repo } = await openRepo(path.join(dir, "repo"), undefined, { localFiles });
      const s = await storeSnapshot(repo, await captureDir(data, { sub: "webui.db" }));
      const good = await repo.readSnapshot(s.id);
      const file = good.entries[0]!;
      const crafted: [string, SnapshotManifest["entries"]][] = [
        ["dotdot", [{ ...file, path: "../escaped.db" }]],
        ["inner dotdot", [{ ...file, path: "uploads/../../escaped.db" }]],
        ["absolute", [{ ...file, path: "/tmp/escaped.db" }]],
        ["empty segment", [{ ...file, path: "uploads//x" }]],
        [
          "through symlink",
          [
            { path: "uploads", type: "symlink", mode: 0o777, mtimeMs: 0, size: 0, linkTarget: dir },
            { ...file, path: "uploads/escaped.db" },
          ],
        ],
      ];
      for (const [name, entries] of crafted) {
        const out = path.join(dir, "out-" + name.replace(/ /g, "-"));
        const err = await restoreSnapshots(repo, [{ ...good, entries }], out, { decodeOn }).catch((e: unknown) => e);
        expect(err, name).toBeInstanceOf(IntegrityError);
        expect((err as Error).message).toMatch(/unsafe paths/);
      }
      const all = await readdir(dir, { recursive: true });
      expect(all.some((n) => String(n).includes("escaped"))).toBe(false);
    }));

  it("with --force, never writes through a symlink already in the destination", () =>
    withTmpDir(async (dir) => {
      const data = path.join(dir, "data");
      await oddTree(data);
      const { repo } = await openRepo(path.join(dir, "repo"), undefined, { localFiles });
      const s = await storeSnapshot(repo, await captureDir(data, { sub: "uploads" }));
      const out = path.join(dir, "out");
      const elsewhere = path.join(dir, "elsewhere");
      await mkdir(out);
      await mkdir(elsewhere);
      await symlink(elsewhere, path.join(out, "uploads"));
      await expect(restoreSnapshots(repo, [await repo.readSnapshot(s.id)], out, { decodeOn, force: true })).rejects.toThrow(/not a folder/);
      expect(await readdir(elsewhere)).toEqual([]);
    }));

  it("refuses a manifest whose file size disagrees with its chunks, before writing anything", () =>
    withTmpDir(async (dir) => {
      const data = path.join(dir, "data");
      await oddTree(data);
      const { repo } = await openRepo(path.join(dir, "repo"), undefined, { localFiles });
      const good = await repo.readSnapshot((await storeSnapshot(repo, await captureDir(data, { sub: "webui.db" }))).id);
      const entries = good.entries.map((e) => (e.type === "file" ? { ...e, size: e.size + 1 } : e));
      const out = path.join(dir, "out");
      const err = await restoreSnapshots(repo, [{ ...good, entries }], out, { decodeOn }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IntegrityError);
      expect((err as Error).message).toMatch(/webui\.db: its chunks hold 100000 bytes, the manifest says 100001/);
      expect(await readdir(out)).toEqual([]);
    }));

  it("a flipped byte in a stored chunk: restore refuses, verify reports it", () =>
    withTmpDir(async (dir) => {
      const data = path.join(dir, "data");
      await oddTree(data);
      for (const pass of [undefined, "pw"]) {
        const root = path.join(dir, `repo-${pass ?? "plain"}`);
        const { repo } = await openRepo(root, pass, { localFiles });
        const s = await storeSnapshot(repo, await captureDir(data, { sub: "webui.db" }));
        const m = await repo.readSnapshot(s.id);
        const id = m.entries[0]!.chunks![0]!;
        const loc = (await repo.locateChunk(id))!;
        const file = path.join(root, loc.key);
        const bytes = await readFile(file);
        bytes[loc.offset + 20]! ^= 0x40;
        await writeFile(file, bytes);
        const out = path.join(dir, `out-${pass ?? "plain"}`);
        await expect(restoreSnapshots(repo, [m], out, { decodeOn })).rejects.toBeInstanceOf(IntegrityError);
        expect(await readdir(out)).toEqual([]); // no partial file under the real name
        const rec = await verifySnapshot(repo, m, { decodeOn });
        expect(rec.ok).toBe(false);
        expect(rec.problems.join("\n")).toContain(id);
        expect((await repo.listVerifications()).find((v) => v.snapshotId === s.id)?.ok).toBe(false);
      }
    }));

  it("a pack cut short or deleted under a snapshot: restore names it, verify reports every file and goes on", () =>
    withTmpDir(async (dir) => {
      const data = path.join(dir, "data");
      await oddTree(data);
      const root = path.join(dir, "repo");
      const { repo } = await openRepo(root, "pw", { localFiles });
      const s = await storeSnapshot(repo, await captureDir(data, { sub: "uploads" }));
      const m = await repo.readSnapshot(s.id);
      const withChunks = m.entries.filter((e) => (e.chunks ?? []).length > 0);
      const loc = (await repo.locateChunk(withChunks[0]!.chunks![0]!))!;
      const pack = path.join(root, loc.key);
      await truncate(pack, loc.offset + 10);
      const cut = await restoreSnapshots(repo, [m], path.join(dir, "out-cut"), { decodeOn }).catch((e: unknown) => e);
      expect(cut).toBeInstanceOf(IntegrityError);
      expect((cut as Error).message).toMatch(/^chunk [0-9a-f]{64} in pack data\/.* is corrupt: its pack is truncated$/);
      await rm(pack);
      // Opened again: a repository keeps the last packs it read whole (targets without ranges).
      const { repo: again } = await openRepo(root, "pw", { localFiles });
      const gone = await restoreSnapshots(again, [m], path.join(dir, "out-gone"), { decodeOn }).catch((e: unknown) => e);
      expect(gone).toBeInstanceOf(NotFoundError);
      expect(await readdir(path.join(dir, "out-gone", "uploads"))).not.toContain("run.sh");
      const rec = await verifySnapshot(again, m, { decodeOn });
      expect(rec.ok).toBe(false);
      expect(rec.problems).toHaveLength(withChunks.length);
    }));
});
