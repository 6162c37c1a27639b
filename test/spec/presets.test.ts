import { describe, expect, it } from "vitest";
import { expandComponents } from "../../src/spec/presets.js";

describe("preset open-webui", () => {
  it("expands to the five Open WebUI paths, cache and audit.log disabled", () => {
    const { components, issues } = expandComponents("open-webui");
    expect(issues).toEqual([]);
    expect(Object.values(components).map((c) => [c.name, c.kind, c.path, c.enabled, c.consistency])).toEqual([
      ["webui.db", "sqlite", "webui.db", true, "hot"],
      ["vector_db", "chroma", "vector_db", true, "hot"],
      ["uploads", "files", "uploads", true, "hot"],
      ["cache", "files", "cache", false, "hot"],
      ["audit.log", "files", "audit.log", false, "hot"],
    ]);
  });

  it("overrides field by field and keeps the rest", () => {
    const { components } = expandComponents("open-webui", {
      "audit.log": { enabled: true },
      uploads: { exclude: ["**/*.tmp"], consistency: "cold" },
    });
    expect(components["audit.log"]).toEqual({ name: "audit.log", kind: "files", path: "audit.log", include: [], exclude: [], consistency: "hot", enabled: true });
    expect(components.uploads).toEqual({ name: "uploads", kind: "files", path: "uploads", include: [], exclude: ["**/*.tmp"], consistency: "cold", enabled: true });
    expect(components["webui.db"]?.kind).toBe("sqlite");
  });

  it("adds extra components after the preset's, path defaulting to the name", () => {
    const { components } = expandComponents("open-webui", { "static/branding": { kind: "files" } });
    expect(Object.keys(components)).toEqual(["webui.db", "vector_db", "uploads", "cache", "audit.log", "static/branding"]);
    expect(components["static/branding"]?.path).toBe("static/branding");
  });

  it("without a preset, components are exactly those listed", () => {
    const { components } = expandComponents(undefined, { db: { kind: "sqlite", path: "./data/app.db/" } });
    expect(components).toEqual({ db: { name: "db", kind: "sqlite", path: "data/app.db", include: [], exclude: [], consistency: "hot", enabled: true } });
  });

  it("reports a component without kind and one outside the data directory", () => {
    const { components, issues } = expandComponents(undefined, { a: { path: "a" }, b: { kind: "files", path: "/etc" } });
    expect(components).toEqual({});
    expect(issues.map((i) => [i.component, i.field, i.message])).toEqual([
      ["a", undefined, 'component "a" has no kind'],
      ["b", "path", '"/etc" is outside the data directory'],
    ]);
  });
});
