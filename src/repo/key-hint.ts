/**
 * Where a key derivation can start before the spec is read. scrypt (~0.1 s on the thread pool)
 * is the longest wait of a no-change apply, and it needs only the passphrase and a key file; but
 * finding those takes the spec (yaml, validation, the targets), ~80 ms after node itself has
 * started. So after an apply `.backplan/key-hint.json` records the spec's reference to the
 * passphrase (`${env:NAME}` or `${file:PATH}`, never its value) and the local key files that
 * opened its repositories; the next process reads it first thing (src/cli/early.ts) and starts
 * those derivations. The real open then finds each one in crypto.ts's per-process cache, which
 * is keyed by every input (passphrase, salt, N, r, p).
 *
 * Nothing read here is trusted: a stale or wrong hint (the spec changed, a key was replaced, the
 * variable holds another passphrase today) costs one derivation nobody uses, ~0.1 s of a pool
 * thread and 32 MiB, never a wrong key, and every error is the real open's to report.
 */
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { resolveSecret } from "../spec/secrets.js";
import type { SecretRef } from "../spec/types.js";
import { deriveKek, type KeyFile } from "./crypto.js";
import type { Repository } from "./repository.js";

export interface KeyHint {
  version: 1;
  passphrase: SecretRef;
  /** Absolute paths of key files (`<local target>/keys/<id>`). */
  keyFiles: string[];
}

/** A spec with more local targets than this is unusual; each derivation costs 32 MiB at once. */
const MAX_KEY_FILES = 4;

export function keyHintFile(specDir: string): string {
  return path.join(specDir, ".backplan", "key-hint.json");
}

/** Starts the hinted derivations for the spec at `configPath`; returns how many. Never throws. */
export function deriveAhead(configPath: string): number {
  let started = 0;
  try {
    const hint = parse(readFileSync(keyHintFile(path.dirname(configPath)), "utf8"));
    if (!hint) return 0;
    const passphrase = resolveSecret(hint.passphrase);
    for (const file of hint.keyFiles) {
      try {
        const deriving = deriveKek(JSON.parse(readFileSync(file, "utf8")) as KeyFile, passphrase);
        deriving?.catch(() => undefined); // the real open awaits it, or nobody does
        if (deriving) started++;
      } catch {
        // gone or unreadable: the open lists keys/ and reports what matters
      }
    }
  } catch {
    // no hint, or its secret cannot be read now: the open reports that, with its own words
  }
  return started;
}

/** Writes the hint when it differs from the one on disk. A failure is ignored: it is only a head start. */
export function rememberKeyHint(specDir: string, passphrase: SecretRef, keyFiles: string[]): void {
  const file = keyHintFile(specDir);
  const hint: KeyHint = { version: 1, passphrase: { ref: passphrase.ref, kind: passphrase.kind, name: passphrase.name }, keyFiles: [...keyFiles].sort().slice(0, MAX_KEY_FILES) };
  const text = JSON.stringify(hint, null, 2) + "\n";
  try {
    if (readFileSync(file, "utf8") === text) return;
  } catch {
    // none yet
  }
  try {
    const tmp = `${file}.tmp-${process.pid}`;
    writeFileSync(tmp, text, { mode: 0o600 });
    renameSync(tmp, file);
  } catch {
    // a read-only state folder: the next run derives after reading the spec, as without a hint
  }
}

/** rememberKeyHint for the unlocked repositories among `repos` that are on local folders. */
export function rememberKeyHintOf(specDir: string, passphrase: SecretRef, repos: Iterable<Repository>): void {
  const files: string[] = [];
  for (const r of repos) if (r.keyObject !== undefined && r.target.localPath) files.push(r.target.localPath(r.keyObject));
  if (files.length > 0) rememberKeyHint(specDir, passphrase, files);
}

function parse(text: string): KeyHint | undefined {
  const h = JSON.parse(text) as Partial<KeyHint> | null;
  const p = h?.passphrase;
  if (h?.version !== 1 || !p || (p.kind !== "env" && p.kind !== "file") || typeof p.name !== "string" || typeof p.ref !== "string") return undefined;
  if (!Array.isArray(h.keyFiles) || !h.keyFiles.every((f) => typeof f === "string" && path.isAbsolute(f))) return undefined;
  return { version: 1, passphrase: { ref: p.ref, kind: p.kind, name: p.name }, keyFiles: h.keyFiles.slice(0, MAX_KEY_FILES) };
}
