/** Starts test/helpers/writer.ts as a real separate process and drives it. */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..", "..");

export interface RunningWriter {
  pid: number;
  alive(): boolean;
  /** SIGTERM; resolves with the last number the writer committed. */
  stop(): Promise<number>;
}

export interface WriterOptions {
  intervalMs?: number;
  padBytes?: number;
  /** "wal" (the default) or a rollback-journal mode such as "delete". */
  journalMode?: string;
  /** wal_checkpoint(TRUNCATE) after every this many commits (0: never). */
  checkpointEvery?: number;
}

export async function startWriter(db: string, opts: WriterOptions = {}): Promise<RunningWriter> {
  const args = [String(opts.intervalMs ?? 2), String(opts.padBytes ?? 256), opts.journalMode ?? "wal", String(opts.checkpointEvery ?? 0)];
  const child = spawn(
    process.execPath,
    ["--import", "tsx", path.join(here, "writer.ts"), db, ...args],
    { cwd: root, stdio: ["ignore", "pipe", "inherit"] },
  );
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const first = await Promise.race([lines.next(), exited.then(() => undefined)]);
  if (first?.value !== "ready") throw new Error(`writer for ${db} did not start`);
  return {
    pid: child.pid!,
    alive: () => child.exitCode === null && child.signalCode === null,
    async stop() {
      child.kill("SIGTERM");
      const line = await lines.next();
      await exited;
      const m = /^last (\d+)$/.exec(String(line.value ?? ""));
      if (!m) throw new Error(`writer for ${db} did not report its last row`);
      return Number(m[1]);
    },
  };
}
