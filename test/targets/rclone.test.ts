/**
 * RcloneTarget with the real rclone binary: a local-disk remote and an S3 remote pointed at the
 * loopback s3rver, both from an rclone.conf written to a temp folder. A logging `rclone` shim
 * first on PATH counts how many rclone processes were started.
 */
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NotFoundError, TargetError, UserError } from "../../src/errors.js";
import { describeTarget, openTarget } from "../../src/targets/index.js";
import { deniedRcloneError, RcloneTarget, transientRcloneError } from "../../src/targets/rclone.js";
import { startS3Server, type S3Server } from "../helpers/s3server.js";
import { tmpDir } from "../helpers/tmp.js";
import { describeTargetConformance } from "./conformance.js";
import { withRetry } from "../../src/targets/retry.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const REAL_RCLONE = execFileSync("sh", ["-c", "command -v rclone"]).toString().trim();

let server: S3Server;
let dir: string;
let cleanupDir: () => Promise<void>;
let config: string;
let shimLog: string;
let env: NodeJS.ProcessEnv;
const opened: RcloneTarget[] = [];

beforeAll(async () => {
  server = await startS3Server(["rclone-bucket"]);
  ({ dir, cleanup: cleanupDir } = await tmpDir("backplan-rclone-"));
  config = path.join(dir, "rclone.conf");
  await writeFile(
    config,
    `[disk]\ntype = local\n\n[s3]\ntype = s3\nprovider = Other\nendpoint = ${server.endpoint}\n` +
      `access_key_id = ${server.credentials.accessKeyId}\nsecret_access_key = ${server.credentials.secretAccessKey}\n` +
      `region = us-east-1\nforce_path_style = true\n`,
  );
  shimLog = path.join(dir, "rclone-calls.log");
  const shimDir = path.join(dir, "bin");
  execFileSync("mkdir", ["-p", shimDir]);
  await writeFile(path.join(shimDir, "rclone"), `#!/bin/sh\necho "$1" >> "${shimLog}"\nexec "${REAL_RCLONE}" "$@"\n`);
  await chmod(path.join(shimDir, "rclone"), 0o755);
  // A machine-wide AWS_CA_BUNDLE would break rclone's S3 backend; the target must remove it.
  env = { ...process.env, PATH: `${shimDir}${path.delimiter}${process.env.PATH}`, AWS_CA_BUNDLE: "/nonexistent/ca.pem" };
});

afterAll(async () => {
  for (const t of opened) await t.close();
  await server?.stop();
  await cleanupDir?.();
});

async function open(remote: string): Promise<RcloneTarget> {
  const t = await RcloneTarget.open({ name: "rc", remote, config, env });
  opened.push(t);
  return t;
}
const rnd = () => randomBytes(4).toString("hex");

describeTargetConformance("rclone local-disk remote", async () => ({ target: await open(`disk:${dir}/repo-${rnd()}`), cleanup: async () => {} }));
// As openTarget does in the product: a remote backend behind the retry wrapper. s3rver answers an
// occasional 500 while same-key writers race; a real store's 5xx is transient too.
describeTargetConformance("rclone S3 remote on s3rver", async () => ({ target: withRetry(await open(`s3:rclone-bucket/run-${rnd()}`), { baseMs: 20, maxMs: 200 }), cleanup: async () => {} }));

describe("RcloneTarget", () => {
  it("starts one rclone process for many operations", async () => {
    const before = (await readFile(shimLog, "utf8").catch(() => "")).split("\n").filter(Boolean).length;
    const t = await open(`s3:rclone-bucket/one-${rnd()}`);
    await Promise.all(Array.from({ length: 60 }, (_, i) => t.put(`k/${i}`, new Uint8Array([i]))));
    for (let i = 0; i < 60; i += 7) expect(await t.get(`k/${i}`)).toEqual(new Uint8Array([i]));
    expect((await t.list("k/")).length).toBe(60);
    await t.stat("k/1");
    await t.delete("k/1");
    const calls = (await readFile(shimLog, "utf8")).split("\n").filter(Boolean);
    expect(calls.slice(before)).toEqual(["rcd"]);
  });

  it("writes through a temp name and a rename on non-bucket remotes, leaving no temp file", async () => {
    const repo = path.join(dir, `atomic-${rnd()}`);
    const t = await open(`disk:${repo}`);
    await t.put("snapshots/s1", new Uint8Array(randomBytes(100_000)));
    expect(await readdir(path.join(repo, "snapshots"))).toEqual(["s1"]);
  });

  it("stops its daemon on close", async () => {
    const t = await open(`disk:${dir}/close-${rnd()}`);
    await t.list("");
    const rclonePids = childrenOf(t.pid!).filter((p) => comm(p) === "rclone");
    expect(rclonePids.length).toBe(1);
    await t.close();
    expect(alive(t.pid!)).toBe(false);
    expect(alive(rclonePids[0]!)).toBe(false);
    await expect(t.list("")).rejects.toBeInstanceOf(TargetError);
  });

  it("its daemon does not outlive a process killed with SIGKILL", async () => {
    const script = path.join(dir, "holder.mts");
    await writeFile(
      script,
      `import { RcloneTarget } from ${JSON.stringify(path.join(ROOT, "src/targets/rclone.ts"))};\n` +
        `const t = await RcloneTarget.open({ name: "x", remote: ${JSON.stringify(`disk:${dir}/held`)}, config: ${JSON.stringify(config)} });\n` +
        `await t.list("");\nconsole.log(String(t.pid));\nsetInterval(() => {}, 1000);\n`,
    );
    const child = spawn(process.execPath, ["--import", "tsx", script], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
    const watchdogPid = await new Promise<number>((resolve, reject) => {
      child.stdout.once("data", (d: Buffer) => resolve(Number(d.toString().trim())));
      child.once("exit", (c) => reject(new Error(`holder exited ${c}`)));
    });
    const rclonePids = childrenOf(watchdogPid).filter((p) => comm(p) === "rclone");
    expect(rclonePids.length).toBe(1);
    child.kill("SIGKILL");
    await waitFor(() => !alive(rclonePids[0]!), 5000);
    expect(alive(rclonePids[0]!)).toBe(false);
  });

  it("tells rclone's network and service failures from permanent ones", () => {
    const transient = [
      'RequestError: send request failed\ncaused by: Get "http://127.0.0.1:9000/b?list-type=2": dial tcp 127.0.0.1:9000: connect: connection refused',
      "read tcp 127.0.0.1:51234->127.0.0.1:9000: read: connection reset by peer",
      "write tcp 127.0.0.1:51234->127.0.0.1:9000: write: broken pipe",
      "net/http: HTTP/1.x transport connection broken: http: server closed idle connection",
      "read tcp 127.0.0.1:51234->127.0.0.1:9000: use of closed network connection",
      "dial tcp 10.0.0.9:443: connect: network is unreachable",
      "context deadline exceeded",
      "unexpected EOF",
      "SlowDown: Please reduce your request rate.\n\tstatus code: 503",
    ];
    const permanent = ["AccessDenied: Access Denied\n\tstatus code: 403", "NoSuchBucket: The specified bucket does not exist", "directory not found", "object not found"];
    for (const m of transient) expect(transientRcloneError(m), m).toBe(true);
    for (const m of permanent) expect(transientRcloneError(m), m).toBe(false);
  });

  it("takes a 401 or 403 for access denied only where it is a status, not in a port or an object key", () => {
    // The test server's port is random: 14031 made a dead server "access denied" (one CI run).
    const notDenied = [
      'Get "http://127.0.0.1:14031/rclone-bucket?list-type=2": dial tcp 127.0.0.1:14031: connect: connection refused',
      'Put "http://127.0.0.1:9000/b/data/4f/4f401a9c403e": read: connection reset by peer',
      "status code: 503, request id: 17E4031",
      // A word in the user's own remote path is not a status either.
      "cannot list on rclone remote s3:bucket/forbidden-city: read: connection reset by peer",
    ];
    for (const m of notDenied) expect(deniedRcloneError(m), m).toBe(false);
    expect(transientRcloneError(notDenied[0]!)).toBe(true);
    const denied = ["AccessDenied: Access Denied\n\tstatus code: 403, request id: X", "StatusCode: 401", "HTTP/1.1 403 Forbidden", "permission denied"];
    for (const m of denied) expect(deniedRcloneError(m), m).toBe(true);
    expect(transientRcloneError("502 Bad Gateway")).toBe(true);
    expect(transientRcloneError('Get "http://127.0.0.1:9000/b/data/50/50321b": object not found')).toBe(false);
  });

  it("a dead S3 server behind the remote is a transient error; it works again once back", async () => {
    const t = await open(`s3:rclone-bucket/down-${rnd()}`);
    await t.put("config", new Uint8Array([1]));
    await server.kill();
    try {
      const err = await t.list("").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TargetError);
      // The message too, so that a failure says which of rclone's wordings was not recognised.
      expect((err as TargetError).transient, (err as TargetError).message).toBe(true);
      expect((err as TargetError).message).toMatch(/^cannot list \(all\)|^cannot list  ?on rclone remote s3:rclone-bucket\/down-/);
    } finally {
      await server.restart();
    }
    expect(await t.stat("config")).toEqual({ key: "config", size: 1 });
  }, 60_000);

  it("a daemon that died is reported as such", async () => {
    const t = await open(`disk:${dir}/dies-${rnd()}`);
    for (const p of childrenOf(t.pid!).filter((c) => comm(c) === "rclone")) process.kill(p, "SIGKILL");
    await waitFor(() => !alive(t.pid!), 5000);
    const err = await t.list("").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TargetError);
    expect((err as TargetError).message).toMatch(/rclone daemon for rclone remote disk:.* exited unexpectedly/);
    expect(err).toMatchObject({ transient: false });
  });

  it("measures put/get/list throughput", async () => {
    for (const remote of [`disk:${dir}/perf-${rnd()}`, `s3:rclone-bucket/perf-${rnd()}`]) {
      const t = await open(remote);
      const n = 200;
      const blob = new Uint8Array(randomBytes(256 * 1024));
      let t0 = performance.now();
      await runLimited(Array.from({ length: n }, (_, i) => () => t.put(`perf/${i}`, blob)), 16);
      const putS = (performance.now() - t0) / 1000;
      t0 = performance.now();
      await runLimited(Array.from({ length: n }, (_, i) => async () => void (await t.get(`perf/${i}`))), 16);
      const getS = (performance.now() - t0) / 1000;
      t0 = performance.now();
      expect((await t.list("perf/")).length).toBe(n);
      const listMs = performance.now() - t0;
      const mib = (n * blob.length) / 2 ** 20;
      console.log(`rclone ${remote.split(":")[0]}: put ${(mib / putS).toFixed(1)} MiB/s (${(n / putS).toFixed(0)} obj/s), get ${(mib / getS).toFixed(1)} MiB/s, list ${n} keys ${listMs.toFixed(0)} ms`);
    }
  }, 60_000);

  it("rclone missing from PATH is a clear UserError with the install hint", async () => {
    const err = await RcloneTarget.open({ name: "b2", remote: "b2:x", env: { ...env, PATH: path.join(dir, "empty-bin") } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toMatch(/rclone is not installed.*target "b2"/);
    expect((err as UserError).hint).toMatch(/apt-get install rclone.*brew install rclone/);
  });

  it("an unknown remote is a clear error naming it and `rclone config`", async () => {
    const err = await RcloneTarget.open({ name: "b2", remote: "nosuch:bucket/x", config, env }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).message).toBe(`rclone remote "nosuch" is not configured in ${config} (target "b2")`);
    expect((err as UserError).hint).toMatch(/rclone config/);
  });

  it("opens through openTarget with a config relative to the spec, wrapped in retry", async () => {
    const t = await openTarget({ name: "b2", type: "rclone", remote: `disk:${dir}/via-open`, config: "rclone.conf" }, { specDir: dir, resolveSecret: () => "", env });
    try {
      await t.put("config", new Uint8Array([7]));
      expect(await t.get("config")).toEqual(new Uint8Array([7]));
      await expect(t.get("absent")).rejects.toBeInstanceOf(NotFoundError);
    } finally {
      await t.close();
    }
    expect(describeTarget({ name: "b2", type: "rclone", remote: ":s3,access_key_id=AKIA,secret_access_key=SECRET:bucket/p" })).toBe("rclone remote :s3:bucket/p");
  });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function comm(pid: number): string {
  try {
    return execFileSync("cat", [`/proc/${pid}/comm`]).toString().trim();
  } catch {
    return "";
  }
}

/** Descendants of pid (any depth), from /proc. */
function childrenOf(pid: number): number[] {
  const out = execFileSync("ps", ["-e", "-o", "pid=,ppid="]).toString();
  const pairs = out.trim().split("\n").map((l) => l.trim().split(/\s+/).map(Number) as [number, number]);
  const found: number[] = [];
  const walk = (p: number) => {
    for (const [c, pp] of pairs) {
      if (pp !== p) continue;
      found.push(c);
      walk(c);
    }
  };
  walk(pid);
  return found;
}

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
}

async function runLimited(tasks: (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < tasks.length) await tasks[next++]!();
  }));
}
