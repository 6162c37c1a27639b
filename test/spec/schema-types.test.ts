/**
 * The schema and the TypeScript types must not drift. src/spec/fields.ts maps every YAML field to
 * a normalised field and is checked by tsc against raw.ts/types.ts; here the same tables are
 * checked against schema/backup.schema.json, property by property.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import * as F from "../../src/spec/fields.js";
import { compiled } from "../../src/spec/schema.js";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
interface Node { properties?: Record<string, Node>; oneOf?: Node[]; description?: string; $ref?: string; items?: Node; additionalProperties?: unknown }
const schema = JSON.parse(readFileSync(path.join(repo, "schema/backup.schema.json"), "utf8")) as Node & { $defs: Record<string, Node>; $id?: string; $schema?: string };
const def = (name: string) => schema.$defs[name]!;
const props = (n: Node) => Object.keys(n.properties ?? {}).sort();
const keys = (o: object) => Object.keys(o).sort();

describe("schema ↔ types", () => {
  it("is a 2020-12 schema with an $id", () => {
    expect(schema.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    expect(schema.$id).toMatch(/^https:\/\//);
  });

  it("is valid against the 2020-12 meta-schema (commands skip this check at start-up)", () => {
    expect(() => compiled({ checkSchema: true })).not.toThrow();
  });

  it.each([
    ["spec (top level)", schema, F.SPEC_FIELDS],
    ["instance", def("instance"), F.INSTANCE_FIELDS],
    ["component", def("component"), F.COMPONENT_FIELDS],
    ["policy", def("policy"), F.POLICY_FIELDS],
    ["keep", def("keep"), F.KEEP_FIELDS],
    ["notify", def("notify"), F.NOTIFY_FIELDS],
  ] as const)("%s: the schema's properties are exactly the mapped fields", (_name, node, fields) => {
    expect(props(node)).toEqual(keys(fields));
  });

  it("targets: each `type` branch has exactly the mapped fields", () => {
    const branches = def("target").oneOf!;
    const byType = Object.fromEntries(branches.map((b) => [(b.properties!.type as { const: string }).const, props(b)]));
    expect(byType).toEqual({
      local: keys(F.TARGET_FIELDS.local),
      s3: keys(F.TARGET_FIELDS.s3),
      rclone: keys(F.TARGET_FIELDS.rclone),
    });
    expect((def("target").properties!.type as { enum: string[] }).enum).toEqual(["local", "s3", "rclone"]);
  });

  it("every object forbids unknown fields and every property has a description (editors show them)", () => {
    const missing: string[] = [];
    const walk = (n: Node, at: string) => {
      if (n.properties) {
        // A discriminated union closes each branch instead (see $defs.target).
        if (n.additionalProperties !== false && !n.oneOf) missing.push(`${at}: additionalProperties is not false`);
        for (const [k, v] of Object.entries(n.properties)) {
          const target = v.$ref ? def(v.$ref.replace("#/$defs/", "")) : v;
          if (!v.description && !target.description) missing.push(`${at}.${k}: no description`);
          walk(v, `${at}.${k}`);
        }
      }
      for (const b of n.oneOf ?? []) walk(b, at);
      if (n.items) walk(n.items, `${at}[]`);
    };
    walk(schema, "");
    for (const [name, d] of Object.entries(schema.$defs)) walk(d, `$defs.${name}`);
    expect(missing).toEqual([]);
  });
});
