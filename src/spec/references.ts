/**
 * Fields that hold secrets (passphrase, S3 keys) or may carry one (webhook and SMTP URLs): a
 * reference is checked for resolvability; an inline secret is refused with the fix. No message
 * here repeats the value.
 */
import { UserError } from "../errors.js";
import type { Segment } from "./names.js";
import type { Report } from "./report.js";
import { malformedRef, parseSecretRef } from "./secrets.js";
import type { SecretRef } from "./types.js";

export interface RefEnv {
  dir: string;
  /** Resolves a reference, throwing a UserError naming what is missing; the value is discarded. */
  resolve(ref: SecretRef): unknown;
}

/** A field that must be a reference. `envName` is the variable the hint suggests. */
export function secretField(r: Report, env: RefEnv, value: unknown, at: Segment[], what: string, envName: string): SecretRef | undefined {
  if (typeof value !== "string") return undefined;
  const ref = parseSecretRef(value, env.dir);
  if (ref) return checkResolvable(r, env, ref, at);
  const bad = malformedRef(value);
  if (bad) r.error(at, bad, `write \${env:${envName}} or \${file:PATH}`);
  else r.error(at, `${what} is written inline in the spec`, `secrets never go in backup.yaml: write "\${env:${envName}}" and export ${envName}, or "\${file:PATH}" naming a file that holds it`);
  return undefined;
}

/** A URL, inline only when it carries no credential, else a reference. */
export function urlOrRef(r: Report, env: RefEnv, value: unknown, at: Segment[], what: "webhook" | "smtp"): SecretRef | string | undefined {
  if (typeof value !== "string") return undefined;
  const envName = what === "webhook" ? "HOOK_URL" : "SMTP_URL";
  const ref = parseSecretRef(value, env.dir);
  if (ref) return checkResolvable(r, env, ref, at);
  const bad = malformedRef(value);
  if (bad) return void r.error(at, bad, `write \${env:${envName}} or \${file:PATH}`);
  if (!URL.canParse(value)) {
    const example = what === "webhook" ? 'https://… or a reference such as "${env:HOOK_URL}"' : 'smtp://host:587 or a reference such as "${env:SMTP_URL}"';
    return void r.error(at, "is not a URL", `write ${example}`);
  }
  const url = new URL(value);
  const schemes = what === "webhook" ? ["http:", "https:"] : ["smtp:", "smtps:"];
  if (!schemes.includes(url.protocol)) return void r.error(at, `a ${what} URL must start with ${schemes.map((s) => `${s}//`).join(" or ")}`);
  const moveIt = `keep it out of backup.yaml: export ${envName}=<the URL> and write "\${env:${envName}}"`;
  if (url.password || (what === "webhook" && url.username)) return void r.error(at, `the ${what} URL carries a password`, moveIt);
  if (what === "webhook") {
    const param = [...url.searchParams.keys()].find((k) => /token|key|secret|sig|pass|auth|code/i.test(k));
    if (param) return void r.error(at, `the webhook URL carries a secret in its "${param}" parameter`, moveIt);
    // Slack, Discord, Teams, Telegram and most others put the token in a long path segment.
    const looksLikeToken = (s: string) => /^[A-Za-z0-9_:.-]{20,}$/.test(s) && /\d/.test(s) && /[A-Za-z]/.test(s);
    if (url.pathname.split("/").some(looksLikeToken)) return void r.error(at, "the webhook URL looks like it carries a token in its path", moveIt);
  }
  return value;
}

function checkResolvable(r: Report, env: RefEnv, ref: SecretRef, at: Segment[]): SecretRef {
  try {
    env.resolve(ref);
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    r.missing(at, err.message, err.hint);
  }
  return ref;
}
