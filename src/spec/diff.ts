/** What changed in backup.yaml since the last successful apply: a unified diff, secrets redacted. */
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Spec } from "./types.js";
import type { Catalog } from "../catalog/catalog.js";

/**
 * Inline secrets are refused by validation, but the diff is shown in pull requests and stored in
 * the catalog, so anything that looks like a credential is masked again here, defensively.
 */
export function redactSpecText(text: string): string {
  return text
    .replace(/^(\s*(?:passphrase|password|secret\w*|access\w*key\w*|token|smtp)\s*:\s*)(?!["']?\$\{)(.+)$/gim, "$1<redacted>")
    .replace(/(\w+:\/\/[^:/\s]+:)[^@\s]+@/g, "$1<redacted>@");
}

export async function readRedactedSpec(spec: Spec): Promise<string> {
  return redactSpecText(await readFile(spec.file, "utf8"));
}

export async function specDiff(spec: Spec, catalog: Catalog): Promise<string | undefined> {
  const last = catalog.appliedSpec();
  if (!last || last.digest === spec.digest) return undefined;
  const now = await readRedactedSpec(spec);
  if (now === last.text) return undefined;
  const name = path.basename(spec.file);
  // Loaded only when there is a diff to show: its 19 modules cost every other run ~15 ms.
  const { createTwoFilesPatch } = await import("diff");
  return createTwoFilesPatch(`${name} (applied ${last.appliedAt})`, `${name} (now)`, last.text, now, "", "", { context: 2 })
    .split("\n")
    .slice(1)
    .join("\n");
}
