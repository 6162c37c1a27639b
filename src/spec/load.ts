/**
 * backup.yaml → Spec: read, parse with positions, validate against the schema, run the semantic
 * checks, and report every problem at once, each located at file:line:col.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { SpecError, UserError, errorMessage, type SpecProblem } from "../errors.js";
import { formatPath } from "./names.js";
import { normalise } from "./normalise.js";
import type { RawSpec } from "./raw.js";
import { schemaIssues, type Issue } from "./schema.js";
import { resolveSecret } from "./secrets.js";
import { parseSource } from "./source.js";
import type { Spec } from "./types.js";

export interface LoadOptions {
  /** validate: missing paths and unresolvable secrets are warnings. apply: they are errors. */
  mode: "validate" | "apply";
}

export async function loadSpec(file: string, opts: LoadOptions): Promise<{ spec: Spec; warnings: SpecProblem[] }> {
  const abs = path.resolve(file);
  const bytes = readSpecFile(abs);
  const shown = displayName(abs);
  const dir = path.dirname(abs);
  const source = parseSource(bytes.toString("utf8"));
  const at = (p: { line: number; col: number }) => ({ file: shown, line: p.line, col: p.col });

  if (source.syntax.length > 0) {
    throw new SpecError(source.syntax.map((s) => ({ ...at(s), path: "", message: s.message, ...(s.hint ? { hint: s.hint } : {}), severity: "error" })));
  }
  if (source.data === null || source.data === undefined) {
    throw new SpecError([{ ...at({ line: 1, col: 1 }), path: "", message: "the spec is empty", hint: "start from examples/primary-plus-2.yaml", severity: "error" }]);
  }

  const issues: Issue[] = schemaIssues(source.data);
  const typed = typeof source.data === "object" && !Array.isArray(source.data);
  const { spec, issues: semantic } = normalise((typed ? source.data : {}) as RawSpec, {
    dir,
    mode: opts.mode,
    exists: existsSync,
    resolve: resolveSecret,
  });
  // An unknown field directly inside an object usually explains what the semantic check misses
  // there (`pth:` for `path:`, `knd:` for `kind:`): say it once, the schema's way.
  const misnamed = new Set(issues.filter((i) => i.key).map((i) => JSON.stringify(i.at.slice(0, -1))));
  issues.push(...semantic.filter((i) => i.severity === "warning" || !misnamed.has(JSON.stringify(i.at))));

  const problems: SpecProblem[] = issues
    .map((i) => ({
      ...at(source.locate(i.at, i.key)),
      path: formatPath(i.at),
      message: i.message,
      ...(i.hint ? { hint: i.hint } : {}),
      severity: i.severity,
    }))
    .sort((a, b) => a.line - b.line || a.col - b.col);
  if (problems.some((p) => p.severity === "error")) throw new SpecError(problems);

  const digest = createHash("sha256").update(bytes).digest("hex");
  return { spec: { file: abs, dir, digest, ...spec }, warnings: problems };
}

function readSpecFile(abs: string): Buffer {
  try {
    return readFileSync(abs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") {
      throw new UserError(`spec file ${abs} does not exist`, {
        hint: "run backplan in the folder holding backup.yaml, point to it with -c FILE, or start from examples/primary-plus-2.yaml",
      });
    }
    if (code === "EISDIR") throw new UserError(`${abs} is a folder, not a spec file`, { hint: "point -c at the backup.yaml inside it" });
    throw new UserError(`cannot read spec file ${abs}: ${errorMessage(err)}`, { hint: "check the file's permissions" });
  }
}

/** The file as the user knows it: relative to the working directory when inside it. */
function displayName(abs: string): string {
  const rel = path.relative(process.cwd(), abs);
  return rel && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel : abs;
}
