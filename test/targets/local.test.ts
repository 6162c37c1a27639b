import { existsSync } from "node:fs";
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { TargetError } from "../../src/errors.js";
import { LocalTarget } from "../../src/targets/local.js";
import { tmpDir, withTmpDir } from "../helpers/tmp.js";
import { describeTargetConformance } from "./conformance.js";

describeTargetConformance("local", async () => {
  const { dir, cleanup } = await tmpDir("backplan-local-");
  return { target: new LocalTarget("nas", path.join(dir, "repo")), cleanup };
});

describe("LocalTarget specifics", () => {
  it("does not create its folder when only read", () =>
    withTmpDir(async (dir) => {
      const root = path.join(dir, "nas");
      const t = new LocalTarget("nas", root);
      expect(await t.list("")).toEqual([]);
      expect(await t.stat("config")).toBeUndefined();
      await t.delete("config");
      expect(existsSync(root)).toBe(false);
      await t.put("config", new Uint8Array([1]));
      expect(existsSync(path.join(root, "config"))).toBe(true);
    }));

  it("refuses to create a missing parent (an unmounted disk) with a clear TargetError", () =>
    withTmpDir(async (dir) => {
      const t = new LocalTarget("nas", path.join(dir, "not-mounted", "backplan"));
      const err = await t.put("config", new Uint8Array([1])).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TargetError);
      expect((err as TargetError).message).toContain(path.join(dir, "not-mounted", "backplan"));
      expect((err as TargetError).message).toContain("parent folder does not exist");
      expect((err as TargetError).hint).toMatch(/create|mount/);
    }));

  it("reports a file in the way of its folder", () =>
    withTmpDir(async (dir) => {
      await writeFile(path.join(dir, "blocker"), "x");
      const t = new LocalTarget("nas", path.join(dir, "blocker", "repo"));
      await expect(t.put("config", new Uint8Array([1]))).rejects.toBeInstanceOf(TargetError);
      expect(await t.list("")).toEqual([]);
    }));

  it("never lists leftover temp files of interrupted puts, and leaves none after a put", () =>
    withTmpDir(async (dir) => {
      const t = new LocalTarget("nas", dir);
      await t.put("data/ab/abcd", new Uint8Array([1, 2]));
      expect((await readdir(path.join(dir, "data", "ab"))).sort()).toEqual(["abcd"]);
      await writeFile(path.join(dir, "data", "ab", ".abce.tmp-123456"), "partial");
      expect((await t.list("data/")).map((o) => o.key)).toEqual(["data/ab/abcd"]);
    }));

  it("rejects keys that could escape the folder or collide with temp files", () =>
    withTmpDir(async (dir) => {
      const t = new LocalTarget("nas", dir);
      for (const k of ["../x", "/abs", "a/../../b", "a//b", "", ".hidden", "a/.tmp", "a\\b", "a/"]) {
        await expect(t.put(k, new Uint8Array([1])), k).rejects.toBeInstanceOf(TargetError);
      }
      await mkdir(path.join(dir, "sub"));
      expect(await t.list("")).toEqual([]);
    }));

  it("flush makes puts durable: it fsyncs the folders they changed, also new ones, and can run twice", () =>
    withTmpDir(async (dir) => {
      const t = new LocalTarget("nas", path.join(dir, "repo"));
      await t.flush(); // nothing yet
      await t.put("data/ab/abcd", new Uint8Array([1, 2]));
      await t.put("snapshots/s1", new Uint8Array([3]));
      await t.flush();
      await t.flush();
      expect((await t.list("")).map((o) => o.key).sort()).toEqual(["data/ab/abcd", "snapshots/s1"]);
    }));

  it("a failed flush is a TargetError and keeps the folders for the next flush", () =>
    withTmpDir(async (dir) => {
      const t = new LocalTarget("nas", path.join(dir, "repo"));
      await t.put("data/ab/abcd", new Uint8Array([1]));
      await rm(path.join(dir, "repo", "data"), { recursive: true });
      await expect(t.flush()).rejects.toBeInstanceOf(TargetError);
      await expect(t.flush()).rejects.toBeInstanceOf(TargetError);
    }));

  it("reads small objects without a trip through the thread pool, large ones through it, both whole", () =>
    withTmpDir(async (dir) => {
      const t = new LocalTarget("nas", path.join(dir, "nas"));
      const small = Buffer.from(Array.from({ length: 3000 }, (_, i) => i & 0xff));
      const large = Buffer.alloc(1024 * 1024 + 1, 7);
      await t.put("index/small", small);
      await t.put("data/00/large", large);
      // A read through the pool completes in a later turn of the event loop than setImmediate's.
      const settledFirst = async (p: Promise<Uint8Array>) => {
        let immediate = false;
        setImmediate(() => (immediate = true));
        const data = await p;
        return { data: Buffer.from(data), beforeImmediate: !immediate };
      };
      const s = await settledFirst(t.get("index/small"));
      expect(s.beforeImmediate).toBe(true);
      expect(s.data.equals(small)).toBe(true);
      // Its own memory, as readFile's: a caller may transfer it to a worker thread.
      expect((await t.get("index/small")).buffer.byteLength).toBe(small.length);
      const l = await settledFirst(t.get("data/00/large"));
      expect(l.beforeImmediate).toBe(false);
      expect(l.data.equals(large)).toBe(true);
      await expect(t.get("index/missing")).rejects.toThrow(/index\/missing/);
    }));

  it("describes itself by path", () => {
    const t = new LocalTarget("nas", "/mnt/nas/backplan");
    expect(t.where).toBe("local folder /mnt/nas/backplan");
  });
});
