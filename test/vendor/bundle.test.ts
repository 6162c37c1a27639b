import { copyFile, mkdtemp, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { expect, it } from "vitest";
import { bundleVendor, VENDORED } from "../../src/vendor/bundle.js";
import { packageRoot } from "../../src/version.js";

it("bundles yaml, commander and picomatch into one self-contained file each, which work as the packages do", async () => {
  // Inside the checkout, so the entry files resolve the packages from its node_modules.
  const dir = await mkdtemp(path.join(packageRoot, ".vendor-test-"));
  try {
    for (const name of VENDORED) await copyFile(path.join(packageRoot, "src", "vendor", `${name}.ts`), path.join(dir, `${name}.ts`));
    const files = await bundleVendor(dir, ".ts");
    expect(files.map((f) => path.basename(f))).toEqual(["yaml.js", "commander.js", "picomatch.js"]);
    for (const f of files) expect(await readFile(f, "utf8")).not.toMatch(/(from|require\()\s*["'](yaml|commander|picomatch)["']/);

    const yaml = (await import(pathToFileURL(path.join(dir, "yaml.js")).href)) as typeof import("../../src/vendor/yaml.js");
    const doc = yaml.parseDocument("version: 1\ninstances: { a: { path: /x } }\n", { lineCounter: new yaml.LineCounter() });
    expect(doc.errors).toEqual([]);
    expect(doc.toJS()).toEqual({ version: 1, instances: { a: { path: "/x" } } });
    expect(yaml.isMap(doc.contents)).toBe(true);
    const { Command } = (await import(pathToFileURL(path.join(dir, "commander.js")).href)) as typeof import("../../src/vendor/commander.js");
    let got: string | undefined;
    new Command("t").option("-c, --config <file>").action((o: { config: string }) => void (got = o.config)).parse(["node", "t", "-c", "x.yaml"]);
    expect(got).toBe("x.yaml");
    const { default: picomatch } = (await import(pathToFileURL(path.join(dir, "picomatch.js")).href)) as typeof import("../../src/vendor/picomatch.js");
    const isMatch = picomatch(["cache/**", "*.log"], { dot: true });
    expect(["cache/a/b.bin", "audit.log", "uploads/a.pdf", ".x.log"].map((p) => isMatch(p))).toEqual([true, true, false, true]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
