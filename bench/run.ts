/**
 * `npm run bench`: backplan side by side with restic, rsync and cp -r on the same Open WebUI
 * dataset, interleaved and repeated; medians and ratios in bench/results/<date>.md.
 *
 *   node dist/bench/run.js [--tiny] [--repeat N] [--out FILE] [--files N]
 *
 * --tiny is the smoke run `npm test` does so the script never rots; it asserts nothing about time.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { appendFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { RACY_MS } from "../src/capture/types.js";
import { generateOpenWebUi } from "../src/demo/generate.js";
import { packageRoot } from "../src/version.js";

interface Sample {
  wallS: number;
  rssMiB: number;
}
type Phase = "full" | "no-change" | "churn 1%" | "restore";
const PHASES: Phase[] = ["full", "no-change", "churn 1%", "restore"];

const args = process.argv.slice(2);
const tiny = args.includes("--tiny");
const repeat = Number(valueOf("--repeat") ?? (tiny ? 1 : 3));
const manyFiles = Number(valueOf("--files") ?? (tiny ? 500 : 100_000));
const outFile = valueOf("--out") ?? path.join(packageRoot, "bench", "results", `${new Date().toISOString().slice(0, 10)}.md`);
const cli = path.join(packageRoot, "dist", "cli", "main.js");
const PASS = "bench-passphrase-not-secret";
const haveTime = existsSync("/usr/bin/time");

function valueOf(flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

function has(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
}

/** Runs a command, returning wall time and peak RSS (GNU time), failing loudly on error. */
function measure(cmd: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Sample {
  // Untimed: the previous run's dirty pages are written out first, so no run pays for the
  // writeback of another tool's files (a restore after `cp -r` wrote 1 GiB: 2.8 s first in its
  // round, 3.9 s right after cp; docs/performance.md, tenth pass).
  spawnSync("sync");
  const env = { ...process.env, ...opts.env };
  const full = haveTime ? ["/usr/bin/time", "-f", "BENCH %e %M", ...cmd] : cmd;
  const t0 = process.hrtime.bigint();
  const r = spawnSync(full[0]!, full.slice(1), { cwd: opts.cwd, env, encoding: "utf8", maxBuffer: 64 << 20 });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd.join(" ")} failed (${r.status}):\n${r.stderr.slice(-2000)}`);
  const m = /BENCH ([\d.]+) (\d+)/.exec(r.stderr ?? "");
  return { wallS: m ? Number(m[1]) : wall, rssMiB: m ? Number(m[2]) / 1024 : NaN };
}

/** Runs the present tools' runs, starting with the round's turn: round 0 backplan first, round 1 the next tool, … */
function inTurn(round: number, runs: (false | (() => void))[]): void {
  const present = runs.filter((r): r is () => void => r !== false);
  for (let i = 0; i < present.length; i++) present[(round + i) % present.length]!();
}

function median(xs: number[]): number {
  const s = [...xs].filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function churn(data: string, round: number): Promise<void> {
  // 1% churn: change rows of webui.db (through SQLite, as the app would) and add 20 uploads.
  const db = new Database(path.join(data, "webui.db"));
  const n = (db.prepare("SELECT count(*) AS n FROM chat").get() as { n: number }).n;
  db.prepare("UPDATE chat SET title = title || ' (edited)', updated_at = updated_at + 1 WHERE rowid % 100 = ?").run(round % 100);
  db.close();
  void n;
  const dir = path.join(data, "uploads", `bench-round-${round}`);
  await mkdir(dir, { recursive: true });
  for (let i = 0; i < 20; i++) await writeFile(path.join(dir, `new-${i}.bin`), Buffer.alloc(64 * 1024 + i * 1000, (round * 31 + i) & 0xff));
}

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(os.tmpdir(), "backplan-bench-"));
  const peers = { restic: has("restic"), rsync: has("rsync"), cp: has("cp") };
  const missing = Object.entries(peers).filter(([, ok]) => !ok).map(([k]) => k);
  const results: Record<string, Record<Phase, Sample[]>> = {};
  const record = (tool: string, phase: Phase, s: Sample) => {
    ((results[tool] ??= { full: [], "no-change": [], "churn 1%": [], restore: [] })[phase]).push(s);
    process.stderr.write(`  ${tool.padEnd(9)} ${phase.padEnd(10)} ${s.wallS.toFixed(2)} s  ${s.rssMiB.toFixed(0)} MiB\n`);
  };
  try {
    const data = path.join(work, "data");
    process.stderr.write(`bench: generating the dataset in ${data}\n`);
    const gen = await generateOpenWebUi(data, tiny ? { seed: 1, scale: 0.2 } : { seed: 1, scale: 2.6, uploads: 2000, dbMiB: 200 });
    // A database written within RACY_MS of a capture's start is copied again by the next capture
    // (a commit in that same mtime tick would look unchanged). A freshly generated dataset would
    // make round 1's `no-change` measure that re-copy, not what a scheduled run sees.
    if (!tiny) await new Promise((r) => setTimeout(r, RACY_MS + 100));
    const totalMiB = gen.bytes.total / 2 ** 20;
    process.stderr.write(`bench: ${totalMiB.toFixed(0)} MiB in ${gen.counts.files} files; ${repeat} round(s)\n`);

    for (let round = 0; round < repeat; round++) {
      const r = path.join(work, `round-${round}`);
      await mkdir(r, { recursive: true });
      const spec = path.join(r, "backup.yaml");
      await writeFile(spec, specText(data, path.join(r, "bp-target")));
      const bpEnv = (day: number) => ({ BACKPLAN_PASSPHRASE: PASS, BACKPLAN_NOW: new Date(Date.UTC(2026, 0, 1 + day, 2)).toISOString() });
      const bp = (day: number) => measure([process.execPath, cli, "-c", spec, "apply", "--auto-approve"], { env: bpEnv(day) });
      const restic = (sub: string[]) => measure(["restic", "-r", path.join(r, "restic-repo"), "--no-cache", ...sub], { env: { RESTIC_PASSWORD: PASS } });
      const rsync = () => measure(["rsync", "-a", "--delete", data + "/", path.join(r, "rsync-copy") + "/"]);
      const cp = (dest: string) => measure(["cp", "-r", data, dest]);

      if (peers.restic) spawnSync("restic", ["-r", path.join(r, "restic-repo"), "init", "-q"], { env: { ...process.env, RESTIC_PASSWORD: PASS } });
      // Interleaved: each phase runs every tool back to back on the same state of the data, in an
      // order that turns with the round. On these VMs the first tool to write after a pause (or
      // after the last round's folders were deleted) writes into guest memory the host has to back
      // again, ~10x slower per byte (docs/performance.md, ninth pass); a fixed order charged that
      // to backplan, which always went first.
      const phase = (runs: (false | (() => void))[]) => inTurn(round, runs);
      phase([
        () => record("backplan", "full", bp(0)),
        peers.restic && (() => record("restic", "full", restic(["backup", "-q", data]))),
        peers.rsync && (() => record("rsync", "full", rsync())),
        peers.cp && (() => record("cp -r", "full", cp(path.join(r, "cp-copy-1")))),
      ]);
      phase([
        () => record("backplan", "no-change", bp(1)),
        peers.restic && (() => record("restic", "no-change", restic(["backup", "-q", data]))),
        peers.rsync && (() => record("rsync", "no-change", rsync())),
      ]);

      await churn(data, round);
      phase([
        () => record("backplan", "churn 1%", bp(2)),
        peers.restic && (() => record("restic", "churn 1%", restic(["backup", "-q", data]))),
        peers.rsync && (() => record("rsync", "churn 1%", rsync())),
      ]);

      phase([
        () => record("backplan", "restore", measure([process.execPath, cli, "-c", spec, "restore", "openwebui", "--to", path.join(r, "bp-restore")], { env: bpEnv(2) })),
        peers.restic && (() => record("restic", "restore", restic(["restore", "latest", "--target", path.join(r, "restic-restore")]))),
        peers.cp && (() => record("cp -r", "restore", cp(path.join(r, "cp-copy-2")))),
      ]);
      await rm(r, { recursive: true, force: true });
    }

    const planRow = await planManyFiles(work, manyFiles);
    await mkdir(path.dirname(outFile), { recursive: true });
    await writeFile(outFile, report(results, { totalMiB, files: gen.counts.files, missing, planRow }));
    process.stderr.write(`bench: wrote ${outFile}\n`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function specText(data: string, target: string): string {
  return `version: 1
instances:
  openwebui: { preset: open-webui, path: ${JSON.stringify(data)} }
targets:
  local: { type: local, path: ${JSON.stringify(target)} }
encryption: { passphrase: "\${env:BACKPLAN_PASSPHRASE}" }
policies:
  - { target: local, every: daily, keep: { last: 10 } }
`;
}

/** `backplan plan` with nothing to do on an instance of many small files. */
async function planManyFiles(work: string, count: number): Promise<{ files: number; plan: Sample; apply: Sample }> {
  const root = path.join(work, "many");
  const files = path.join(root, "data", "files");
  for (let d = 0; d < Math.ceil(count / 1000); d++) {
    const dir = path.join(files, `d${d}`);
    await mkdir(dir, { recursive: true });
    for (let i = 0; i < Math.min(1000, count - d * 1000); i++) await writeFile(path.join(dir, `f${i}.txt`), `file ${d}/${i}\n`);
  }
  const spec = path.join(root, "backup.yaml");
  await writeFile(spec, `version: 1
instances:
  many: { path: ${JSON.stringify(path.join(root, "data"))}, components: { files: { kind: files } } }
targets:
  local: { type: local, path: ${JSON.stringify(path.join(root, "target"))} }
policies:
  - { target: local, every: daily, keep: { last: 3 } }
`);
  const env = { BACKPLAN_NOW: "2026-01-01T02:00:00Z" };
  const apply = measure([process.execPath, cli, "-c", spec, "apply", "--auto-approve"], { env });
  const plan = measure([process.execPath, cli, "-c", spec, "plan"], { env: { BACKPLAN_NOW: "2026-01-01T03:00:00Z" } });
  process.stderr.write(`  plan of ${count} files with nothing to do: ${plan.wallS.toFixed(2)} s, ${plan.rssMiB.toFixed(0)} MiB\n`);
  await appendFile("/dev/null", "");
  return { files: count, plan, apply };
}

function report(
  results: Record<string, Record<Phase, Sample[]>>,
  info: { totalMiB: number; files: number; missing: string[]; planRow: { files: number; plan: Sample; apply: Sample } },
): string {
  const bp = results.backplan!;
  const lines = [
    `# backplan benchmark, ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC`,
    "",
    `Dataset: Open WebUI layout, ${info.totalMiB.toFixed(0)} MiB in ${info.files} files; ${repeat} interleaved round(s), medians; within each phase the tools take turns going first (round 1: backplan, round 2: the next tool, …); every run starts after an untimed \`sync\`.`,
    `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}.`,
    info.missing.length ? `Missing peers (not measured): ${info.missing.join(", ")}.` : "All peers present.",
    "",
    "| phase | tool | wall (s) | peak RSS (MiB) | backplan / tool | per-round ratios (median) |",
    "|---|---|---:|---:|---:|---:|",
  ];
  for (const phase of PHASES) {
    for (const [tool, phases] of Object.entries(results)) {
      const xs = phases[phase];
      if (!xs.length) continue;
      const wall = median(xs.map((s) => s.wallS));
      const rss = median(xs.map((s) => s.rssMiB));
      const mine = median(bp[phase].map((s) => s.wallS));
      const ratio = tool === "backplan" ? "" : wall >= 0.01 ? (mine / wall).toFixed(2) + "×" : "n/a (too fast to time)";
      // Each round runs the tools back to back: its ratio is immune to the machine's load drifting between rounds.
      const rounds = tool === "backplan" || wall < 0.01 ? [] : xs.map((s, i) => bp[phase][i]!.wallS / s.wallS);
      const perRound = rounds.length ? `${rounds.map((r) => r.toFixed(2)).join(" · ")} (${median(rounds).toFixed(2)}×)` : "";
      lines.push(`| ${phase} | ${tool} | ${wall.toFixed(2)} | ${Number.isNaN(rss) ? "n/a" : rss.toFixed(0)} | ${ratio} | ${perRound} |`);
    }
  }
  lines.push(
    "",
    `No-change \`backplan plan\` on ${info.planRow.files} small files: ${info.planRow.plan.wallS.toFixed(2)} s, ${info.planRow.plan.rssMiB.toFixed(0)} MiB peak` +
      ` (first apply of them: ${info.planRow.apply.wallS.toFixed(2)} s, ${info.planRow.apply.rssMiB.toFixed(0)} MiB).`,
    "",
    "backplan runs with encryption on (as restic always does); `no-change` and `churn` are new snapshots of the same series on the next day.",
    `The generated dataset rests ${((RACY_MS + 100) / 1000).toFixed(1)} s before the first run: backplan copies a SQLite database written within ${RACY_MS / 1000} s of the previous capture's start again (the racy-timestamp rule), which a scheduled run never meets.`,
    "",
  );
  return lines.join("\n");
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
