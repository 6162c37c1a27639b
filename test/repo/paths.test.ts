/** Manifest path checks (src/repo/paths.ts), held to the plain split()-based rules they replaced. */
import { describe, expect, it } from "vitest";
import { pathProblem, treeProblems } from "../../src/repo/paths.js";
import type { ManifestEntry } from "../../src/repo/types.js";

function reference(p: string): string | undefined {
  if (p.length === 0) return "empty path";
  if (p.includes("\0")) return "NUL in path";
  if (p.startsWith("/") || /^[A-Za-z]:[\\/]/.test(p)) return "absolute path";
  for (const seg of p.split("/")) {
    if (seg === "") return "empty path segment";
    if (seg === "." || seg === "..") return `"${seg}" segment`;
  }
  return undefined;
}

describe("manifest paths", () => {
  it("refuses what could leave the restore folder, as the split() rules did", () => {
    const cases = ["a", "a/b", ".", "..", "./a", "../a", "a/.", "a/..", "a/./b", "a/../b", "a//b", "a/", "/a", "C:/x", "c:\\x", "a\0b", ".a", "..a", "a.", "a..", "...", "a/.../b", ".hidden/x", "x/.y"];
    for (const p of cases) expect(pathProblem(p), p).toBe(reference(p));
    expect(pathProblem("a/../b")).toBe('".." segment');
    expect(pathProblem("uploads/x.pdf")).toBeUndefined();
    // Every string of up to 6 characters over the characters that matter.
    const alphabet = ["a", ".", "/", "\0", ":", "\\"];
    const all = (n: number): string[] => (n === 0 ? [""] : all(n - 1).flatMap((s) => alphabet.map((c) => s + c)));
    for (let n = 0; n <= 6; n++) for (const p of all(n)) if (pathProblem(p) !== reference(p)) expect(pathProblem(p), JSON.stringify(p)).toBe(reference(p));
  });

  it("finds entries below a symlink or a file, at any depth, and duplicates", () => {
    const e = (path: string, type: ManifestEntry["type"]) => ({ path, type });
    expect(treeProblems([e("a", "dir"), e("a/b", "dir"), e("a/b/c", "file")])).toEqual([]);
    expect(treeProblems([e("a", "symlink"), e("a/b/c", "file")])).toEqual(["a/b/c: would be written through the symlink a"]);
    expect(treeProblems([e("a", "dir"), e("a/b", "file"), e("a/b/c/d", "file")])).toEqual(["a/b/c/d: sits below the file a/b"]);
    expect(treeProblems([e("x", "file"), e("x", "file")])).toEqual(["x: appears twice"]);
    expect(treeProblems([e("d", "dir"), e("d", "dir")])).toEqual([]);
    expect(treeProblems([e("ab", "symlink"), e("abc/d", "file"), e("ab/c", "file")])).toEqual(["ab/c: would be written through the symlink ab"]);
    expect(treeProblems([{ path: "q", type: "fifo" as ManifestEntry["type"] }])).toEqual(['q: unknown entry type "fifo"']);
  });
});
