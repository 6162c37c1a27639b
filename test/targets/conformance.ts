/**
 * The behaviour every Target must have, whatever the backend: the repository format relies on
 * exactly these properties. Run it from a backend's test file:
 *
 *   describeTargetConformance("s3", async () => ({ target, cleanup }));
 *
 * `make` must return an EMPTY target each time (a fresh folder, bucket prefix, remote path).
 */
import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { NotFoundError } from "../../src/errors.js";
import type { Target } from "../../src/targets/target.js";

export function describeTargetConformance(
  name: string,
  make: () => Promise<{ target: Target; cleanup: () => Promise<void> }>,
): void {
  describe(`Target conformance: ${name}`, () => {
    let target: Target;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ target, cleanup } = await make());
    });
    afterEach(async () => {
      await target.close();
      await target.close(); // safe twice
      await cleanup();
    });

    const bytes = (n: number) => new Uint8Array(randomBytes(n));
    const keysOf = async (prefix: string) => (await target.list(prefix)).map((o) => o.key).sort();

    it("has a name and a description without secrets", () => {
      expect(target.name).toBeTruthy();
      expect(target.where).toBeTruthy();
    });

    it("round-trips binary, empty and 5 MiB objects byte for byte", async () => {
      const small = new Uint8Array([0, 1, 2, 255, 254, 0, 10, 13]);
      const empty = new Uint8Array(0);
      const big = bytes(5 * 1024 * 1024 + 17);
      await target.put("t/small", small);
      await target.put("t/empty", empty);
      await target.put("t/big", big);
      expect(Buffer.from(await target.get("t/small")).equals(Buffer.from(small))).toBe(true);
      expect((await target.get("t/empty")).length).toBe(0);
      expect(Buffer.from(await target.get("t/big")).equals(Buffer.from(big))).toBe(true);
    });

    it("overwrites an existing object", async () => {
      await target.put("config", new TextEncoder().encode("one, longer than the second"));
      await target.put("config", new TextEncoder().encode("two"));
      expect(new TextDecoder().decode(await target.get("config"))).toBe("two");
      expect(await keysOf("config")).toEqual(["config"]);
    });

    it("stats present and absent objects", async () => {
      await target.put("s/x", bytes(1234));
      await target.put("s/zero", new Uint8Array(0));
      expect(await target.stat("s/x")).toEqual({ key: "s/x", size: 1234 });
      expect(await target.stat("s/zero")).toEqual({ key: "s/zero", size: 0 });
      expect(await target.stat("s/missing")).toBeUndefined();
      expect(await target.stat("nowhere/at/all")).toBeUndefined();
    });

    it("get of a missing key throws NotFoundError naming the key", async () => {
      await expect(target.get("snapshots/missing")).rejects.toBeInstanceOf(NotFoundError);
      await expect(target.get("snapshots/missing")).rejects.toMatchObject({ key: "snapshots/missing" });
      await target.put("snapshots/present", bytes(3));
      await expect(target.get("snapshots/absent")).rejects.toBeInstanceOf(NotFoundError);
    });

    it("lists by prefix, recursively through nested keys, with sizes", async () => {
      await target.put("data/ab/ab01", bytes(10));
      await target.put("data/ab/ab02", bytes(11));
      await target.put("data/cd/cd01", bytes(12));
      await target.put("snapshots/s1", bytes(13));
      await target.put("config", bytes(14));
      expect(await keysOf("data/")).toEqual(["data/ab/ab01", "data/ab/ab02", "data/cd/cd01"]);
      expect(await keysOf("data/ab/")).toEqual(["data/ab/ab01", "data/ab/ab02"]);
      expect(await keysOf("data/a")).toEqual(["data/ab/ab01", "data/ab/ab02"]); // not folder-aligned
      expect(await keysOf("snapshots/")).toEqual(["snapshots/s1"]);
      expect(await keysOf("")).toEqual(["config", "data/ab/ab01", "data/ab/ab02", "data/cd/cd01", "snapshots/s1"]);
      expect(await keysOf("locks/")).toEqual([]);
      const info = (await target.list("data/cd/")).find((o) => o.key === "data/cd/cd01");
      expect(info?.size).toBe(12);
    });

    it("lists on an empty target without creating anything", async () => {
      expect(await target.list("")).toEqual([]);
      expect(await target.list("snapshots/")).toEqual([]);
      expect(await target.stat("config")).toBeUndefined();
      expect(await target.list("")).toEqual([]);
    });

    it("lists more than 1000 keys (pagination)", async () => {
      const n = 1203;
      const keys = Array.from({ length: n }, (_, i) => `many/${String(i).padStart(5, "0")}`);
      await runLimited(keys.map((k) => () => target.put(k, new Uint8Array([1]))), 32);
      const listed = await keysOf("many/");
      expect(listed.length).toBe(n);
      expect(listed).toEqual(keys);
    }, 120_000);

    it("deletes, and deleting an absent key is not an error", async () => {
      await target.put("locks/l1", bytes(5));
      await target.delete("locks/l1");
      expect(await target.stat("locks/l1")).toBeUndefined();
      await expect(target.get("locks/l1")).rejects.toBeInstanceOf(NotFoundError);
      await target.delete("locks/l1");
      await target.delete("never/existed");
      expect(await keysOf("locks/")).toEqual([]);
    });

    it("accepts every key shape the repository format uses", async () => {
      const id = "0123456789abcdef".repeat(4);
      const keys = [
        "config",
        `keys/${id}`,
        `data/${id.slice(0, 2)}/${id}`,
        `snapshots/${id.slice(0, 32)}`,
        `verified/${id.slice(0, 32)}`,
        `locks/${id.slice(0, 32)}`,
        "odd/A-b_c.d=e+f@g,h",
        "odd/UPPER.lower.123",
      ];
      for (const k of keys) await target.put(k, new TextEncoder().encode(k));
      for (const k of keys) expect(new TextDecoder().decode(await target.get(k))).toBe(k);
      expect(await keysOf("")).toEqual([...keys].sort());
    });

    it("flush, where a backend has it, keeps every object readable and may run with nothing to do", async () => {
      if (!target.flush) return; // optional: such backends are durable when put resolves
      await target.flush();
      await target.put("f/one", bytes(10));
      await target.put("f/two/deeper", bytes(20));
      await target.flush();
      await target.flush();
      expect(await keysOf("f/")).toEqual(["f/one", "f/two/deeper"]);
      expect((await target.get("f/two/deeper")).length).toBe(20);
    });

    it("getRange, where a backend has it, reads exact ranges, short at the end, and sees overwrites and deletes", async () => {
      if (!target.getRange) return; // optional: the repository reads whole packs from such backends
      const data = bytes(300_000);
      await target.put("data/ra/range", data);
      const eq = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));
      expect(eq(await target.getRange("data/ra/range", 0, 10), data.subarray(0, 10))).toBe(true);
      expect(eq(await target.getRange("data/ra/range", 123_456, 65_536), data.subarray(123_456, 123_456 + 65_536))).toBe(true);
      expect(eq(await target.getRange("data/ra/range", 299_990, 100), data.subarray(299_990))).toBe(true);
      // Concurrent reads of one object (a restore reads many chunks of a pack at once).
      const parts = await Promise.all(Array.from({ length: 12 }, (_, i) => target.getRange!("data/ra/range", i * 25_000, 25_000)));
      expect(eq(Buffer.concat(parts), data)).toBe(true);
      const next = bytes(1000);
      await target.put("data/ra/range", next);
      expect(eq(await target.getRange("data/ra/range", 100, 50), next.subarray(100, 150))).toBe(true);
      await target.delete("data/ra/range");
      await expect(target.getRange("data/ra/range", 0, 10)).rejects.toBeInstanceOf(NotFoundError);
      await expect(target.getRange("data/ra/never", 0, 10)).rejects.toBeInstanceOf(NotFoundError);
    });

    it("handles concurrent puts of different and of the same key", async () => {
      const blobs = Array.from({ length: 24 }, () => bytes(64 * 1024));
      await Promise.all(blobs.map((b, i) => target.put(`c/${i}`, b)));
      for (let i = 0; i < blobs.length; i++) {
        expect(Buffer.from(await target.get(`c/${i}`)).equals(Buffer.from(blobs[i]!))).toBe(true);
      }
      // Same key from many writers: the result is one of the whole objects, never a mix.
      const same = Array.from({ length: 8 }, () => bytes(256 * 1024));
      await Promise.all(same.map((b) => target.put("c/same", b)));
      const got = Buffer.from(await target.get("c/same"));
      expect(same.some((b) => Buffer.from(b).equals(got))).toBe(true);
      expect(await keysOf("c/same")).toEqual(["c/same"]);
    });
  });
}

async function runLimited(tasks: (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < tasks.length) await tasks[next++]!();
    }),
  );
}
