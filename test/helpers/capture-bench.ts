/**
 * Capture figures, by hand: `node --import tsx test/helpers/capture-bench.ts [WORKDIR]`.
 *   1. a 200 MiB webui.db captured while a writer process commits a row every 2 ms;
 *   2. a walk of 100 000 small files in 100 folders.
 * WORKDIR (default: a new temp folder) is removed afterwards unless KEEP=1.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { generateOpenWebUi } from "../../src/demo/generate.js";
import { captureSqlite, type SqliteCaptureStats } from "../../src/capture/sqlite.js";
import { walkFiles } from "../../src/capture/files.js";
import { startWriter } from "./capture-writer.js";

const work = process.argv[2] ?? (await mkdtemp(path.join(os.tmpdir(), "backplan-capture-bench-")));
await mkdir(work, { recursive: true });
const ms = (t0: number) => Math.round(performance.now() - t0);

try {
  let t0 = performance.now();
  const data = path.join(work, "data");
  const summary = await generateOpenWebUi(data, { seed: 1, scale: 0.1, dbMiB: 200 });
  console.log(`generated webui.db ${(summary.bytes.webuiDb / 2 ** 20).toFixed(0)} MiB in ${ms(t0)} ms`);

  const writer = await startWriter(summary.paths.webuiDb, { intervalMs: 2 });
  await new Promise((r) => setTimeout(r, 200));
  let stats: SqliteCaptureStats | undefined;
  t0 = performance.now();
  await captureSqlite(summary.paths.webuiDb, "webui.db", path.join(work, "staged.db"), { onStats: (s) => (stats = s) });
  const captureMs = ms(t0);
  const alive = writer.alive();
  const last = await writer.stop();
  const copy = new Database(path.join(work, "staged.db"), { readonly: true });
  const got = copy.prepare("SELECT count(*) AS c, max(n) AS m FROM seq").get() as { c: number; m: number };
  copy.close();
  console.log(
    `sqlite capture with a busy writer: ${captureMs} ms (copy ${Math.round(stats!.copyMs)} ms, integrity_check ${Math.round(stats!.integrityMs)} ms, ` +
      `${stats!.pages} pages, ${(stats!.bytes / 2 ** 20).toFixed(0)} MiB read); writer alive after: ${alive}; rows 1..${got.m} (${got.c}) of ${last} committed`,
  );

  t0 = performance.now();
  const tree = path.join(work, "tree");
  for (let d = 0; d < 100; d++) {
    const dir = path.join(tree, `d${d}`);
    await mkdir(dir, { recursive: true });
    await Promise.all(Array.from({ length: 1000 }, (_, f) => writeFile(path.join(dir, `f${f}.txt`), `file ${d}/${f}\n`)));
  }
  console.log(`made 100 000 files in ${ms(t0)} ms`);
  for (let run = 1; run <= 3; run++) {
    t0 = performance.now();
    const r = await walkFiles(work, "tree");
    console.log(`walk ${run}: ${r.entries.length} entries in ${ms(t0)} ms`);
  }
} finally {
  if (process.env.KEEP !== "1") await rm(work, { recursive: true, force: true });
}
