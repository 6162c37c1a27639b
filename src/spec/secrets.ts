/**
 * Secrets live outside the spec: `${env:NAME}` or `${file:PATH}`. The spec, plans, the catalog and
 * logs only ever hold the reference; resolveSecret() is called at apply time. No message built here
 * contains a secret's value.
 */
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { UserError, errorMessage } from "../errors.js";
import type { SecretRef } from "./types.js";

const REF = /^\$\{(env|file):([^}]*)\}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A reference, or undefined when `text` is not one. `${file:…}` paths resolve against baseDir. */
export function parseSecretRef(text: string, baseDir: string = process.cwd()): SecretRef | undefined {
  const m = REF.exec(text.trim());
  if (!m) return undefined;
  const [, kind, rawName = ""] = m;
  const name = rawName.trim();
  if (kind === "env") return ENV_NAME.test(name) ? { ref: text.trim(), kind: "env", name } : undefined;
  if (!name) return undefined;
  const expanded = name === "~" || name.startsWith("~/") ? path.join(os.homedir(), name.slice(1)) : name;
  return { ref: text.trim(), kind: "file", name: path.resolve(baseDir, expanded) };
}

export function isSecretRef(text: unknown): text is string {
  return typeof text === "string" && parseSecretRef(text) !== undefined;
}

/**
 * Why `text` looks like a reference but is not one (`$HOOK_URL`, `${ENV:X}`, `${env:}`), or
 * undefined. Lets the loader say "malformed reference" rather than "secret written inline". The
 * text itself is never echoed: it may be a secret that happens to start with "$".
 */
export function malformedRef(text: string): string | undefined {
  const t = text.trim();
  if (parseSecretRef(t)) return undefined;
  const m = /^\$\{([^:}]*):([^}]*)\}$/.exec(t);
  if (m?.[1] === "env") return "is not a valid reference: an environment variable name is letters, digits and _";
  if (m?.[1] === "file") return "is not a valid reference: it names no file";
  if (m || t.startsWith("${")) return "is not a valid reference: only ${env:NAME} and ${file:PATH} are understood";
  if (/^\$[A-Z_][A-Z0-9_]*$/.test(t)) return "looks like a shell variable, which backplan does not expand";
  return undefined;
}

/** The secret's value. Throws a UserError naming the variable or file, never the value. */
export function resolveSecret(ref: SecretRef): string {
  if (ref.kind === "env") {
    const value = process.env[ref.name];
    if (value === undefined) {
      throw new UserError(`environment variable ${ref.name} is not set (${ref.ref} in the spec)`, {
        hint: `export ${ref.name}=... before running backplan, or point the spec at a file with \${file:PATH}`,
      });
    }
    if (value === "") {
      throw new UserError(`environment variable ${ref.name} is empty (${ref.ref} in the spec)`, {
        hint: `set ${ref.name} to the secret before running backplan`,
      });
    }
    return value;
  }
  let text: string;
  try {
    text = readFileSync(ref.name, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT" ? "does not exist" : code === "EACCES" ? "is not readable by this user" : code === "EISDIR" ? "is a folder, not a file" : errorMessage(err);
    throw new UserError(`secret file ${ref.name} ${why} (${ref.ref} in the spec)`, {
      hint: "create the file holding only the secret (chmod 600), or fix the path in the spec",
    });
  }
  const value = text.replace(/\r?\n$/, "");
  if (value === "") {
    throw new UserError(`secret file ${ref.name} is empty (${ref.ref} in the spec)`, {
      hint: "write the secret into the file, on one line",
    });
  }
  return value;
}
