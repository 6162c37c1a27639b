/** Compares a restored tree with its source: names, types, bytes, modes, mtimes, link texts. */
import { lstat, readdir, readFile, readlink } from "node:fs/promises";
import path from "node:path";

export interface TreeEntry {
  path: string;
  type: "file" | "dir" | "symlink";
  mode: number;
  mtimeMs?: number;
  content?: string; // hex sha-free: raw base64 for small trees
  link?: string;
}

export async function readTree(root: string, opts: { skip?: (rel: string) => boolean } = {}): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  async function walk(rel: string) {
    const abs = path.join(root, rel);
    for (const d of (await readdir(abs, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      if (opts.skip?.(r)) continue;
      const st = await lstat(path.join(root, r));
      if (st.isSymbolicLink()) out.push({ path: r, type: "symlink", mode: 0, link: await readlink(path.join(root, r)) });
      else if (st.isDirectory()) {
        out.push({ path: r, type: "dir", mode: st.mode & 0o7777 });
        await walk(r);
      } else if (st.isFile())
        out.push({ path: r, type: "file", mode: st.mode & 0o7777, mtimeMs: Math.floor(st.mtimeMs), content: (await readFile(path.join(root, r))).toString("base64") });
    }
  }
  await walk("");
  return out;
}
