/**
 * `npm run build` bundles the pure-JavaScript packages every command loads at start-up, each
 * into one file over its re-export in dist/src/vendor/ (node dist/src/vendor/bundle.js). Node's
 * loader pays per file for resolving, reading package.json scopes and compiling: `yaml` is 72
 * CommonJS files and took 35-45 ms to import, 13-18 ms as one file; `backplan validate` went
 * from 0.14-0.20 s to 0.11-0.14 s with yaml and commander bundled. Only those two: the rest load
 * lazily or are native (better-sqlite3), and each bundle is a copy of the package that `npm
 * audit` no longer sees in place, rebuilt from node_modules by every build.
 *
 * Without esbuild (a production install) the plain re-exports stay, which work the same.
 */
import { readFile, rename, rm } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const VENDORED = ["yaml", "commander"] as const;

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
}
