/**
 * Presets: application layouts backplan knows. An instance's `components` map overrides a preset
 * component field by field and may add components of its own. Pure: no I/O.
 */
import path from "node:path";
import type { RawComponent } from "./raw.js";
import type { Component } from "./types.js";

type PresetComponent = Omit<Component, "name">;

const files = (p: string, enabled = true): PresetComponent => ({ kind: "files", path: p, include: [], exclude: [], consistency: "hot", enabled });

/** DESIGN.md, "An Open WebUI data directory". */
export const PRESETS: Record<string, Record<string, PresetComponent>> = {
  "open-webui": {
    "webui.db": { kind: "sqlite", path: "webui.db", include: [], exclude: [], consistency: "hot", enabled: true },
    vector_db: { kind: "chroma", path: "vector_db", include: [], exclude: [], consistency: "hot", enabled: true },
    uploads: files("uploads"),
    cache: files("cache", false),
    "audit.log": files("audit.log", false),
  },
};

/** A problem with one component, addressed by its name and (optionally) field. */
export interface ComponentIssue {
  component: string;
  field?: keyof RawComponent;
  message: string;
  hint?: string;
}

export function expandComponents(
  preset: string | undefined,
  overrides: Record<string, RawComponent> = {},
): { components: Record<string, Component>; issues: ComponentIssue[] } {
  const base = preset !== undefined ? (PRESETS[preset] ?? {}) : {};
  const components: Record<string, Component> = {};
  const issues: ComponentIssue[] = [];
  const names = [...Object.keys(base), ...Object.keys(overrides).filter((n) => !(n in base))];
  for (const name of names) {
    const b = base[name];
    const o = overrides[name] ?? {};
    const kind = o.kind ?? b?.kind;
    if (kind === undefined) {
      issues.push({
        component: name,
        message: `component "${name}" has no kind`,
        hint: preset ? `"${name}" is not part of the ${preset} preset: add kind: sqlite, chroma or files` : "add kind: sqlite, chroma or files",
      });
      continue;
    }
    const rel = o.path ?? b?.path ?? name;
    const clean = path.posix.normalize(rel.replaceAll("\\", "/")).replace(/\/+$/, "");
    if (path.posix.isAbsolute(clean) || clean === ".." || clean.startsWith("../")) {
      issues.push({
        component: name,
        field: "path",
        message: `"${rel}" is outside the data directory`,
        hint: "component paths are relative to the instance's path or volume, e.g. uploads or webui.db",
      });
      continue;
    }
    components[name] = {
      name,
      kind,
      path: clean,
      include: o.include ?? b?.include ?? [],
      exclude: o.exclude ?? b?.exclude ?? [],
      consistency: o.consistency ?? b?.consistency ?? "hot",
      enabled: o.enabled ?? b?.enabled ?? true,
    };
  }
  return { components, issues };
}
