/**
 * The first module main.ts imports, so it runs before commander and everything else is evaluated:
 * for a command that unlocks repositories, the key derivations the last apply recorded start now
 * (see src/repo/key-hint.ts), ~80 ms before the spec would name them. A guess from argv, no
 * more: when it is wrong, a derivation goes unused and the command does what it always did.
 */
import path from "node:path";
import { deriveAhead } from "../repo/key-hint.js";

/** Commands that open repositories with the passphrase. */
const UNLOCKING = new Set(["apply", "plan", "restore", "snapshots", "status", "verify"]);
/** Global options that take a value (so it is not mistaken for the command). */
const WITH_VALUE = new Set(["-c", "--config"]);

/** The spec path an unlocking command will read, from argv as commander would read it; else undefined. */
export function unlockingSpec(argv: readonly string[], cwd: string = process.cwd()): string | undefined {
  let config = "backup.yaml";
  let command: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") break;
    if (a.startsWith("--config=")) config = a.slice("--config=".length);
    else if (WITH_VALUE.has(a)) config = argv[++i] ?? config;
    else if (a.startsWith("-c") && a.length > 2) config = a.slice(2);
    else if (!a.startsWith("-")) command ??= a;
  }
  return command && UNLOCKING.has(command) ? path.resolve(cwd, config) : undefined;
}

const spec = unlockingSpec(process.argv.slice(2));
if (spec) deriveAhead(spec);
