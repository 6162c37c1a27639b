/**
 * A folder as an object store (a NAS mount, a USB disk). Each key is a file under the root.
 * put writes a temp file beside the final one, fsyncs it and renames it over the key, so a crash
 * leaves either the old object, the new one, or a stray dot-file that list() never reports.
 * The folder is NOT fsynced per object (that doubled the cost of every small object, and the
 * journal commits it forces made a first backup of many files 3-4x slower): folders touched are
 * remembered and fsynced together by flush(), which the repository calls before a manifest.
 * Reading never creates anything: `plan` may list a folder that does not exist yet.
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, stat, unlink, type FileHandle } from "node:fs/promises";
import { closeSync, fstatSync, openSync, readSync, type Dirent } from "node:fs";
import path from "node:path";
import { NotFoundError, TargetError } from "../errors.js";
import type { ObjectInfo, Target } from "./target.js";
import { StatPace } from "../stat-pace.js";

const HANDLES = 16;
/** Objects up to this size may be read synchronously (readPace): index and snapshot objects, keys, locks; not packs. */
const SYNC_READ_MAX = 1024 * 1024;
const IDLE_MS = 1000;
/** Key segments the repository format uses; a leading dot is reserved for our temp files. */
const SEGMENT = /^[A-Za-z0-9_=+@,-][A-Za-z0-9._=+@,-]*$/;

export class LocalTarget implements Target {
  readonly where: string;
  private readonly madeDirs = new Set<string>();
  /** Folders whose entries changed since the last flush (renames into them, new subfolders). */
  private readonly dirty = new Set<string>();
  /** Open read handles for getRange (a restore reads many chunks of the same packs). */
  private readonly handles = new Map<string, ReadHandle>();
  private idleTimer: NodeJS.Timeout | undefined;
  /**
   * Small objects are read synchronously while that is fast: readFile is four trips through the
   * thread pool (open, fstat, read, close). An apply reads ~30 index objects right after the key
   * is unlocked, on the no-change path: 15-27 ms that way, measured with the key in hand.
   */
  private readonly readPace = new StatPace();

  constructor(
    readonly name: string,
    readonly root: string,
  ) {
    this.root = path.resolve(root);
    this.where = `local folder ${this.root}`;
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    const file = this.fileOf(key);
    const dir = path.dirname(file);
    await this.ensureDir(dir, key);
    const tmp = path.join(dir, `.${path.basename(file)}.tmp-${randomBytes(6).toString("hex")}`);
    try {
      const fh = await open(tmp, "wx", 0o600);
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, file);
      this.dropHandle(key); // a handle open on the old file would go on reading it
      this.dirty.add(dir);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw this.wrap(err, `write ${key}`, file);
    }
  }

  async get(key: string): Promise<Uint8Array> {
    const file = this.fileOf(key);
    try {
      if (this.readPace.sync) {
        const small = this.readPace.run(() => readSmallSync(file));
        if (small) return small;
      }
      return await readFile(file);
    } catch (err) {
      throw this.readFailure(err, key, file);
    }
  }

  localFile(key: string): { path: string; failed(err: NodeJS.ErrnoException): Error } {
    const file = this.fileOf(key);
    return { path: file, failed: (err) => this.readFailure(err, key, file) };
  }

  async getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    const file = this.fileOf(key);
    let h = this.handles.get(key);
    if (!h) {
      h = { fh: open(file, "r"), users: 0, detached: false };
      this.handles.set(key, h);
    }
    h.users++;
    try {
      const fh = await h.fh;
      const buf = Buffer.allocUnsafe(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      return got === length ? buf : buf.subarray(0, got);
    } catch (err) {
      if (this.handles.get(key) === h) this.handles.delete(key);
      throw this.readFailure(err, key, file);
    } finally {
      h.users--;
      if (h.detached && h.users === 0) closeHandle(h);
      this.trimHandles();
      this.closeWhenIdle();
    }
  }

  private dropHandle(key: string): void {
    const h = this.handles.get(key);
    if (!h) return;
    this.handles.delete(key);
    // Closed once its readers are done: a read in flight keeps the file it started on.
    h.detached = true;
    if (h.users === 0) closeHandle(h);
  }

  /**
   * Read handles close themselves a moment after the last read, so a target nobody closes (a
   * library caller, a test) never leaves one for the garbage collector to close.
   */
  private closeWhenIdle(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      for (const [key, h] of this.handles) {
        if (h.users > 0) continue;
        this.handles.delete(key);
        closeHandle(h);
      }
      if (this.handles.size > 0) this.closeWhenIdle();
    }, IDLE_MS);
    this.idleTimer.unref();
  }

  /** Keeps at most HANDLES open, closing the oldest idle ones. */
  private trimHandles(): void {
    for (const [key, h] of this.handles) {
      if (this.handles.size <= HANDLES) return;
      if (h.users > 0) continue;
      this.handles.delete(key);
      closeHandle(h);
    }
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const file = this.fileOf(key);
    try {
      const st = await stat(file);
      return st.isFile() ? { key, size: st.size } : undefined;
    } catch (err) {
      if (code(err) === "ENOENT" || code(err) === "ENOTDIR") return undefined;
      throw this.wrap(err, `stat ${key}`, file);
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    // Walk only the deepest folder the prefix fully names, then filter by the whole prefix.
    const slash = prefix.lastIndexOf("/");
    const base = slash < 0 ? "" : prefix.slice(0, slash);
    const out: ObjectInfo[] = [];
    const pace = new StatPace();
    const walk = async (rel: string): Promise<void> => {
      const abs = rel ? path.join(this.root, ...rel.split("/")) : this.root;
      let dirents: Dirent[];
      try {
        dirents = await readdir(abs, { withFileTypes: true });
      } catch (err) {
        if (code(err) === "ENOENT" || code(err) === "ENOTDIR") return;
        throw this.wrap(err, `list ${rel || "/"}`, abs);
      }
      await Promise.all(
        dirents.map(async (d) => {
          const n = d.name;
          if (n.startsWith(".")) return; // temp files of puts in flight or interrupted
          const key = rel ? `${rel}/${n}` : n;
          if (!key.startsWith(prefix) && !prefix.startsWith(key + "/")) return;
          // A folder needs no stat (a third of a repository's entries: data/ has up to 256);
          // files do, for their size, and symlinks, to be followed.
          if (d.isDirectory()) return walk(key);
          let st;
          try {
            // Synchronous while fast: 135 snapshot objects took observe's listing 22-40 ms through the pool.
            st = pace.sync ? pace.stat(path.join(abs, n)) : await stat(path.join(abs, n));
          } catch (err) {
            if (code(err) === "ENOENT") return; // deleted while listing
            throw this.wrap(err, `list ${key}`, path.join(abs, n));
          }
          if (st.isDirectory()) await walk(key);
          else if (st.isFile() && key.startsWith(prefix)) out.push({ key, size: st.size });
        }),
      );
    };
    await walk(base);
    return out;
  }

  async delete(key: string): Promise<void> {
    const file = this.fileOf(key);
    this.dropHandle(key);
    try {
      await unlink(file);
    } catch (err) {
      if (code(err) === "ENOENT" || code(err) === "ENOTDIR") return;
      throw this.wrap(err, `delete ${key}`, file);
    }
    this.dirty.add(path.dirname(file)); // a delete, too, is durable only after flush
  }

  /** fsyncs every folder a put changed since the last flush; after it, those puts survive a power loss. */
  async flush(): Promise<void> {
    const dirs = [...this.dirty];
    this.dirty.clear();
    let next = 0;
    try {
      await Promise.all(
        Array.from({ length: Math.min(8, dirs.length) }, async () => {
          while (next < dirs.length) await syncDir(dirs[next++]!);
        }),
      );
    } catch (err) {
      for (const d of dirs) this.dirty.add(d); // not known to be durable: the next flush tries again
      throw this.wrap(err, "flush", this.root);
    }
  }

  async close(): Promise<void> {
    clearTimeout(this.idleTimer);
    const all = [...this.handles.values()];
    this.handles.clear();
    await Promise.all(all.map((h) => h.fh.then((fh) => fh.close()).catch(() => undefined)));
  }

  localPath(key: string): string {
    return this.fileOf(key);
  }

  private fileOf(key: string): string {
    const parts = key.split("/");
    if (key === "" || !parts.every((p) => SEGMENT.test(p))) {
      throw new TargetError(`invalid object key ${JSON.stringify(key)} for ${this.where}`, {
        hint: "keys are relative, `/`-separated names of letters, digits and `._=+@,-`, never starting with a dot",
      });
    }
    return path.join(this.root, ...parts);
  }

  private async ensureDir(dir: string, key: string): Promise<void> {
    if (this.madeDirs.has(dir)) return;
    try {
      // The root itself only if its parent exists: an unmounted NAS must not fill the local disk.
      const madeRoot = await mkdir(this.root).then(
        () => true,
        (err: unknown) => {
          if (code(err) !== "EEXIST") throw err;
          return false;
        },
      );
      if (madeRoot) this.dirty.add(path.dirname(this.root));
      const first = await mkdir(dir, { recursive: true });
      // A new folder's own name must be durable too: flush its parents up to the first that existed.
      if (first !== undefined) for (let d = dir; d.length >= first.length && d !== this.root; d = path.dirname(d)) this.dirty.add(path.dirname(d));
    } catch (err) {
      throw this.wrap(err, `write ${key}`, dir);
    }
    this.madeDirs.add(dir);
  }

  /** What a failed read of `key` means: NotFoundError when it is absent. */
  private readFailure(err: unknown, key: string, file: string): Error {
    return code(err) === "ENOENT" || code(err) === "ENOTDIR" ? new NotFoundError(key, this.where) : this.wrap(err, `read ${key}`, file);
  }

  private wrap(err: unknown, what: string, file: string): TargetError {
    const c = code(err);
    const base = `cannot ${what} on ${this.where}`;
    const msg = (why: string, hint: string, transient = false) =>
      new TargetError(`${base}: ${why} (${file})`, { hint, cause: err, transient });
    switch (c) {
      case "ENOSPC":
      case "EDQUOT":
        return msg("no space left on the device", `free space on the file system holding ${this.root}, or prune old snapshots`);
      case "EACCES":
      case "EPERM":
      case "EROFS":
        return msg("permission denied", `make ${this.root} writable by this user (uid ${process.getuid?.() ?? "?"}), or check the mount is not read-only`);
      case "ENOENT":
        return msg("the parent folder does not exist", `create ${path.dirname(this.root)} (or mount the disk) and run again`);
      case "ENOTDIR":
      case "EEXIST":
        return msg("a file is in the way of a folder", `check the path of target "${this.name}": something in ${this.root} is a file, not a folder`);
      case "EIO":
      case "EAGAIN":
      case "EBUSY":
        return msg(`I/O error (${c})`, "check the disk and its mount, then run again", true);
      default:
        return msg((err as Error)?.message ?? String(err), `check ${this.root}`);
    }
  }
}

interface ReadHandle {
  fh: Promise<FileHandle>;
  users: number;
  /** No longer in the map (the key was overwritten or deleted): close when the last reader is done. */
  detached: boolean;
}

function closeHandle(h: ReadHandle): void {
  h.fh.then((fh) => fh.close()).catch(() => undefined);
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } catch (err) {
    // Some file systems (SMB/CIFS mounts) refuse fsync on a folder; the rename is still atomic.
    if (code(err) !== "EINVAL" && code(err) !== "ENOTSUP" && code(err) !== "EISDIR") throw err;
  } finally {
    await fh.close();
  }
}

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * The whole file when it is at most SYNC_READ_MAX bytes, else undefined (read it asynchronously).
 * Objects are written to a temp name and renamed into place, so the size fstat gives is final.
 */
function readSmallSync(file: string): Buffer | undefined {
  const fd = openSync(file, "r");
  try {
    const size = fstatSync(fd).size;
    if (size > SYNC_READ_MAX) return undefined;
    const buf = Buffer.allocUnsafeSlow(size); // its own memory, as readFile gives: callers may transfer it
    let got = 0;
    while (got < size) {
      const n = readSync(fd, buf, got, size - got, got);
      if (n === 0) break;
      got += n;
    }
    return got === size ? buf : buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}
