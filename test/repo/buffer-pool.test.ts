import { describe, expect, it } from "vitest";
import { BufferPool } from "../../src/repo/buffer-pool.js";

describe("BufferPool", () => {
  it("lends views of the exact length and reuses a buffer of the same class", () => {
    const pool = new BufferPool();
    const a = pool.take(1_300_000);
    expect(a.length).toBe(1_300_000);
    expect(a.buffer.byteLength).toBe(2 * 1024 * 1024);
    const first = a.buffer;
    pool.give(a);
    const b = pool.take(1_900_000); // same class
    expect(b.buffer).toBe(first);
    const c = pool.take(1_900_000); // the class is lent out: a new one
    expect(c.buffer).not.toBe(first);
    expect(pool.take(10).buffer.byteLength).toBe(64 * 1024);
  });

  it("refuses a buffer given twice or never lent (a second owner would overwrite a chunk in flight)", () => {
    const pool = new BufferPool();
    const a = pool.take(100_000);
    pool.give(a);
    expect(() => pool.give(a)).toThrow(/given twice/);
    expect(() => pool.give(Buffer.alloc(100_000))).toThrow(/not a buffer this pool lent/);
  });

  it("keeps at most 12 MiB of free buffers", () => {
    const pool = new BufferPool();
    const lent = Array.from({ length: 10 }, () => pool.take(4 * 1024 * 1024));
    for (const b of lent) pool.give(b);
    const again = Array.from({ length: 10 }, () => pool.take(4 * 1024 * 1024).buffer);
    const reused = again.filter((ab) => lent.some((b) => b.buffer === ab)).length;
    expect(reused).toBe(3);
  });

  it("adopts a lent buffer back from a thread it was transferred to, and lends it again", () => {
    const pool = new BufferPool();
    const lent = pool.take(100_000);
    const ab = lent.buffer as ArrayBuffer;
    const back = structuredClone(ab, { transfer: [ab] });
    expect(lent.buffer.byteLength).toBe(0); // detached, as after a postMessage transfer
    pool.adopt(back);
    expect(pool.take(120_000).buffer).toBe(back);
    expect(() => pool.adopt(new ArrayBuffer(100_000))).toThrow(/sizes/);
  });
});
