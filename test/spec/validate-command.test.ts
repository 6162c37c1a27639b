import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SpecError } from "../../src/errors.js";
import type { CommandContext } from "../../src/cli/context.js";
import { run } from "../../src/cli/commands/validate.js";
import { cleanupSpecDirs, specDir, yaml } from "./helpers.js";

afterAll(cleanupSpecDirs);

function ctxFor(configPath: string) {
  const out = { stdout: "", stderr: "" };
  const ctx: CommandContext = {
    configPath,
    debug: false,
    now: () => new Date("2026-11-22T02:00:00Z"),
    stdout: (s) => void (out.stdout += s),
    stderr: (s) => void (out.stderr += s),
    isTTY: false,
  };
  return { ctx, out };
}

const text = yaml(
  "version: 1",
  "instances:",
  "  app: { preset: open-webui, path: ./data }",
  "targets:",
  "  nas: { type: local, path: ./nas }",
  "  usb: { type: local, path: ./usb }",
  "encryption: { passphrase: \"${file:./pass}\" }",
  "policies:",
  "  - { targets: [nas, usb], every: daily, keep: { daily: 7 } }",
);

describe("backplan validate", () => {
  it("prints a one-line summary on stdout", async () => {
    const dir = specDir({ "backup.yaml": text, pass: "p\n" });
    const { ctx, out } = ctxFor(path.join(dir, "backup.yaml"));
    expect(await run(ctx, {})).toBe(0);
    expect(out).toEqual({ stdout: "backup.yaml is valid: 1 instance, 2 targets, 6 series\n", stderr: "" });
  });

  it("prints warnings located, still valid; --strict refuses them", async () => {
    const dir = specDir({ "backup.yaml": text });
    const { ctx, out } = ctxFor(path.join(dir, "backup.yaml"));
    expect(await run(ctx, {})).toBe(0);
    expect(out.stdout).toBe("backup.yaml is valid: 1 instance, 2 targets, 6 series (1 warning)\n");
    expect(out.stderr).toMatch(/^.*backup\.yaml:7:27: warning: encryption\.passphrase: secret file .*pass does not exist/);
    const strict = await run(ctx, { strict: true }).catch((e: unknown) => e);
    expect(strict).toBeInstanceOf(SpecError);
    expect((strict as SpecError).problems.map((p) => [p.line, p.severity])).toEqual([[7, "error"]]);
  });

  it("throws the SpecError for exit.ts to print", async () => {
    const dir = specDir({ "backup.yaml": "version: 1\nfoo: 1\n" });
    const { ctx } = ctxFor(path.join(dir, "backup.yaml"));
    await expect(run(ctx, {})).rejects.toBeInstanceOf(SpecError);
  });
});
