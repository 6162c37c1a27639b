import { execFileSync, spawnSync } from "node:child_process";
import { chmod, lstat, mkdir, symlink, utimes, writeFile } from "node:fs/promises";
import { writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { walkFiles, type WalkOptions } from "../../src/capture/files.js";
import { captureFsError } from "../../src/capture/fs-errors.js";
import { UserError } from "../../src/errors.js";
import { tempDir } from "../helpers/capture-fixtures.js";

let root: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir: root, cleanup } = await tempDir()));
afterEach(() => cleanup());

const uploads = () => path.join(root, "uploads");
async function put(rel: string, content = "x", mode?: number): Promise<void> {
  const file = path.join(uploads(), rel);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, content);
  if (mode !== undefined) await chmod(file, mode);
}
const pathsOf = (r: { entries: { path: string }[] }) => r.entries.map((e) => e.path);

describe.each([false, true])("walkFiles (every lstat on the thread pool: %s)", (statsOnPool) => {
  const walk = (root: string, component: string, opts: WalkOptions = {}) => walkFiles(root, component, { ...opts, statsOnPool });
  it("lists files, folders (empty ones too) and odd names, relative to the instance root, sorted", async () => {
    await put("a b.pdf", "pdf");
    await put("résumé 2024.pdf", "cv");
    await put("日本語.txt", "テキスト");
    await put("line\nbreak.txt", "nl");
    await put("nested/deeper/notes.md", "# notes");
    await put("empty.txt", "");
    await mkdir(path.join(uploads(), "empty folder"));

    const r = await walk(root, "uploads");

    expect(pathsOf(r)).toEqual(
      [
        "uploads",
        "uploads/a b.pdf",
        "uploads/empty folder",
        "uploads/empty.txt",
        "uploads/line\nbreak.txt",
        "uploads/nested",
        "uploads/nested/deeper",
        "uploads/nested/deeper/notes.md",
        "uploads/résumé 2024.pdf",
        "uploads/日本語.txt",
      ].sort((a, b) => (a < b ? -1 : 1)),
    );
    const byPath = new Map(r.entries.map((e) => [e.path, e]));
    expect(byPath.get("uploads")?.type).toBe("dir");
    expect(byPath.get("uploads/empty folder")).toMatchObject({ type: "dir", size: 0 });
    expect(byPath.get("uploads/empty.txt")).toMatchObject({ type: "file", size: 0, live: true });
    expect(byPath.get("uploads/日本語.txt")).toMatchObject({ type: "file", size: Buffer.byteLength("テキスト"), source: path.join(uploads(), "日本語.txt") });
    expect(r.warnings).toEqual([]);
  });

  it("records modes, mtimes and the stat-cache identity from lstat", async () => {
    await put("private.txt", "p", 0o600);
    await put("public.txt", "p", 0o644);
    await put("tool.sh", "#!/bin/sh\n", 0o755);
    const when = new Date("2024-02-29T12:34:56.789Z");
    await utimes(path.join(uploads(), "public.txt"), when, when);

    const r = await walk(root, "uploads");
    const byPath = new Map(r.entries.map((e) => [e.path, e]));
    expect(byPath.get("uploads/private.txt")?.mode).toBe(0o600);
    expect(byPath.get("uploads/public.txt")?.mode).toBe(0o644);
    expect(byPath.get("uploads/tool.sh")?.mode).toBe(0o755);
    const st = await lstat(path.join(uploads(), "public.txt"));
    expect(byPath.get("uploads/public.txt")).toMatchObject({ mtimeMs: when.getTime(), ino: st.ino, ctimeMs: st.ctimeMs, size: 1 });
  });

  it("stores symlinks as links and never follows them, even to a folder outside", async () => {
    const outside = path.join(root, "outside");
    await mkdir(outside);
    await writeFile(path.join(outside, "secret.txt"), "must not be captured");
    await put("real.pdf", "pdf");
    await symlink(outside, path.join(uploads(), "to-outside"));
    await symlink("real.pdf", path.join(uploads(), "latest.pdf"));
    await symlink("missing-target", path.join(uploads(), "dangling"));

    const r = await walk(root, "uploads");
    const byPath = new Map(r.entries.map((e) => [e.path, e]));
    expect(byPath.get("uploads/to-outside")).toMatchObject({ type: "symlink", linkTarget: outside, size: 0 });
    expect(byPath.get("uploads/latest.pdf")).toMatchObject({ type: "symlink", linkTarget: "real.pdf" });
    expect(byPath.get("uploads/dangling")).toMatchObject({ type: "symlink", linkTarget: "missing-target" });
    expect(pathsOf(r).some((p) => p.includes("secret"))).toBe(false);
  });

  it("honours include and exclude globs relative to the component folder; exclude wins and prunes", async () => {
    await put("a.pdf");
    await put("deep/b.pdf");
    await put("deep/c.txt");
    await put("docs/readme.txt");
    await put("docs/sub/more.txt");
    await put("tmp/x.pdf");
    await put("docs/private.pdf");
    await mkdir(path.join(uploads(), "nothing-here"));

    const r = await walk(root, "uploads", { include: ["**/*.pdf", "docs"], exclude: ["tmp", "**/private.*"] });

    expect(pathsOf(r)).toEqual([
      "uploads",
      "uploads/a.pdf",
      "uploads/deep",
      "uploads/deep/b.pdf",
      "uploads/docs",
      "uploads/docs/readme.txt",
      "uploads/docs/sub",
      "uploads/docs/sub/more.txt",
    ]);
  });

  it("does not enter an excluded folder at all", async () => {
    await put("keep.txt");
    const locked = path.join(uploads(), "cache");
    await mkdir(locked);
    // Entering it would warn about the bad name; unreadable for anyone but root would fail the walk.
    writeFileSync(Buffer.concat([Buffer.from(path.join(locked, "bad-")), Buffer.from([0xff])]), "x");
    await chmod(locked, 0o000);
    try {
      const r = await walk(root, "uploads", { exclude: ["cache"] });
      expect(pathsOf(r)).toEqual(["uploads", "uploads/keep.txt"]);
      expect(r.warnings).toEqual([]);
    } finally {
      await chmod(locked, 0o755);
    }
  });

  it("skips fifos and sockets with a warning", async () => {
    await put("ok.txt");
    execFileSync("mkfifo", [path.join(uploads(), "pipe")]);
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(path.join(uploads(), "app.sock"), resolve));
    try {
      const r = await walk(root, "uploads");
      expect(pathsOf(r)).toEqual(["uploads", "uploads/ok.txt"]);
      expect(r.warnings.sort()).toEqual([
        "uploads/app.sock: skipped a socket (only files, folders and symlinks are backed up)",
        "uploads/pipe: skipped a fifo (only files, folders and symlinks are backed up)",
      ]);
    } finally {
      server.close();
    }
  });

  it("warns about (and skips) a name that is not valid UTF-8", async () => {
    await put("ok.txt");
    writeFileSync(Buffer.concat([Buffer.from(path.join(uploads(), "bad-")), Buffer.from([0xff, 0xfe]), Buffer.from(".txt")]), "x");
    const r = await walk(root, "uploads");
    expect(pathsOf(r)).toEqual(["uploads", "uploads/ok.txt"]);
    expect(r.warnings).toEqual(["uploads/bad-\uFFFD\uFFFD.txt: skipped a name that is not valid UTF-8; rename it to back it up"]);
  });

  it("captures a component that is a single file", async () => {
    await writeFile(path.join(root, "audit.log"), "line\n");
    const r = await walk(root, "audit.log", { include: ["*.nothing"] });
    expect(r.entries).toEqual([
      expect.objectContaining({ path: "audit.log", type: "file", size: 5, source: path.join(root, "audit.log"), live: true }),
    ]);
  });

  it("names a missing component path", async () => {
    const err = await walk(root, "uploads").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe(`the path ${uploads()} does not exist`);
  });

  it("refuses a component path that leaves the instance folder", async () => {
    await expect(walk(root, "../etc")).rejects.toThrow(/must be relative to the instance folder and stay inside it/);
  });

  it("can be cancelled", async () => {
    for (let i = 0; i < 50; i++) await put(`d${i}/f.txt`);
    const ac = new AbortController();
    ac.abort(new Error("cancelled by test"));
    await expect(walk(root, "uploads", { signal: ac.signal })).rejects.toThrow("cancelled by test");
  });
});

describe("unreadable files and folders (a real EACCES, as a user without rights)", () => {
  // Root reads everything, so as root the walk runs in a child process as `nobody`; otherwise here.
  const asRoot = process.getuid?.() === 0;
  async function walkAsUnprivileged(component: string): Promise<{ ok: boolean; userError?: boolean; message?: string; hint?: string; code?: string }> {
    if (!asRoot) {
      try {
        await walkFiles(root, component);
        return { ok: true };
      } catch (err) {
        const e = err as UserError & { cause?: { code?: string } };
        return { ok: false, userError: err instanceof UserError, message: e.message, ...(e.hint ? { hint: e.hint } : {}), ...(e.cause?.code ? { code: e.cause.code } : {}) };
      }
    }
    await chmod(root, 0o755); // mkdtemp makes 0700 folders: let nobody in as far as the component
    const cli = path.resolve("test/helpers/capture-walk-cli.ts");
    const r = spawnSync(
      "setpriv",
      ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, "--import", "tsx", cli, root, component],
      { encoding: "utf8", env: { ...process.env, HOME: root } },
    );
    if (r.status !== 0 || !r.stdout) throw new Error(`walk as nobody failed: ${r.error?.message ?? r.stderr}`);
    return JSON.parse(r.stdout) as { ok: boolean; message?: string };
  }

  it("an unreadable file is a clear error naming it", async () => {
    await put("fine.txt", "ok", 0o644);
    await put("secret.txt", "no", 0o600);
    if (!asRoot) await chmod(path.join(uploads(), "secret.txt"), 0o000);
    const r = await walkAsUnprivileged("uploads");
    expect(r).toMatchObject({
      ok: false,
      userError: true,
      code: "EACCES",
      message: `cannot read the file ${path.join(uploads(), "secret.txt")}: permission denied`,
    });
    expect(r.hint).toMatch(/exclude:/);
  });

  it("an unreadable folder is a clear error naming it", async () => {
    await put("locked/inside.txt", "x", 0o644);
    await chmod(path.join(uploads(), "locked"), 0o700);
    if (!asRoot) await chmod(path.join(uploads(), "locked"), 0o000);
    try {
      const r = await walkAsUnprivileged("uploads");
      expect(r).toMatchObject({ ok: false, userError: true, code: "EACCES", message: `cannot read the folder ${path.join(uploads(), "locked")}: permission denied` });
    } finally {
      await chmod(path.join(uploads(), "locked"), 0o755);
    }
  });

  it("maps other errors through unchanged", () => {
    const other = Object.assign(new Error("disk on fire"), { code: "EIO" });
    expect(captureFsError(other, "/x", "file")).toBe(other);
  });
});
