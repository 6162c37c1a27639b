/**
 * Turns file-system errors met while capturing into messages a user can act on. Exported so the
 * store step (which reads the live files later) can report an unreadable file the same way.
 */
import { UserError } from "../errors.js";

export function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** A UserError for permission problems and missing paths; other errors are returned unchanged. */
export function captureFsError(err: unknown, absPath: string, what: "file" | "folder" | "path" = "path"): unknown {
  const code = errnoCode(err);
  if (code === "EACCES" || code === "EPERM") {
    return new UserError(`cannot read the ${what} ${absPath}: permission denied`, {
      hint:
        "run backplan as a user that can read the data directory (often the container's user or root), " +
        "fix the permissions, or leave the path out with an `exclude:` glob in backup.yaml",
      cause: err,
    });
  }
  if (code === "ENOENT" || code === "ENOTDIR") {
    return new UserError(`the ${what} ${absPath} does not exist`, {
      hint: "check the instance `path:` (or `volume:`) and the component `path:` in backup.yaml",
      cause: err,
    });
  }
  if (code === "ELOOP") {
    return new UserError(`the ${what} ${absPath} is a symlink loop`, { hint: "fix or remove the symlink", cause: err });
  }
  return err;
}

/** The user and groups we run as, read once: process.getuid() and friends are a system call each. */
let ids: { uid: number | undefined; gid: number | undefined; groups: number[] } | undefined;
const ourIds = () => (ids ??= { uid: process.getuid?.(), gid: process.getgid?.(), groups: process.getgroups?.() ?? [] });

/**
 * Whether the mode bits say the current user may read a path. A cheap pre-check that costs no
 * system call; root bypasses permission bits, and ACLs are confirmed by the caller with access().
 */
export function modeAllowsRead(st: { mode: number; uid: number; gid: number }, dir: boolean): boolean {
  const { uid, gid, groups } = ourIds();
  if (uid === undefined || uid === 0) return true;
  const need = dir ? 0o5 : 0o4; // folders must be listable and enterable
  if (st.uid === uid) return ((st.mode >> 6) & need) === need;
  if (st.gid === gid || groups.includes(st.gid)) return ((st.mode >> 3) & need) === need;
  return (st.mode & need) === need;
}
