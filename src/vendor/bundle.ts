/**
 * `npm run build` bundles what every command loads at start-up (node dist/src/vendor/bundle.js).
 * Node's loader pays per file for resolving, reading package.json scopes and compiling.
 *
 * 1. The pure-JavaScript packages, each into one file over its re-export in dist/src/vendor/:
 *    `yaml` is 72 CommonJS files and took 35-45 ms to import, 13-18 ms as one file; `backplan
 *    validate` went from 0.14-0.20 s to 0.11-0.14 s with yaml and commander bundled. Each bundle
 *    is a copy of the package that `npm audit` no longer sees in place, rebuilt by every build.
 * 2. The CLI itself, into dist/cli/ (the package's bin): main.js, the worker threads' entries,
 *    and chunks shared between them and the lazily imported commands, all in one flat folder so
 *    that `new URL("./decoder-worker.js", import.meta.url)` finds a worker from any chunk, as it
 *    does beside its caller in dist/src/. Node packages stay external. Its ~100 modules as ~45
 *    files: a no-change apply 6% faster (10 alternated runs, median 0.53 -> 0.49 s).
 *
 * Without esbuild (a production install) the plain re-exports stay, which work the same, and
 * dist/cli/main.js only imports dist/src/cli/main.js.
 */
import { chmod, copyFile, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const VENDORED = ["yaml", "commander", "picomatch"] as const;

/** Bundles `dir`/<name>`ext` into `dir`/<name>.js for each vendored package; returns the files written. */
export async function bundleVendor(dir: string, ext = ".js"): Promise<string[]> {
  const { build } = await import("esbuild");
  const written: string[] = [];
  for (const name of VENDORED) {
    const file = path.join(dir, `${name}.js`);
    const tmp = `${file}.tmp`;
    await build({
      entryPoints: [path.join(dir, `${name}${ext}`)],
      outfile: tmp,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      minifyWhitespace: true,
      minifySyntax: true,
      legalComments: "inline",
      // The packages are CommonJS: their require() of Node's built-ins needs a real require.
      banner: { js: "import { createRequire as __backplanRequire } from 'node:module'; const require = __backplanRequire(import.meta.url);" },
      logLevel: "warning",
    });
    await rename(tmp, file);
    await rm(`${file}.map`, { force: true }); // tsc's map is of the re-export, not of this
    written.push(file);
  }
  return written;
}

/** The CLI's entry points, relative to dist/src; each is written to dist/cli/<its name>. */
export const CLI_ENTRIES = ["cli/main.js", "repo/decoder-worker.js", "repo/compressor-worker.js", "capture/sqlite-copy-worker.js"] as const;
/** Read beside the module that loads it (src/spec/validator.ts), so beside the chunks too. */
const CLI_FILES = ["spec/schema-validator.cjs"] as const;

/** Bundles the built CLI in `distSrc` into `outDir` (see 2. above); returns the files written. */
export async function bundleCli(distSrc: string, outDir: string): Promise<string[]> {
  const { build } = await import("esbuild");
  const tmp = `${outDir}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  const result = await build({
    entryPoints: CLI_ENTRIES.map((e) => path.join(distSrc, e)),
    outdir: tmp,
    entryNames: "[name]",
    chunkNames: "chunk-[hash]",
    bundle: true,
    splitting: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    metafile: true,
    logLevel: "warning",
  });
  for (const f of CLI_FILES) await copyFile(path.join(distSrc, f), path.join(tmp, path.basename(f)));
  await chmod(path.join(tmp, "main.js"), 0o755);
  await rm(outDir, { recursive: true, force: true });
  await rename(tmp, outDir);
  return Object.keys(result.metafile.outputs).map((o) => path.join(outDir, path.basename(o)));
}

/** Without esbuild: the bin only imports the unbundled CLI. */
async function cliReExport(outDir: string): Promise<void> {
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const main = path.join(outDir, "main.js");
  await writeFile(main, '#!/usr/bin/env node\nimport "../src/cli/main.js";\n');
  await chmod(main, 0o755);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = path.dirname(fileURLToPath(import.meta.url));
  try {
    const files = await bundleVendor(dir);
    const kib = await Promise.all(files.map(async (f) => `${path.basename(f)} ${((await readFile(f)).length / 1024).toFixed(0)} KiB`));
    process.stdout.write(`vendor: bundled ${kib.join(", ")}\n`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ERR_MODULE_NOT_FOUND") throw err;
    process.stdout.write("vendor: esbuild is not installed; yaml and commander load from node_modules\n");
  }
  const distSrc = path.resolve(dir, "..");
  const outDir = path.resolve(distSrc, "..", "cli");
  try {
    const files = await bundleCli(distSrc, outDir);
    process.stdout.write(`cli: bundled into ${path.relative(process.cwd(), outDir)}/ (${files.length} files)\n`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ERR_MODULE_NOT_FOUND") throw err;
    await cliReExport(outDir);
    process.stdout.write("cli: esbuild is not installed; dist/cli/main.js imports dist/src/cli/main.js\n");
  }
}
