/**
 * The compiled validator of schema/backup.schema.json. `npm run build` writes it as standalone
 * code (ajv's "standalone" output) to dist/src/spec/schema-validator.cjs, stamped with the
 * schema's sha256: loading that took ~5 ms where importing ajv and compiling took ~60 ms of every
 * command's start-up. Without a matching file (the test runner runs the sources, or the schema
 * changed since the build) the schema is compiled here, with the same options.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Ajv2020 as Ajv2020Class, ValidateFunction } from "ajv/dist/2020.js";
import type { FormatsPlugin } from "ajv-formats";

const require = createRequire(import.meta.url);
const STANDALONE = path.join(path.dirname(fileURLToPath(import.meta.url)), "schema-validator.cjs");

export const schemaDigest = (text: string): string => createHash("sha256").update(text).digest("hex");

/** The standalone validator when it was built from this very schema text, else a fresh compile. */
export function loadValidator(schemaText: string, opts: { checkSchema?: boolean } = {}): ValidateFunction {
  if (!opts.checkSchema && existsSync(STANDALONE)) {
    const mod = require(STANDALONE) as ValidateFunction & { schemaDigest?: string };
    if (mod.schemaDigest === schemaDigest(schemaText)) return mod;
  }
  return compile(schemaText, opts.checkSchema ?? false).validate;
}

/**
 * `checkSchema` also validates the schema against the 2020-12 meta-schema: the tests do that once;
 * commands skip it (~30 ms).
 */
function compile(schemaText: string, checkSchema: boolean, source = false): { ajv: Ajv2020Class; validate: ValidateFunction } {
  const { Ajv2020 } = require("ajv/dist/2020.js") as typeof import("ajv/dist/2020.js");
  const ajv = new Ajv2020({ allErrors: true, verbose: true, discriminator: true, strict: true, validateSchema: checkSchema, ...(source ? { code: { source: true } } : {}) });
  // ajv-formats is CommonJS: its default export arrives wrapped or not depending on the loader.
  const mod = require("ajv-formats") as FormatsPlugin & { default?: FormatsPlugin };
  (mod.default ?? mod)(ajv, ["email", "uri"]);
  return { ajv, validate: ajv.compile(JSON.parse(schemaText) as object) };
}

/** Build step: writes the standalone validator for `schemaText` to `file` (default: beside this module). */
export function writeStandalone(schemaText: string, file = STANDALONE): void {
  const { ajv, validate } = compile(schemaText, true, true);
  const standalone = require("ajv/dist/standalone") as { default: (ajv: Ajv2020Class, v: ValidateFunction) => string };
  const code = standalone.default(ajv, validate);
  writeFileSync(file, `${code}\nmodule.exports.schemaDigest = ${JSON.stringify(schemaDigest(schemaText))};\n`);
}

// `node dist/src/spec/validator.js --write` (npm run build): the standalone file for schema/.
if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1]) && process.argv.includes("--write")) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
  writeStandalone(readFileSync(path.join(root, "schema", "backup.schema.json"), "utf8"));
}
