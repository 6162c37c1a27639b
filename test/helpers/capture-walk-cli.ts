/**
 * `node --import tsx test/helpers/capture-walk-cli.ts ROOT COMPONENT_PATH` walks like a files
 * component and prints the outcome as JSON; tests run it as another (non-root) user to meet a
 * real EACCES.
 */
import { walkFiles } from "../../src/capture/files.js";
import { UserError } from "../../src/errors.js";

const [root = ".", component = "."] = process.argv.slice(2);
try {
  const r = await walkFiles(root, component);
  process.stdout.write(JSON.stringify({ ok: true, paths: r.entries.map((e) => e.path), warnings: r.warnings }));
} catch (err) {
  const e = err as Error & { hint?: string; cause?: { code?: string } };
  process.stdout.write(
    JSON.stringify({ ok: false, userError: err instanceof UserError, message: e.message, hint: e.hint, code: e.cause?.code }),
  );
}
