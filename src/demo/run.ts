/**
 * `npm start`: the main job on the bundled demo. Generates (once) a realistic Open WebUI data
 * directory under demo/, then runs the repository's backup.yaml exactly as a user would:
 * validate, plan, apply --auto-approve, status — each as a real `backplan` process.
 */
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { packageRoot } from "../version.js";
import { generateOpenWebUi, writePassphrase } from "./generate.js";

const demoDir = path.join(packageRoot, "demo");
const dataDir = path.join(demoDir, "open-webui");
const cli = path.join(packageRoot, "dist", "cli", "main.js");

async function main(): Promise<number> {
  if (!existsSync(dataDir)) {
    process.stderr.write(`demo: generating an Open WebUI data directory in ${path.relative(process.cwd(), dataDir)}\n`);
    const summary = await generateOpenWebUi(dataDir, { seed: 42 });
    process.stderr.write(`demo: ${JSON.stringify(summaryLine(summary))}\n`);
  }
  // The stand-in for a mounted NAS and an off-site disk: a local target's folder is created only
  // when its parent exists, so an unmounted NAS never fills the local disk.
  mkdirSync(path.join(demoDir, "targets"), { recursive: true });
  const passphrase = path.join(demoDir, "passphrase");
  if (!existsSync(passphrase)) await writePassphrase(passphrase);

  const steps: string[][] = [["validate"], ["plan"], ["apply", "--auto-approve"], ["status"]];
  for (const args of steps) {
    process.stderr.write(`\n$ backplan ${args.join(" ")}\n`);
    const r = spawnSync(process.execPath, [cli, ...args], { cwd: packageRoot, stdio: "inherit" });
    // status exits 2 when something is stale: that is information, not a demo failure.
    if (r.status !== 0 && !(args[0] === "status" && r.status === 2)) return r.status ?? 1;
  }
  process.stderr.write(
    "\ndemo: done. Try `npx backplan snapshots`, `npx backplan restore openwebui --to /tmp/restored`, `npx backplan verify`,\n" +
      "      or `BACKPLAN_NOW=2030-01-01T02:00:00Z npx backplan plan` to see what a later run would do.\n",
  );
  return 0;
}

function summaryLine(summary: unknown): unknown {
  if (summary && typeof summary === "object") {
    const { walOnlyRowIds: _w, ...rest } = summary as Record<string, unknown>;
    return rest;
  }
  return summary;
}

main().then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    process.stderr.write(`demo: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
