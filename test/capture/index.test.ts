import { lstat, mkdir, readdir } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { captureComponent } from "../../src/capture/index.js";
import { generateOpenWebUi, type GenerateSummary } from "../../src/demo/generate.js";
import type { Component } from "../../src/spec/types.js";
import { UserError } from "../../src/errors.js";
import { tempDir } from "../helpers/capture-fixtures.js";

let dir: string;
let cleanup: () => Promise<void>;
let data: string;
let demo: GenerateSummary;
let staging: string;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  data = path.join(dir, "data");
  staging = path.join(dir, "staging");
  demo = await generateOpenWebUi(data, { seed: 11, scale: 0.05 });
});
afterEach(() => cleanup());

const component = (over: Partial<Component> & Pick<Component, "name" | "kind" | "path">): Component => ({
  include: [],
  exclude: [],
  consistency: "hot",
  enabled: true,
  ...over,
});

describe("captureComponent", () => {
  it("captures the demo's five components with paths relative to the instance root", async () => {
    const comps = [
      component({ name: "webui.db", kind: "sqlite", path: "webui.db" }),
      component({ name: "vector_db", kind: "chroma", path: "vector_db", consistency: "cold" }),
      component({ name: "uploads", kind: "files", path: "uploads" }),
      component({ name: "cache", kind: "files", path: "cache" }),
      component({ name: "audit.log", kind: "files", path: "audit.log" }),
    ];
    const results = await Promise.all(comps.map((c) => captureComponent("openwebui", data, c, { stagingDir: staging })));
    const [db, vec, up, cache, audit] = results;

    expect(db!.entries.map((e) => e.path)).toEqual(["webui.db"]);
    expect(db!).toMatchObject({ instance: "openwebui", component: "webui.db", kind: "sqlite", consistency: "hot", warnings: [] });
    expect(db!.entries[0]!.source!.startsWith(staging + path.sep)).toBe(true);
    expect(vec!).toMatchObject({ kind: "chroma", consistency: "cold" });
    expect(vec!.entries[0]!.path).toBe("vector_db");
    expect(up!.entries.map((e) => e.path)).toEqual(expect.arrayContaining(["uploads", "uploads/résumé 2024.pdf", "uploads/日本語.txt", "uploads/empty folder", "uploads/latest.pdf"]));
    expect(up!.entries.filter((e) => e.type === "file")).toHaveLength(demo.counts.uploads + 1); // + the empty file
    expect(cache!.entries[0]!.path).toBe("cache");
    expect(audit!.entries.map((e) => e.path)).toEqual(["audit.log"]);
    for (const r of results) expect(r.finishedAt.getTime()).toBeGreaterThanOrEqual(r.startedAt.getTime());

    // cleanup() removes what the capture staged, and only that; it may be called twice.
    for (const r of results) await r.cleanup();
    await results[0]!.cleanup();
    expect(await readdir(staging)).toEqual([]);
    expect((await lstat(demo.paths.webuiDb)).isFile()).toBe(true);
  });

  it("names a missing component path and how to fix it", async () => {
    const err = await captureComponent("openwebui", data, component({ name: "uploads", kind: "files", path: "uploadz" }), { stagingDir: staging }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe(`component "uploads" of instance "openwebui": ${path.join(data, "uploadz")} does not exist`);
    expect((err as UserError).hint).toMatch(/path: uploadz.*enabled: false/);
  });

  it("leaves no staging files behind when a capture fails", async () => {
    await mkdir(path.join(data, "notdb"));
    await expect(
      captureComponent("openwebui", data, component({ name: "x", kind: "sqlite", path: "notdb" }), { stagingDir: staging }),
    ).rejects.toThrow(UserError);
    expect(await readdir(staging)).toEqual([]);
  });
});
