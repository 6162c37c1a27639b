/**
 * `backplan unlock`: removes repository locks left by runs that died. Stale locks (expired, or
 * held by a process of this host that no longer exists) are removed; `--all` removes every lock
 * and is only for when the user is sure no other host is writing.
 */
import type { CommandContext } from "../context.js";
import { openWorkspace } from "../../workspace.js";
import { Repository } from "../../repo/repository.js";
import { isStale, listLocks, removeAllLocks, removeStaleLocks } from "../../repo/locks.js";
import { EXIT } from "../exit.js";
import { UserError } from "../../errors.js";

export async function run(ctx: CommandContext, opts: { target?: string; all?: boolean; yes?: boolean }): Promise<number> {
  const ws = await openWorkspace(ctx.configPath, { mode: "validate", ...(opts.target ? { only: new Set([opts.target]) } : {}) });
  try {
    if (opts.target && !ws.spec.targets[opts.target]) throw new UserError(`unknown target "${opts.target}"`, { hint: `targets: ${Object.keys(ws.spec.targets).join(", ")}` });
    let removed = 0;
    for (const [name, target] of ws.targets) {
      const repo = await Repository.open(target, { passphrase: ws.passphrase, create: false });
      if (!repo) continue;
      const locks = await listLocks(repo);
      for (const l of locks) {
        ctx.stdout(`${name}: lock ${l.id.slice(0, 8)} ${l.exclusive ? "exclusive" : "shared"} by ${l.host} pid ${l.pid} (${l.purpose}) since ${l.time}${isStale(l) ? " — stale" : ""}\n`);
      }
      if (opts.all && locks.length > 0) {
        if (!opts.yes) {
          throw new UserError(`refusing to remove ${locks.length} lock(s) on ${name} that may belong to running backups without --yes`, {
            hint: "make sure no backplan runs against this target on any host, then run `backplan unlock --all --yes`",
          });
        }
        removed += (await removeAllLocks(repo)).length;
      } else {
        removed += (await removeStaleLocks(repo)).length;
      }
    }
    ctx.stdout(`Removed ${removed} lock${removed === 1 ? "" : "s"}.\n`);
    return EXIT.ok;
  } finally {
    await ws.close();
  }
}
