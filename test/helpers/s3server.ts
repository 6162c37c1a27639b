/**
 * A real S3-protocol server (s3rver) on loopback, as a child process so tests can kill it
 * mid-operation and restart it on the same port and data folder. Started with
 * --openssl-legacy-provider: without it s3rver's ListObjectsV2 continuation tokens fail (HTTP 500).
 * s3rver checks signatures: its only account is S3RVER / S3RVER.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { tmpDir } from "./tmp.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = path.join(ROOT, "node_modules/s3rver/bin/s3rver.js");

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
  const port = await freePort();
  let child: ChildProcess | undefined;
  const lines: string[] = [];
  const record = (d: Buffer) => {
    lines.push(...d.toString().split("\n").filter(Boolean));
    if (lines.length > 20_000) lines.splice(0, lines.length - 20_000);
  };

  const start = async (): Promise<void> => {
    const args = ["--openssl-legacy-provider", BIN, "-d", dir, "-a", "127.0.0.1", "-p", String(port), "--no-vhost-buckets"];
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
    },
  };
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
