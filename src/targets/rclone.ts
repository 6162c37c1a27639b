/**
 * Any rclone remote ("b2:bucket/path", "nas-sftp:backups"), with the user's rclone configuration.
 * One `rclone rcd` daemon per target serves every operation over HTTP on loopback, so a run
 * that stores thousands of chunks starts one process, not thousands:
 *   put   → operations/uploadfile (multipart POST from memory); on non-bucket remotes (local, sftp)
 *           to a dot-named temp object first, then operations/movefile (a rename) for atomicity
 *   get   → GET /[fs]/key (--rc-serve), streamed by rclone
 *   stat  → operations/stat · list → operations/list (recursive, --fast-list) · delete → deletefile
 * The daemon listens on 127.0.0.1 with a random port and random basic-auth credentials passed in
 * its environment (not argv, which other users can read). It runs under a tiny sh watchdog that
 * kills it when our stdin pipe closes, so it dies with us even on SIGKILL.
 */
import { randomBytes } from "node:crypto";
import { accessSync, constants } from "node:fs";
import path from "node:path";
import type { ResultPromise } from "execa";
import { NotFoundError, TargetError, UserError, errorMessage } from "../errors.js";
import type { ObjectInfo, Target } from "./target.js";

export interface RcloneOptions {
  name: string;
  /** `remote:path`, e.g. "b2:owui-backups/backplan". */
  remote: string;
  /** rclone.conf to use instead of the user's default one. */
  config?: string;
  /** Environment for rclone; defaults to process.env. AWS_CA_BUNDLE is always removed. */
  env?: NodeJS.ProcessEnv;
  startTimeoutMs?: number;
}

/** `"$@"` is rclone; fd 3 keeps our stdin so the reader notices when we go away. */
const WATCHDOG = `exec 3<&0
"$@" </dev/null & p=$!
trap 'kill $p 2>/dev/null; exit 143' HUP INT TERM
( read _ <&3; kill $p 2>/dev/null ) &
wait $p`;

interface RcItem {
  Path: string;
  Name: string;
  Size: number;
  IsDir: boolean;
}

class RcError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export class RcloneTarget implements Target {
  readonly where: string;
  private readonly stderr: string[] = [];
  private closed = false;
  private exited = false;
  private bucketBased = false;

  private constructor(
    readonly name: string,
    readonly remote: string,
    private readonly config: string | undefined,
    private readonly proc: ResultPromise,
    private readonly url: string,
    private readonly auth: string,
  ) {
    this.where = describeRemote(remote);
  }

  static async open(opts: RcloneOptions): Promise<RcloneTarget> {
    const env: NodeJS.ProcessEnv = { ...(opts.env ?? process.env) };
    // rclone 1.60's S3 backend fails with LoadCustomCABundleError when this is set.
    delete env.AWS_CA_BUNDLE;
    const bin = findOnPath("rclone", env.PATH ?? "");
    if (!bin) {
      throw new UserError(`rclone is not installed (not found on PATH), and target "${opts.name}" needs it`, {
        hint: "install it: `apt-get install rclone` (Debian/Ubuntu), `brew install rclone` (macOS), or see https://rclone.org/install/",
      });
    }
    const user = "backplan";
    const pass = randomBytes(18).toString("base64url");
    env.RCLONE_RC_USER = user;
    env.RCLONE_RC_PASS = pass;
    const args = ["rcd", "--rc-addr", "127.0.0.1:0", "--rc-serve", "--fast-list", "--ignore-times", "--ask-password=false"];
    args.push("--low-level-retries", "3", "--contimeout", "10s", "--timeout", "120s");
    // After an upload rclone re-reads the object and compares hash and mtime with what it sent;
    // when two writers put the same key at once that check fails ("corrupted on transfer", and
    // rclone may delete the other writer's whole object). Objects are content-addressed and
    // verified by the repository format, so compare sizes only. --ignore-times makes movefile
    // always replace the destination.
    args.push("--ignore-checksum", "--size-only");
    // Objects up to this size go up as one PUT with a known size (atomic everywhere, and one
    // request); larger ones stream, in parts on object stores.
    args.push("--streaming-upload-cutoff", "16M");
    // S3 remotes: trust the PUT's answer instead of a HEAD per upload (half the requests; and a
    // HEAD racing another writer of the same key made rclone call a whole upload corrupt).
    args.push("--s3-no-head");
    if (opts.config) args.push("--config", opts.config);
    const { execa } = await import("execa"); // lazily: keeps CLI start-up fast
    const proc = execa("sh", ["-c", WATCHDOG, "sh", bin, ...args], {
      env,
      extendEnv: false,
      stdin: "pipe",
      stdout: "ignore",
      stderr: "pipe",
      buffer: false,
      reject: false,
      cleanup: true,
    });
    const lines: string[] = [];
    let onLine: (l: string) => void = () => undefined;
    let pending = "";
    proc.stderr?.on("data", (d: Buffer) => {
      pending += d.toString();
      const parts = pending.split("\n");
      pending = parts.pop() ?? "";
      for (const l of parts) {
        lines.push(l);
        if (lines.length > 30) lines.shift();
        onLine(l);
      }
    });
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new TargetError(`rclone rcd did not start within ${(opts.startTimeoutMs ?? 20_000) / 1000}s`, { hint: lines.slice(-3).join("\n") || "run `rclone rcd` by hand to see why" })), opts.startTimeoutMs ?? 20_000);
      onLine = (l) => {
        const m = /Serving remote control on (http:\/\/127\.0\.0\.1:\d+)\/?/.exec(l);
        if (m?.[1]) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      };
      void proc.then((r) => {
        clearTimeout(timer);
        reject(new TargetError(`rclone rcd exited at start (${r.exitCode ?? r.signal}): ${lines.slice(-3).join(" ") || "no output"}`, { hint: "check the rclone configuration with `rclone config`" }));
      });
    }).catch(async (err: unknown) => {
      proc.stdin?.end();
      proc.kill("SIGKILL");
      await proc;
      throw err;
    });
    const t = new RcloneTarget(opts.name, opts.remote, opts.config, proc, url, "Basic " + Buffer.from(`${user}:${pass}`).toString("base64"));
    t.stderr.push(...lines);
    onLine = (l) => {
      t.stderr.push(l);
      if (t.stderr.length > 30) t.stderr.shift();
    };
    void proc.then(() => (t.exited = true));
    try {
      await t.checkRemote();
    } catch (err) {
      await t.close();
      throw err;
    }
    return t;
  }

  /** The daemon's pid (for tests). */
  get pid(): number | undefined {
    return this.proc.pid;
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    const { dir, base } = split(this.check(key));
    const at = (n: string) => (dir ? `${dir}/${n}` : n);
    const upload = (name: string) => {
      const form = new FormData();
      form.append("file", new Blob([data]), name);
      return this.call(`operations/uploadfile?${new URLSearchParams({ fs: this.remote, remote: dir }).toString()}`, { body: form });
    };
    try {
      if (this.bucketBased) return void (await upload(base));
      // rclone replaces an existing destination by deleting it, then renaming. Two writers of one
      // key can trip over each other there ("no such file", or the temp file moved away), and
      // which one won is unknowable: upload again under a new temp name and move that.
      for (let attempt = 1; ; attempt++) {
        const tmp = `.${base}.tmp-${randomBytes(6).toString("hex")}`;
        try {
          await upload(tmp);
          await this.rc("operations/movefile", { srcFs: this.remote, srcRemote: at(tmp), dstFs: this.remote, dstRemote: key });
          return;
        } catch (err) {
          await this.rc("operations/deletefile", { fs: this.remote, remote: at(tmp) }).catch(() => undefined);
          if (attempt >= 8 || !(err instanceof RcError) || !/no such file or directory|not found/i.test(err.message)) throw err;
        }
      }
    } catch (err) {
      throw this.wrap(err, "put", key);
    }
  }

  async get(key: string): Promise<Uint8Array> {
    const p = this.check(key).split("/").map(encodeURIComponent).join("/");
    const fsPart = encodeURIComponent(this.remote).replace(/%2F/g, "/").replace(/%3A/g, ":");
    let res: Response;
    try {
      res = await fetch(`${this.url}/%5B${fsPart}%5D/${p}`, { headers: { authorization: this.auth } });
    } catch (err) {
      throw this.wrap(this.unreachable(err), "get", key);
    }
    if (res.status === 404) {
      await res.body?.cancel();
      throw new NotFoundError(key, this.where);
    }
    if (!res.ok) throw this.wrap(new RcError(await errorText(res), res.status), "get", key);
    return new Uint8Array(await res.arrayBuffer());
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    try {
      const r = (await this.rc("operations/stat", { fs: this.remote, remote: this.check(key), opt: { noModTime: true, noMimeType: true } })) as { item: RcItem | null };
      return r.item && !r.item.IsDir ? { key, size: r.item.Size } : undefined;
    } catch (err) {
      if (err instanceof RcError && err.status === 404) return undefined;
      throw this.wrap(err, "stat", key);
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const slash = prefix.lastIndexOf("/");
    const dir = slash < 0 ? "" : prefix.slice(0, slash);
    let items: RcItem[];
    try {
      const r = (await this.rc("operations/list", {
        fs: this.remote,
        remote: dir,
        opt: { recurse: true, filesOnly: true, noModTime: true, noMimeType: true },
      })) as { list: RcItem[] };
      items = r.list;
    } catch (err) {
      if (err instanceof RcError && err.status === 404) return []; // the folder does not exist yet
      throw this.wrap(err, "list", prefix);
    }
    const out: ObjectInfo[] = [];
    for (const it of items) {
      const key = dir && !it.Path.startsWith(dir + "/") ? `${dir}/${it.Path}` : it.Path;
      // Dot-names are our temp objects, in flight or left by a crash.
      if (it.IsDir || !key.startsWith(prefix) || key.split("/").some((s) => s.startsWith("."))) continue;
      out.push({ key, size: it.Size });
    }
    return out;
  }

  async delete(key: string): Promise<void> {
    try {
      await this.rc("operations/deletefile", { fs: this.remote, remote: this.check(key) });
    } catch (err) {
      if (err instanceof RcError && err.status === 404) return;
      throw this.wrap(err, "delete", key);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Closing stdin makes the watchdog stop rclone; SIGKILL only if it does not go in time.
    this.proc.stdin?.end();
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), 5000);
    await this.proc;
    clearTimeout(timer);
  }

  private async checkRemote(): Promise<void> {
    // "name:path" or "name,param=value:path" (connection-string overrides); ":backend:" is inline.
    const name = /^([^:/\\][^:/\\]*):/.exec(this.remote)?.[1]?.split(",")[0];
    if (name && !(name.length === 1 && process.platform === "win32")) {
      const r = (await this.rc("config/listremotes", {})) as { remotes?: string[] };
      if (!(r.remotes ?? []).includes(name)) {
        throw new UserError(`rclone remote "${name}" is not configured${this.config ? ` in ${this.config}` : ""} (target "${this.name}")`, {
          hint: `create it with \`rclone config\`${this.config ? ` --config ${this.config}` : ""}, or fix \`remote:\`; \`rclone listremotes\` shows the remotes that exist`,
        });
      }
    }
    try {
      const info = (await this.rc("operations/fsinfo", { fs: this.remote })) as { Features?: { BucketBased?: boolean } };
      this.bucketBased = info.Features?.BucketBased === true;
    } catch (err) {
      throw this.wrap(err, "open", "");
    }
  }

  private rc(what: string, body: object): Promise<unknown> {
    return this.call(what, { body: JSON.stringify(body), json: true });
  }

  private async call(what: string, o: { body: string | FormData; json?: boolean }): Promise<unknown> {
    if (this.closed) throw new TargetError(`${this.where} is closed`, { hint: "this is a bug in backplan; please report it" });
    let res: Response;
    try {
      res = await fetch(`${this.url}/${what}`, {
        method: "POST",
        headers: { authorization: this.auth, ...(o.json ? { "content-type": "application/json" } : {}) },
        body: o.body,
      });
    } catch (err) {
      throw this.unreachable(err);
    }
    if (!res.ok) throw new RcError(await errorText(res), res.status);
    return res.json();
  }

  private unreachable(err: unknown): TargetError {
    const tail = this.stderr.slice(-2).join(" ");
    return new TargetError(`the rclone daemon for ${this.where} ${this.exited ? "exited unexpectedly" : "did not answer"}: ${errorMessage(err)}${tail ? ` (${tail})` : ""}`, {
      hint: "run again; if it repeats, try `rclone lsf` on the remote by hand",
      cause: err,
      transient: !this.exited,
    });
  }

  private check(key: string): string {
    if (key === "" || key.startsWith("/") || key.split("/").some((s) => s === "" || s.startsWith("."))) {
      throw new TargetError(`invalid object key ${JSON.stringify(key)} for ${this.where}`, { hint: "this is a bug in backplan; please report it" });
    }
    return key;
  }

  private wrap(err: unknown, op: string, key: string): TargetError {
    if (err instanceof TargetError) return err;
    const msg = errorMessage(err);
    const base = `cannot ${op}${key ? ` ${key}` : ""} on ${this.where}`;
    const fail = (why: string, hint: string, transient = false) => new TargetError(`${base}: ${why}`, { hint, cause: err, transient });
    if (/didn't find section in config file/i.test(msg)) {
      return fail("the remote is not configured", "create it with `rclone config`, or fix `remote:`");
    }
    if (/NoSuchBucket|bucket.*(not found|does not exist)/i.test(msg)) {
      return fail(`the bucket does not exist (${msg})`, `create it (e.g. \`rclone mkdir ${this.remote}\`) or fix \`remote:\``);
    }
    if (deniedRcloneError(msg)) {
      return fail(`access denied (${msg})`, "check the remote's credentials and permissions with `rclone config` and `rclone lsd REMOTE:`");
    }
    const status = err instanceof RcError ? err.status : 0;
    if (transientRcloneError(msg)) {
      return fail(msg, "the remote is unreachable or busy; the next run will try again", true);
    }
    return fail(status ? `${msg} (rc status ${status})` : msg, `check the remote with \`rclone lsf ${this.remote}\``);
  }
}

/**
 * HTTP statuses only in the forms rclone and the Go SDKs print them ("status code: 403",
 * "StatusCode: 401", "HTTP/1.1 403", "403 Forbidden"): a bare /403/ also matched the port of
 * `dial tcp 127.0.0.1:14031: connection refused` and the hex of object keys, and made a dead
 * server a permanent "access denied".
 */
const STATUS = String.raw`(?:status ?code:?|\bhttp(?:/\d(?:\.\d)?)?) *`;
const DENIED_STATUS = new RegExp(String.raw`${STATUS}40[13]\b|\b40[13] (?:Unauthorized|Forbidden)`, "i");
const SERVER_STATUS = new RegExp(String.raw`${STATUS}5\d\d\b|\b5\d\d (?:Internal Server Error|Bad Gateway|Service Unavailable|Gateway Time-?out)`, "i");

/**
 * Whether an error rclone reports is worth another try: the network or the service failing, in
 * Go's and rclone's wordings (a dead server behind a kept-alive connection shows as a reset, a
 * broken pipe or a closed connection before it shows as refused), throttling, 5xx answers.
 */
export function transientRcloneError(msg: string): boolean {
  return /connection refused|connection reset|broken pipe|closed idle connection|use of closed network connection|network is unreachable|timeout|timed out|deadline exceeded|\bEOF\b|too many requests|corrupted on transfer|SlowDown|InternalServerError|InternalError|temporar/i.test(msg) || SERVER_STATUS.test(msg);
}

/** Whether rclone says the credentials or permissions are wrong. */
export function deniedRcloneError(msg: string): boolean {
  return /AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch|unauthori[sz]ed|permission denied/i.test(msg) || DENIED_STATUS.test(msg);
}

/** `rclone remote b2:bucket/path`, with inline parameters (`:s3,secret=…:`) removed. */
export function describeRemote(remote: string): string {
  return `rclone remote ${remote.replace(/^(:?[^:,/]*),[^:]*:/, "$1:")}`;
}

function split(key: string): { dir: string; base: string } {
  const i = key.lastIndexOf("/");
  return i < 0 ? { dir: "", base: key } : { dir: key.slice(0, i), base: key.slice(i + 1) };
}

function findOnPath(cmd: string, PATH: string): string | undefined {
  for (const d of PATH.split(path.delimiter)) {
    if (!d) continue;
    const f = path.join(d, cmd);
    try {
      accessSync(f, constants.X_OK);
      return f;
    } catch {
      // not here
    }
  }
  return undefined;
}

async function errorText(res: Response): Promise<string> {
  const text = await res.text().catch(() => "");
  try {
    const j = JSON.parse(text) as { error?: string };
    return j.error ?? text;
  } catch {
    return text || `HTTP ${res.status}`;
  }
}
