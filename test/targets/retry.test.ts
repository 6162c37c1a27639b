/** withRetry around a flaky in-memory Target that fails on demand and counts calls. */
import { describe, expect, it } from "vitest";
import { NotFoundError, TargetError } from "../../src/errors.js";
import { withRetry } from "../../src/targets/retry.js";
import type { ObjectInfo, Target } from "../../src/targets/target.js";

class FlakyTarget implements Target {
  readonly name = "flaky";
  readonly where = "memory";
  readonly calls: string[] = [];
  readonly objects = new Map<string, Uint8Array>();
  /** Errors to throw, one per call, before behaving. */
  failures: Error[] = [];
  closed = 0;

  private async step(op: string): Promise<void> {
    this.calls.push(op);
    const e = this.failures.shift();
    if (e) throw e;
  }
  async put(key: string, data: Uint8Array): Promise<void> {
    await this.step("put");
    this.objects.set(key, data);
  }
  async get(key: string): Promise<Uint8Array> {
    await this.step("get");
    const v = this.objects.get(key);
    if (!v) throw new NotFoundError(key, this.where);
    return v;
  }
  async stat(key: string): Promise<ObjectInfo | undefined> {
    await this.step("stat");
    const v = this.objects.get(key);
    return v ? { key, size: v.length } : undefined;
  }
  async list(prefix: string): Promise<ObjectInfo[]> {
    await this.step("list");
    return [...this.objects].filter(([k]) => k.startsWith(prefix)).map(([key, v]) => ({ key, size: v.length }));
  }
  async delete(key: string): Promise<void> {
    await this.step("delete");
    this.objects.delete(key);
  }
  async close(): Promise<void> {
    this.closed++;
  }
}

const transient = (m = "503 from the service") => new TargetError(m, { transient: true, hint: "wait" });
const permanent = () => new TargetError("access denied to bucket b", { hint: "fix the key" });

describe("withRetry", () => {
  it("retries transient errors and succeeds, with growing, capped, jittered waits", async () => {
    const inner = new FlakyTarget();
    inner.failures = [transient(), transient(), transient()];
    const sleeps: number[] = [];
    const t = withRetry(inner, { attempts: 5, baseMs: 100, maxMs: 250, sleep: async (ms) => void sleeps.push(ms), random: () => 1 });
    await t.put("k", new Uint8Array([1]));
    expect(inner.calls).toEqual(["put", "put", "put", "put"]);
    expect(sleeps).toEqual([100, 200, 250]); // 100·2^n, capped at maxMs; random()=1 is the top of the range
    expect(inner.objects.get("k")).toEqual(new Uint8Array([1]));
  });

  it("uses full jitter: waits are random below the cap", async () => {
    const inner = new FlakyTarget();
    inner.failures = [transient(), transient()];
    const sleeps: number[] = [];
    const t = withRetry(inner, { attempts: 3, baseMs: 1000, maxMs: 8000, sleep: async (ms) => void sleeps.push(ms), random: () => 0.25 });
    await t.list("");
    expect(sleeps).toEqual([250, 500]);
  });

  it("gives up after the attempts with a clear, still-transient error", async () => {
    const inner = new FlakyTarget();
    inner.failures = Array.from({ length: 10 }, () => transient("connection reset"));
    const t = withRetry(inner, { attempts: 3, baseMs: 1, maxMs: 1, sleep: async () => {} });
    const err = await t.get("snapshots/x").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TargetError);
    expect((err as TargetError).message).toBe("get snapshots/x on memory failed after 3 attempts: connection reset");
    expect((err as TargetError).transient).toBe(true);
    expect((err as TargetError).hint).toBe("wait");
    expect(inner.calls.length).toBe(3);
  });

  it("fails fast on permanent errors, NotFoundError and bugs", async () => {
    const inner = new FlakyTarget();
    const t = withRetry(inner, { attempts: 5, baseMs: 1, maxMs: 1, sleep: async () => {} });
    inner.failures = [permanent()];
    await expect(t.stat("a")).rejects.toMatchObject({ message: "access denied to bucket b" });
    await expect(t.get("absent")).rejects.toBeInstanceOf(NotFoundError);
    inner.failures = [new TypeError("bug")];
    await expect(t.delete("a")).rejects.toBeInstanceOf(TypeError);
    expect(inner.calls).toEqual(["stat", "get", "delete"]);
  });

  it("reports each retry and passes name, where and close through", async () => {
    const inner = new FlakyTarget();
    inner.failures = [transient()];
    const seen: string[] = [];
    const t = withRetry(inner, { attempts: 2, baseMs: 10, maxMs: 10, sleep: async () => {}, onRetry: (i) => seen.push(`${i.op} ${i.key} #${i.attempt}`) });
    await t.delete("locks/l");
    expect(seen).toEqual(["delete locks/l #1"]);
    expect([t.name, t.where]).toEqual(["flaky", "memory"]);
    await t.close();
    expect(inner.closed).toBe(1);
    await expect(t.checkAccess()).resolves.toBeUndefined(); // inner has no check: nothing to do
  });

  it("really waits when no sleep is injected", async () => {
    const inner = new FlakyTarget();
    inner.failures = [transient()];
    const t0 = Date.now();
    await withRetry(inner, { attempts: 2, baseMs: 60, maxMs: 60, random: () => 1 }).stat("x");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(55);
  });
});
