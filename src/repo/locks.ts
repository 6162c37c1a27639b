/**
 * Repository locks, as objects on the target (`locks/<id>`), because backups and gc may run on
 * different hosts that share nothing but the target.
 *
 * The scheme (restic's, simplified):
 * - A backup takes a SHARED lock, gc an EXCLUSIVE one. Any number of shared locks coexist; an
 *   exclusive lock excludes everything.
 * - Taking a lock is write-then-check: look for conflicting live locks, write ours, list again;
 *   if a conflicting live lock appeared meanwhile, delete ours and fail. Two racing lockers may
 *   both fail, never both succeed.
 * - A lock is stale when its `expires` has passed (holders refresh it every few minutes) or when
 *   it was taken on this host by a process that no longer exists (a crashed or killed run).
 * - A backup whose lock vanished (someone removed it as stale) refuses to write its manifest:
 *   the chunks it deduplicated against may have been collected. It fails and the next run redoes it.
 * - A process forgets its listing of existing chunks whenever it holds no lock (see
 *   Repository.noteLock), because gc may run in the gap.
 */
import { randomBytes } from "node:crypto";
import os from "node:os";
import { LockError, NotFoundError } from "../errors.js";
import type { Repository } from "./repository.js";
import type { LockInfo } from "./types.js";

export const LOCK_TTL_MS = 30 * 60_000;
const REFRESH_MS = 5 * 60_000;

export interface HeldLock {
  readonly info: LockInfo;
  /** Throws LockError when the lock was removed by someone else since we took it. */
  assertHeld(): Promise<void>;
  release(): Promise<void>;
}

export async function listLocks(repo: Repository): Promise<LockInfo[]> {
  const out: LockInfo[] = [];
  for (const o of await repo.target.list("locks/")) {
    const id = o.key.slice("locks/".length);
    try {
      out.push({ ...(await repo.getJson<LockInfo>(o.key)), id });
    } catch (err) {
      if (err instanceof NotFoundError) continue; // released while we listed
      // Unreadable: no client of this repository wrote it, so it protects nothing.
      out.push({ id, host: "?", pid: 0, time: new Date(0).toISOString(), expires: new Date(0).toISOString(), exclusive: false, purpose: "unreadable lock object" });
    }
  }
  return out;
}

export function isStale(lock: LockInfo, now: Date = new Date()): boolean {
  if (Date.parse(lock.expires) <= now.getTime() || Number.isNaN(Date.parse(lock.expires))) return true;
  if (lock.host === os.hostname() && lock.pid !== process.pid && !processAlive(lock.pid)) return true;
  return false;
}

/** Removes expired and dead-process locks; returns what it removed. */
export async function removeStaleLocks(repo: Repository): Promise<LockInfo[]> {
  const stale = (await listLocks(repo)).filter((l) => isStale(l));
  for (const l of stale) await repo.target.delete(`locks/${l.id}`);
  return stale;
}

/** `backplan unlock --all`: for when the user is sure every holder is dead. */
export async function removeAllLocks(repo: Repository): Promise<LockInfo[]> {
  const all = await listLocks(repo);
  for (const l of all) await repo.target.delete(`locks/${l.id}`);
  return all;
}

export async function acquireLock(repo: Repository, opts: { exclusive: boolean; purpose: string; ttlMs?: number }): Promise<HeldLock> {
  const ttl = opts.ttlMs ?? LOCK_TTL_MS;
  const id = randomBytes(16).toString("hex");
  const key = `locks/${id}`;
  const conflict = async () =>
    (await listLocks(repo)).find((l) => l.id !== id && !isStale(l) && (opts.exclusive || l.exclusive));

  const before = await conflict();
  if (before) throw lockedBy(repo, before);
  const time = new Date().toISOString();
  const stamp = (): LockInfo => ({
    id,
    host: os.hostname(),
    pid: process.pid,
    time,
    expires: new Date(Date.now() + ttl).toISOString(),
    exclusive: opts.exclusive,
    purpose: opts.purpose,
  });
  let info = stamp();
  await repo.putJson(key, info);
  const after = await conflict();
  if (after) {
    await repo.target.delete(key);
    throw lockedBy(repo, after);
  }
  repo.noteLock(1);

  let released = false;
  let refreshing: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    info = stamp();
    refreshing = repo.putJson(key, info).catch(() => undefined);
  }, Math.min(REFRESH_MS, ttl / 3));
  timer.unref();

  return {
    get info() {
      return info;
    },
    async assertHeld() {
      await refreshing;
      const lost = (await repo.target.stat(key)) === undefined || Date.parse(info.expires) <= Date.now();
      if (lost) {
        throw new LockError(`the ${opts.exclusive ? "exclusive" : "shared"} lock on ${repo.target.where} was removed while ${opts.purpose} ran`, {
          hint: "another run treated it as stale (a long pause?); run again — nothing partial was recorded",
        });
      }
      // Renewed only when a refresh is due: rewriting it before every manifest cost each store
      // a sealed write and an fsync, and the lock still has over LOCK_TTL_MS - REFRESH_MS left.
      if (Date.parse(info.expires) - Date.now() < ttl - Math.min(REFRESH_MS, ttl / 3)) {
        info = stamp();
        await repo.putJson(key, info);
      }
    },
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      await refreshing;
      try {
        await repo.target.delete(key);
      } finally {
        repo.noteLock(-1);
      }
    },
  };
}

export async function withLock<T>(repo: Repository, opts: { exclusive: boolean; purpose: string }, fn: (lock: HeldLock) => Promise<T>): Promise<T> {
  const lock = await acquireLock(repo, opts);
  try {
    return await fn(lock);
  } finally {
    await lock.release();
  }
}

function lockedBy(repo: Repository, l: LockInfo): LockError {
  return new LockError(
    `the repository on ${repo.target.where} is locked by ${l.purpose} (${l.exclusive ? "exclusive" : "shared"}) on host ${l.host}, pid ${l.pid}, since ${l.time}`,
    {
      hint: `wait for it to finish (the lock expires at ${l.expires} unless refreshed); if you are sure that process is dead, run \`backplan unlock\``,
    },
  );
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
