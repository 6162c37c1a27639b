/**
 * Retry as a wrapper around any Target, so every remote backend shares one policy: transient
 * TargetErrors (5xx, throttling, resets, timeouts) are retried with exponential backoff and full
 * jitter; everything else (permanent TargetErrors, NotFoundError, bugs) passes through at once.
 * The SDKs' own retries are turned off or kept low so delays do not multiply.
 */
import { TargetError, errorMessage } from "../errors.js";
import type { ObjectInfo, Target } from "./target.js";

export interface RetryOptions {
  /** Total tries per operation, the first included. */
  attempts: number;
  /** Backoff before the n-th retry is random in [0, min(maxMs, baseMs * 2^(n-1))]. */
  baseMs: number;
  maxMs: number;
  /** Injected by tests to avoid real waiting. */
  sleep?: (ms: number) => Promise<void>;
  /** Called before each wait, e.g. to print "retrying put data/ab/… in 400 ms". */
  onRetry?: (info: { op: string; key: string; attempt: number; delayMs: number; error: TargetError }) => void;
  random?: () => number;
}

export const DEFAULT_RETRY: RetryOptions = { attempts: 5, baseMs: 200, maxMs: 10_000 };

/** Targets that can check, cheaply, that they are reachable and usable (e.g. S3 HeadBucket). */
export interface AccessCheck {
  checkAccess(): Promise<void>;
}

export function hasAccessCheck(t: Target): t is Target & AccessCheck {
  return typeof (t as Partial<AccessCheck>).checkAccess === "function";
}

export function withRetry(target: Target, opts: Partial<RetryOptions> = {}): Target & AccessCheck {
  return new RetryTarget(target, { ...DEFAULT_RETRY, ...opts });
}

export function isTransient(err: unknown): err is TargetError {
  return err instanceof TargetError && err.transient;
}

class RetryTarget implements Target, AccessCheck {
  readonly name: string;
  readonly where: string;
  /** Only when the backend has it (the repository falls back to whole objects otherwise). */
  readonly getRange?: (key: string, offset: number, length: number) => Promise<Uint8Array>;
  /** Passed through: the reader on another thread retries nothing, as local reads need not. */
  readonly localFile?: Target["localFile"];
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    readonly inner: Target,
    private readonly opts: RetryOptions,
  ) {
    this.name = inner.name;
    this.where = inner.where;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    if (!(opts.attempts >= 1)) throw new TypeError("withRetry: attempts must be at least 1");
    if (inner.getRange) this.getRange = (key, offset, length) => this.run("get", key, () => inner.getRange!(key, offset, length));
    if (inner.localFile) this.localFile = (key) => inner.localFile!(key);
  }

  put(key: string, data: Uint8Array): Promise<void> {
    return this.run("put", key, () => this.inner.put(key, data));
  }
  get(key: string): Promise<Uint8Array> {
    return this.run("get", key, () => this.inner.get(key));
  }
  stat(key: string): Promise<ObjectInfo | undefined> {
    return this.run("stat", key, () => this.inner.stat(key));
  }
  list(prefix: string): Promise<ObjectInfo[]> {
    return this.run("list", prefix, () => this.inner.list(prefix));
  }
  delete(key: string): Promise<void> {
    return this.run("delete", key, () => this.inner.delete(key));
  }
  /** Passed through, so wrapping never silently drops a backend's deferred durability. */
  flush(): Promise<void> {
    const inner = this.inner;
    return inner.flush ? this.run("flush", "", () => inner.flush!()) : Promise.resolve();
  }
  checkAccess(): Promise<void> {
    const inner = this.inner;
    return hasAccessCheck(inner) ? this.run("check", "", () => inner.checkAccess()) : Promise.resolve();
  }
  close(): Promise<void> {
    return this.inner.close();
  }

  private async run<T>(op: string, key: string, fn: () => Promise<T>): Promise<T> {
    const random = this.opts.random ?? Math.random;
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (!isTransient(err)) throw err;
        if (attempt >= this.opts.attempts) {
          // Still transient: the caller may try again on the next run, and the message says so.
          throw new TargetError(
            `${op} ${key || "(all)"} on ${this.where} failed after ${attempt} attempt${attempt === 1 ? "" : "s"}: ${errorMessage(err)}`,
            { hint: err.hint ?? "check the network and the service's status; the next run will try again", cause: err, transient: true },
          );
        }
        const cap = Math.min(this.opts.maxMs, this.opts.baseMs * 2 ** (attempt - 1));
        const delayMs = Math.round(random() * cap);
        this.opts.onRetry?.({ op, key, attempt, delayMs, error: err });
        await this.sleep(delayMs);
      }
    }
  }
}
