/**
 * Manifest paths are instance-relative posix paths. Anything that could leave the restore folder
 * (absolute, `..`, empty or `.` segments, NUL) is refused before a single byte is written, and so
 * is a tree where an entry would sit below a symlink or a file of the same restore (writing
 * through a restored symlink could reach anywhere).
 */
import type { ManifestEntry } from "./types.js";

export function pathProblem(p: string): string | undefined {
  if (typeof p !== "string" || p.length === 0) return "empty path";
  if (p.includes("\0")) return "NUL in path";
  if (p.startsWith("/") || /^[A-Za-z]:[\\/]/.test(p)) return "absolute path";
  // Segment by segment without split(): this runs for every entry of every capture and restore.
  for (let start = 0; start <= p.length; ) {
    let end = p.indexOf("/", start);
    if (end < 0) end = p.length;
    const len = end - start;
    if (len === 0) return "empty path segment";
    if (len <= 2 && p.charCodeAt(start) === 46 && (len === 1 || p.charCodeAt(start + 1) === 46)) return `"${p.slice(start, end)}" segment`;
    start = end + 1;
  }
  return undefined;
}

/** Every problem of a set of entries restored together, as "<path>: <why>". */
export function treeProblems(entries: Iterable<Pick<ManifestEntry, "path" | "type">>): string[] {
  const problems: string[] = [];
  const types = new Map<string, ManifestEntry["type"]>();
  const all: Pick<ManifestEntry, "path" | "type">[] = [];
  for (const e of entries) {
    const why = pathProblem(e.path);
    if (why) {
      problems.push(`${JSON.stringify(e.path)}: ${why}`);
      continue;
    }
    if (e.type !== "file" && e.type !== "dir" && e.type !== "symlink") {
      problems.push(`${e.path}: unknown entry type ${JSON.stringify(e.type)}`);
      continue;
    }
    const prev = types.get(e.path);
    if (prev && !(prev === "dir" && e.type === "dir")) problems.push(`${e.path}: appears twice`);
    types.set(e.path, e.type);
    all.push(e);
  }
  for (const e of all) {
    // Each parent, shortest first: "a", "a/b", ... (the path itself is not its own parent).
    for (let slash = e.path.indexOf("/"); slash > 0; slash = e.path.indexOf("/", slash + 1)) {
      const parent = e.path.slice(0, slash);
      const t = types.get(parent);
      if (t === "symlink") problems.push(`${e.path}: would be written through the symlink ${parent}`);
      else if (t === "file") problems.push(`${e.path}: sits below the file ${parent}`);
      if (t && t !== "dir") break;
    }
  }
  return problems;
}
