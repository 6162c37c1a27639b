/**
 * A real S3-protocol server (s3rver) on loopback, as a child process so tests can kill it
 * mid-operation and restart it on the same port and data folder. Started with
 * --openssl-legacy-provider: without it s3rver's ListObjectsV2 continuation tokens fail (HTTP 500).
 * s3rver checks access key IDs (its only account is S3RVER / S3RVER) but not SigV4 signatures.
 *
 * s3rver 3.7.1 writes an object in place (createWriteStream on the final file) and answers before
 * the write ends, so concurrent PUTs of one key interleave into a mix: real S3 never does that, and
 * the conformance suite checks it. A preloaded patch makes its PUT write a temp file and rename it,
 * and commit object and metadata together, one writer per key at a time.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { tmpDir } from "./tmp.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = path.join(ROOT, "node_modules/s3rver/bin/s3rver.js");

const ATOMIC_PUT_PATCH = `
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");
const Store = require(${JSON.stringify(path.join(ROOT, "node_modules/s3rver/lib/stores/filesystem.js"))});
const committing = new Map();
Store.prototype.putObject = async function (object) {
  const file = this.getResourcePath(object.bucket, object.key, "object");
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  // Not ending in "._S3rver_object", so listings never show it.
  const tmp = file + ".tmp-" + crypto.randomBytes(6).toString("hex");
  const md5 = crypto.createHash("md5");
  let size = 0;
  const out = fs.createWriteStream(tmp);
  const done = new Promise((resolve, reject) => { out.on("close", resolve); out.on("error", reject); });
  if (Buffer.isBuffer(object.content)) {
    md5.update(object.content);
    size = object.content.length;
    out.end(object.content);
  } else {
    object.content.on("error", (e) => out.destroy(e));
    object.content.on("data", (c) => { md5.update(c); size += c.length; });
    object.content.pipe(out);
  }
  await done;
  const digest = md5.digest("hex");
  // The object and its metadata/md5 files change together, one writer at a time per key: two
  // interleaved metadata writes left a file no later GET could parse (HTTP 500 for good).
  const prev = committing.get(file) ?? Promise.resolve();
  const mine = prev.then(async () => {
    await fs.promises.rename(tmp, file);
    await this.putMetadata(object.bucket, object.key, object.metadata, digest);
  });
  committing.set(file, mine.catch(() => {}));
  await mine;
  return { size, md5: digest };
};
`;

export const S3RVER_KEY = "S3RVER";
export const S3RVER_SECRET = "S3RVER";

export interface S3Server {
  endpoint: string;
  port: number;
  dir: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** SIGKILL: connections in flight are reset, new ones refused. */
  kill(): Promise<void>;
  /** Start again on the same port and folder (buckets and objects survive). */
  restart(): Promise<void>;
  /** s3rver's request log since start (last 20 000 lines), e.g. to count multipart parts. */
  log(): string[];
  /** Kill and remove the data folder. Safe to call twice. */
  stop(): Promise<void>;
}

export async function startS3Server(buckets: string[] = ["test"]): Promise<S3Server> {
  const { dir, cleanup } = await tmpDir("backplan-s3rver-");
  const port = await serverPort();
  const patch = path.join(dir, "..", `${path.basename(dir)}-atomic-put.cjs`);
  await writeFile(patch, ATOMIC_PUT_PATCH);
  let child: ChildProcess | undefined;
  const lines: string[] = [];
  const record = (d: Buffer) => {
    lines.push(...d.toString().split("\n").filter(Boolean));
    if (lines.length > 20_000) lines.splice(0, lines.length - 20_000);
  };

  const start = async (): Promise<void> => {
    const args = ["--openssl-legacy-provider", "--require", patch, BIN, "-d", dir, "-a", "127.0.0.1", "-p", String(port), "--no-vhost-buckets"];
    for (const b of buckets) args.push("--configure-bucket", b);
    const c = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    child = c;
    let log = "";
    await new Promise<void>((resolve, reject) => {
      const onData = (d: Buffer) => {
        log += d.toString();
        if (log.includes("listening on")) resolve();
      };
      c.stdout?.on("data", onData);
      c.stderr?.on("data", (d: Buffer) => (log += d.toString()));
      c.once("exit", (code) => reject(new Error(`s3rver exited (${code}) before listening:\n${log}`)));
      c.once("error", reject);
    });
    // Keep draining the pipes so a chatty server never blocks on a full pipe.
    c.stdout?.on("data", record);
    c.stderr?.on("data", record);
  };

  const kill = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once("exit", () => resolve());
      c.kill("SIGKILL");
    });
  };

  await start();
  let stopped = false;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    dir,
    credentials: { accessKeyId: S3RVER_KEY, secretAccessKey: S3RVER_SECRET },
    kill,
    log: () => [...lines],
    restart: async () => {
      await kill();
      await start();
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await kill();
      await cleanup();
      await rm(patch, { force: true });
    },
  };
}

/**
 * A free port below the kernel's ephemeral range, for a server that is killed and restarted on
 * the same port. Test files run in parallel, each asking the kernel for free ports (listen on 0):
 * an ephemeral port freed by a kill could go to another file's server, and the "dead" server
 * would answer with that one's NoSuchBucket. The likely cause of one failure under load: a dead
 * S3 server behind rclone reported as a permanent error. listen(0) never picks from down here.
 */
async function serverPort(): Promise<number> {
  let low = 32768;
  try {
    low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]) || low;
  } catch {
    // not Linux: the usual default
  }
  for (let i = 0; i < 100; i++) {
    const port = 10_000 + Math.floor(Math.random() * Math.max(1, low - 10_000));
    if (await canListen(port)) return port;
  }
  return freePort();
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
