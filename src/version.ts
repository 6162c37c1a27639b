import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The package root, found by walking up from this file (works from src/ under vitest and from dist/). */
export const packageRoot: string = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, "package.json"))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error("backplan: package.json not found above " + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
})();

export const version: string = (JSON.parse(readFileSync(path.join(packageRoot, "package.json"), "utf8")) as { version: string }).version;

/** Recorded in every manifest. */
export const toolVersion = `backplan ${version}`;
