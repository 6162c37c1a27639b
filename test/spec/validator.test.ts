import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import path from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { schemaPath } from "../../src/spec/schema.js";
import { loadValidator, writeStandalone } from "../../src/spec/validator.js";
import { repoRoot } from "../helpers/cli.js";

const require = createRequire(import.meta.url);

async function inPackageTmp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(repoRoot, "node_modules", ".backplan-test-"));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
const schemaText = readFileSync(schemaPath, "utf8");
const spec = (f: string) => parse(readFileSync(path.join(repoRoot, f), "utf8")) as Record<string, unknown>;

describe("the standalone validator written by the build", () => {
  it("gives exactly the errors of the compiled schema, and is refused once the schema changes", () =>
    // Inside the package, so the generated code's require("ajv/dist/runtime/…") resolves.
    inPackageTmp(async (dir) => {
      const file = path.join(dir, "schema-validator.cjs");
      writeStandalone(schemaText, file);
      const standalone = require(file) as ((d: unknown) => boolean) & { errors?: unknown; schemaDigest: string };
      const compiled = loadValidator(schemaText, { checkSchema: true });
      const base = spec("examples/primary-plus-3.yaml");
      const samples: unknown[] = [
        base,
        spec("examples/primary-plus-2.yaml"),
        spec("backup.yaml"),
        { ...base, versoin: 1 },
        { ...base, version: 2 },
        { ...base, targets: { nas: { type: "ftp", path: "/x" } } },
        { ...base, policies: [{ target: "nas", every: "daily", keep: { daily: -2, weekly: "four" } }] },
        { ...base, notify: [{ on: ["failure"], email: { to: ["not an address"], smtp: "${env:SMTP}" } }] },
        { ...base, notify: [{ on: ["failur"], webhook: "not a url" }] },
        {},
        [],
      ];
      for (const [i, data] of samples.entries()) {
        const a = standalone(data);
        const b = compiled(data);
        expect(a, `sample ${i}`).toBe(b);
        expect(JSON.stringify(standalone.errors ?? null), `sample ${i}`).toBe(JSON.stringify(compiled.errors ?? null));
      }
      expect(samples.filter((d) => !compiled(d)).length).toBeGreaterThanOrEqual(7);
      // A validator stamped for another schema text is not used.
      expect(standalone.schemaDigest).not.toBe("");
      expect(loadValidator(schemaText + " ")).not.toBe(standalone);
    }));
});
