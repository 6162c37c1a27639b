/**
 * S3Target against a real S3-protocol server (s3rver) on loopback. s3rver checks signatures and
 * access keys (its one account is S3RVER/S3RVER), so wrong credentials are tested for real.
 */
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NotFoundError, TargetError } from "../../src/errors.js";
import { describeTarget, openTarget } from "../../src/targets/index.js";
import { withRetry } from "../../src/targets/retry.js";
import { S3Target, type S3Options } from "../../src/targets/s3.js";
import { describeTargetConformance } from "./conformance.js";
import { freePort, startS3Server, type S3Server } from "../helpers/s3server.js";

let server: S3Server;
const opened: S3Target[] = [];

beforeAll(async () => {
  server = await startS3Server(["test", "other"]);
});
afterAll(async () => {
  for (const t of opened) await t.close();
  await server?.stop();
});

async function s3(extra: Partial<S3Options> = {}): Promise<S3Target> {
  const t = await S3Target.open({
    name: "s3",
    bucket: "test",
    prefix: `run-${randomBytes(4).toString("hex")}/`,
    endpoint: server.endpoint,
    forcePathStyle: true,
    region: "us-east-1",
    credentials: server.credentials,
    ...extra,
  });
  opened.push(t);
  return t;
}

describeTargetConformance("s3 (s3rver on loopback, with a prefix)", async () => ({ target: await s3(), cleanup: async () => {} }));

describeTargetConformance("s3 through openTarget (retry wrapper, secrets by reference)", async () => {
  process.env.BACKPLAN_TEST_S3_KEY = server.credentials.accessKeyId;
  process.env.BACKPLAN_TEST_S3_SECRET = server.credentials.secretAccessKey;
  const target = await openTarget(
    {
      name: "s3",
      type: "s3",
      bucket: "other",
      prefix: `p-${randomBytes(4).toString("hex")}`,
      endpoint: server.endpoint,
      forcePathStyle: true,
      accessKeyId: { ref: "${env:BACKPLAN_TEST_S3_KEY}", kind: "env", name: "BACKPLAN_TEST_S3_KEY" },
      secretAccessKey: { ref: "${env:BACKPLAN_TEST_S3_SECRET}", kind: "env", name: "BACKPLAN_TEST_S3_SECRET" },
    },
    { specDir: "/", resolveSecret: (r) => process.env[r.name] ?? "" },
  );
  return { target, cleanup: async () => {} };
});

describe("S3Target", () => {
  it("uploads a 40 MiB object in parts and reads it back", async () => {
    const t = await s3();
    const big = new Uint8Array(randomBytes(40 * 1024 * 1024));
    await t.put("data/big", big);
    expect(await t.stat("data/big")).toEqual({ key: "data/big", size: big.length });
    expect(Buffer.from(await t.get("data/big")).equals(Buffer.from(big))).toBe(true);
    // 40 MiB in 16 MiB parts = 3 part uploads in s3rver's request log.
    const parts = server.log().filter((l) => l.includes(`${t.prefix}data/big`) && /partNumber=\d/.test(l));
    expect(parts.length).toBe(3);
  }, 60_000);

  it("keeps objects under its prefix and lists keys relative to it", async () => {
    const a = await s3({ prefix: "tenant-a" });
    const b = await s3({ prefix: "tenant-b/" });
    await a.put("config", new Uint8Array([1]));
    expect(await b.list("")).toEqual([]);
    expect(await a.list("")).toEqual([{ key: "config", size: 1 }]);
    expect(a.where).toBe(`S3 bucket s3://test/tenant-a/ (${server.endpoint})`);
  });

  it("measures put/get/list throughput on loopback", async () => {
    const t = await s3();
    const n = 200;
    const blob = new Uint8Array(randomBytes(256 * 1024));
    let t0 = performance.now();
    await Promise.all(Array.from({ length: n }, (_, i) => t.put(`perf/${i}`, blob)));
    const putS = (performance.now() - t0) / 1000;
    t0 = performance.now();
    await Promise.all(Array.from({ length: n }, (_, i) => t.get(`perf/${i}`)));
    const getS = (performance.now() - t0) / 1000;
    t0 = performance.now();
    expect((await t.list("perf/")).length).toBe(n);
    const listMs = performance.now() - t0;
    const mib = (n * blob.length) / 2 ** 20;
    const one = new Uint8Array(randomBytes(32 * 1024 * 1024));
    t0 = performance.now();
    await t.put("perf/one", one);
    const put32 = (performance.now() - t0) / 1000;
    t0 = performance.now();
    await t.get("perf/one");
    const get32 = (performance.now() - t0) / 1000;
    console.log(`s3rver loopback: one 32 MiB object put ${put32.toFixed(2)} s (multipart), get ${get32.toFixed(2)} s`);
    console.log(`s3rver loopback: put ${(mib / putS).toFixed(1)} MiB/s (${(n / putS).toFixed(0)} obj/s), get ${(mib / getS).toFixed(1)} MiB/s, list ${n} keys ${listMs.toFixed(0)} ms`);
  }, 60_000);

  it("rejects an unknown access key fast, naming the bucket and the fix, without retrying", async () => {
    const t = await s3({ credentials: { accessKeyId: "NOT-A-KEY", secretAccessKey: "whatever-secret-value" } });
    let calls = 0;
    const r = withRetry(t, { attempts: 5, baseMs: 1000, maxMs: 1000, sleep: async () => void calls++ });
    const t0 = Date.now();
    const err = await r.put("config", new Uint8Array([1])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TargetError);
    expect((err as TargetError).transient).toBe(false);
    expect((err as TargetError).message).toContain("s3://test/");
    expect((err as TargetError).message).toMatch(/access key ID is not known/);
    expect((err as TargetError).hint).toMatch(/accessKeyId/);
    expect((err as TargetError).message + (err as TargetError).hint).not.toContain("whatever-secret-value");
    expect(calls).toBe(0);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  // s3rver does not verify SigV4 signatures (it only checks the access key ID), so the other
  // permanent and transient answers come from a loopback stub that answers like S3 does.
  it.each([
    [403, "SignatureDoesNotMatch", false, /secret access key does not match/, /secretAccessKey/],
    [403, "AccessDenied", false, /access denied to bucket "test"/, /permission to list, read, write and delete/],
    [503, "SlowDown", true, /SlowDown/, /next run/],
    [500, "InternalError", true, /InternalError/, /next run/],
    [301, "PermanentRedirect", false, /another region/, /region:/],
  ])("maps HTTP %i %s (transient: %s)", async (status, code, transient, msg, hint) => {
    const stub = createServer((req, res) => {
      req.resume();
      res.writeHead(status, { "content-type": "application/xml" });
      res.end(req.method === "HEAD" ? undefined : `<?xml version="1.0"?><Error><Code>${code}</Code><Message>m</Message></Error>`);
    });
    await new Promise<void>((r) => stub.listen(0, "127.0.0.1", () => r()));
    try {
      const port = (stub.address() as { port: number }).port;
      const t = await s3({ endpoint: `http://127.0.0.1:${port}` });
      const err = await t.list("").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TargetError);
      expect(err).toMatchObject({ transient });
      expect((err as TargetError).message).toMatch(msg);
      expect((err as TargetError).message).toContain("s3://test/");
      expect((err as TargetError).hint).toMatch(hint);
    } finally {
      stub.closeAllConnections();
      await new Promise((r) => stub.close(r));
    }
  });

  it("a server that accepts but never answers times out as a transient error", async () => {
    const stub = createServer(() => undefined); // holds every request open
    await new Promise<void>((r) => stub.listen(0, "127.0.0.1", () => r()));
    try {
      const port = (stub.address() as { port: number }).port;
      const t = await s3({ endpoint: `http://127.0.0.1:${port}`, idleTimeoutMs: 300 });
      const t0 = Date.now();
      const err = await t.stat("config").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TargetError);
      expect(err).toMatchObject({ transient: true });
      expect((err as TargetError).message).toMatch(/no answer from http:\/\/127\.0\.0\.1:\d+ in time/);
      expect(Date.now() - t0).toBeLessThan(5000);
    } finally {
      stub.closeAllConnections();
      await new Promise((r) => stub.close(r));
    }
  });

  it("names a missing bucket and how to fix it, from list and from checkAccess", async () => {
    const t = await s3({ bucket: "no-such-bucket" });
    const err = await t.list("").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TargetError);
    expect((err as TargetError).message).toContain('bucket "no-such-bucket" does not exist');
    expect((err as TargetError).hint).toMatch(/create bucket "no-such-bucket"/);
    await expect(t.checkAccess()).rejects.toMatchObject({ transient: false, message: expect.stringContaining("no-such-bucket") });
    await expect((await s3()).checkAccess()).resolves.toBeUndefined();
  });

  it("get of a missing key is NotFoundError, not a TargetError", async () => {
    const t = await s3();
    await expect(t.get("nope")).rejects.toBeInstanceOf(NotFoundError);
  });

  it("an unreachable endpoint is transient and fails clearly after the attempts", async () => {
    const port = await freePort(); // nothing listens there
    const t = await s3({ endpoint: `http://127.0.0.1:${port}` });
    const sleeps: number[] = [];
    const r = withRetry(t, { attempts: 3, baseMs: 100, maxMs: 1000, sleep: async (ms) => void sleeps.push(ms) });
    const err = await r.stat("config").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TargetError);
    expect((err as TargetError).transient).toBe(true);
    expect((err as TargetError).message).toMatch(/failed after 3 attempts.*cannot reach the service \(ECONNREFUSED\)/);
    expect(sleeps.length).toBe(2);
  });

  it("retries through a server killed mid-upload and completes once it is back", async () => {
    const t = await s3();
    const big = new Uint8Array(randomBytes(40 * 1024 * 1024));
    const errors: string[] = [];
    const r = withRetry(t, {
      attempts: 4,
      baseMs: 50,
      maxMs: 200,
      onRetry: (i) => errors.push(i.error.message),
      sleep: async () => {
        if (errors.length === 1) await server.restart();
      },
    });
    const put = r.put("data/killed", big);
    setTimeout(() => void server.kill(), 40);
    await put;
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(errors[0]).toMatch(/cannot (put|reach)|ECONNRESET|socket|HTTP 5/);
    expect(Buffer.from(await t.get("data/killed")).equals(Buffer.from(big))).toBe(true);
  }, 60_000);

  it("a server that stays down fails clearly after the attempts", async () => {
    const t = await s3();
    await t.put("config", new Uint8Array([1]));
    await server.kill();
    try {
      const r = withRetry(t, { attempts: 3, baseMs: 10, maxMs: 20 });
      const err = await r.get("config").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TargetError);
      expect((err as TargetError).message).toMatch(/^get config on S3 bucket s3:\/\/test\/.* failed after 3 attempts/);
    } finally {
      await server.restart();
    }
    expect(await t.stat("config")).toEqual({ key: "config", size: 1 });
  });

  it("describeTarget never shows secrets", () => {
    const where = describeTarget({
      name: "b2",
      type: "s3",
      bucket: "owui",
      prefix: "x",
      endpoint: "https://user:pass@s3.eu-central-003.backblazeb2.com",
      forcePathStyle: false,
    });
    expect(where).toBe("S3 bucket s3://owui/x/ (https://s3.eu-central-003.backblazeb2.com)");
  });
});
