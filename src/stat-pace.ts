/**
 * Whether stats (and small reads) run synchronously. From the dentry cache a stat takes ~2 µs,
 * while through the thread pool the hand-off and callback cost ~20 µs of the main thread (2
 * cores, 4 pool threads): a no-change walk of 2 500 uploads took 86-105 ms with the pool, 19-32
 * ms without. A cold disk or a network file system is another matter: once the operations of a
 * batch average SLOW_MS, the rest go through the pool, several in flight. One pace per walk or
 * listing, and one per local target for its reads.
 */
import { lstatSync, statSync, type Stats } from "node:fs";

export class StatPace {
  static readonly BATCH = 64;
  static readonly SLOW_MS = 0.1;
  private count = 0;
  private spentMs = 0;

  constructor(public sync: boolean = true) {}

  lstat(absPath: string): Stats {
    return this.run(() => lstatSync(absPath));
  }

  stat(absPath: string): Stats {
    return this.run(() => statSync(absPath));
  }

  /** `op`, synchronous, timed toward the pace. */
  run<T>(op: () => T): T {
    const t0 = performance.now();
    try {
      return op();
    } finally {
      this.spentMs += performance.now() - t0;
      if (++this.count === StatPace.BATCH) {
        if (this.spentMs / StatPace.BATCH > StatPace.SLOW_MS) this.sync = false;
        this.count = 0;
        this.spentMs = 0;
      }
    }
  }
}
