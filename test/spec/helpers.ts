/** Temp folders holding a spec (and, by default, an existing data directory) for loader tests. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { SpecError, type SpecProblem } from "../../src/errors.js";
import { loadSpec } from "../../src/spec/load.js";

const dirs: string[] = [];

export function specDir(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "backplan-spec-"));
  dirs.push(dir);
  mkdirSync(path.join(dir, "data"));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

export function cleanupSpecDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** Load `text` as backup.yaml in a fresh folder; return every problem (errors and warnings). */
export async function problemsOf(text: string, mode: "validate" | "apply" = "validate"): Promise<SpecProblem[]> {
  const dir = specDir({ "backup.yaml": text });
  try {
    const { warnings } = await loadSpec(path.join(dir, "backup.yaml"), { mode });
    return warnings;
  } catch (err) {
    if (err instanceof SpecError) return err.problems;
    throw err;
  }
}

/** Join lines, so test specs read like files and line numbers are easy to count. */
export const yaml = (...lines: string[]): string => lines.join("\n") + "\n";
