/**
 * One apply at a time per spec folder (cron firing while a long apply still runs). The lock is a
 * file holding the owner's pid and host; a lock whose process is gone is taken over.
 * Repository locks on the targets (src/repo) protect against other hosts.
 */
import { openSync, closeSync, writeSync, readFileSync, unlinkSync, mkdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { LockError } from "../errors.js";

export function acquireApplyLock(specDir: string): () => void {
  const dir = path.join(specDir, ".backplan");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, "apply.lock");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, "wx", 0o600);
      writeSync(fd, JSON.stringify({ pid: process.pid, host: os.hostname(), since: new Date().toISOString() }));
      closeSync(fd);
      return () => {
        try {
          unlinkSync(file);
        } catch {
          /* already gone */
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const holder = readHolder(file);
      if (holder && holder.host === os.hostname() && !alive(holder.pid)) {
        unlinkSync(file); // its process died: take over
        continue;
      }
      throw new LockError(
        `another backplan apply is running for this spec (pid ${holder?.pid ?? "?"} on ${holder?.host ?? "?"}, since ${holder?.since ?? "?"})`,
        { hint: `wait for it to finish; if you are sure it is gone, delete ${file}` },
      );
    }
  }
  throw new LockError(`could not take the apply lock ${file}`, { hint: `delete ${file} if no apply is running` });
}

function readHolder(file: string): { pid: number; host: string; since: string } | undefined {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as { pid: number; host: string; since: string };
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
