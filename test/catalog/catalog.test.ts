import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Catalog } from "../../src/catalog/catalog.js";
import type { StatKey } from "../../src/repo/types.js";
import { tmpDir } from "../helpers/tmp.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tmpDir()));
afterEach(() => cleanup());

const key = (i: number): StatKey => ({ instance: "openwebui", path: `uploads/f${i}`, size: 100 + i, mtimeMs: 1.7e12 + i + 0.25, ino: 10 + i, ctimeMs: 1.7e12 + i });
const chunks = (i: number) => [{ digest: i.toString(16).padStart(64, "0"), size: 100 + i }];

describe("catalog stat cache", () => {
  it("answers from buffered sets at once, and keeps them across a close and reopen", async () => {
    const cat = await Catalog.open(dir);
    for (let i = 0; i < 3; i++) cat.set(key(i), chunks(i));
    expect(cat.get(key(1))).toEqual(chunks(1));
    expect(cat.get({ ...key(1), ctimeMs: key(1).ctimeMs + 1 })).toBeUndefined();
    cat.close();
    const again = await Catalog.open(dir);
    for (let i = 0; i < 3; i++) expect(again.get(key(i))).toEqual(chunks(i));
    again.close();
  });

  it("writes a flushed batch, and a later set replaces an earlier one", async () => {
    const cat = await Catalog.open(dir);
    for (let i = 0; i < 2500; i++) cat.set(key(i), chunks(i)); // more than one automatic batch
    cat.flushStatCache();
    cat.set(key(7), chunks(70));
    cat.flushStatCache();
    cat.close();
    const again = await Catalog.open(dir);
    expect(again.get(key(2499))).toEqual(chunks(2499));
    expect(again.get(key(7))).toEqual(chunks(70));
    again.close();
  });

  it("answers the same from a prefetch, sees a set made after it, and misses the paths it found nothing for", async () => {
    const cat = await Catalog.open(dir);
    for (let i = 0; i < 50; i++) cat.set(key(i), chunks(i));
    cat.set({ ...key(0), instance: "other" }, chunks(99)); // another instance, inside the same path range
    cat.flushStatCache();
    const paths = [...Array.from({ length: 50 }, (_, i) => key(i).path), "uploads/never-seen"];
    cat.prefetch("openwebui", paths);
    for (let i = 0; i < 50; i++) expect(cat.get(key(i))).toEqual(chunks(i));
    expect(cat.get({ ...key(3), ino: 999 })).toBeUndefined(); // a stamp that differs is still a miss
    expect(cat.get({ ...key(0), path: "uploads/never-seen" })).toBeUndefined();
    // A set after the prefetch wins, also once flushed.
    cat.set(key(5), chunks(55));
    cat.flushStatCache();
    expect(cat.get(key(5))).toEqual(chunks(55));
    cat.forget();
    expect(cat.get(key(5))).toEqual(chunks(55));
    expect(cat.get({ ...key(0), instance: "other" })).toEqual(chunks(99));
    cat.close();
  });
});
