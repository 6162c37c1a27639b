import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { UserError } from "../../src/errors.js";
import { formatProblem } from "../../src/cli/exit.js";
import { isSecretRef, malformedRef, parseSecretRef, resolveSecret } from "../../src/spec/secrets.js";
import { cleanupSpecDirs, problemsOf, yaml } from "./helpers.js";

const tmp = mkdtempSync(path.join(os.tmpdir(), "backplan-secrets-"));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
  cleanupSpecDirs();
});
const SECRET = "S3cr3t-Value-9f8e7d6c5b4a";

describe("secret references", () => {
  it("parses ${env:NAME} and ${file:PATH} (relative to the given folder)", () => {
    expect(parseSecretRef("${env:BACKPLAN_PASSPHRASE}")).toEqual({ ref: "${env:BACKPLAN_PASSPHRASE}", kind: "env", name: "BACKPLAN_PASSPHRASE" });
    expect(parseSecretRef("${file:./demo/passphrase}", "/srv/app")).toEqual({ ref: "${file:./demo/passphrase}", kind: "file", name: "/srv/app/demo/passphrase" });
    expect(parseSecretRef("${file:~/pass}")?.name).toBe(path.join(os.homedir(), "pass"));
    for (const text of ["hunter2", "${env:}", "${env:1X}", "${ENV:X}", "$X", "prefix ${env:X}"]) expect(parseSecretRef(text)).toBeUndefined();
    expect(isSecretRef("${env:X}")).toBe(true);
    expect(isSecretRef(42)).toBe(false);
  });

  it("tells a malformed reference from an inline value, without echoing it", () => {
    expect(malformedRef("${ENV:X}")).toBe("is not a valid reference: only ${env:NAME} and ${file:PATH} are understood");
    expect(malformedRef("$HOOK_URL")).toBe("looks like a shell variable, which backplan does not expand");
    expect(malformedRef("${env:my-var}")).toBe("is not a valid reference: an environment variable name is letters, digits and _");
    expect(malformedRef("$ecret!")).toBeUndefined();
    expect(malformedRef("${env:X}")).toBeUndefined();
  });

  it("resolves from the environment and from files, trimming one trailing newline", () => {
    process.env.BACKPLAN_TEST_SECRET = SECRET;
    expect(resolveSecret({ ref: "${env:BACKPLAN_TEST_SECRET}", kind: "env", name: "BACKPLAN_TEST_SECRET" })).toBe(SECRET);
    delete process.env.BACKPLAN_TEST_SECRET;
    writeFileSync(path.join(tmp, "pass"), `${SECRET}\n`);
    expect(resolveSecret({ ref: "${file:pass}", kind: "file", name: path.join(tmp, "pass") })).toBe(SECRET);
  });

  it("resolution errors name the variable or file and the fix", () => {
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e as UserError;
      }
      throw new Error("expected an error");
    };
    const unset = err(() => resolveSecret({ ref: "${env:BACKPLAN_TEST_UNSET}", kind: "env", name: "BACKPLAN_TEST_UNSET" }));
    expect(unset).toBeInstanceOf(UserError);
    expect(unset.message).toBe("environment variable BACKPLAN_TEST_UNSET is not set (${env:BACKPLAN_TEST_UNSET} in the spec)");
    const missing = err(() => resolveSecret({ ref: "${file:nope}", kind: "file", name: path.join(tmp, "nope") }));
    expect(missing.message).toBe(`secret file ${path.join(tmp, "nope")} does not exist (\${file:nope} in the spec)`);
    writeFileSync(path.join(tmp, "empty"), "\n");
    expect(err(() => resolveSecret({ ref: "${file:empty}", kind: "file", name: path.join(tmp, "empty") })).message).toMatch(/is empty/);
    process.env.BACKPLAN_TEST_EMPTY = "";
    expect(err(() => resolveSecret({ ref: "${env:BACKPLAN_TEST_EMPTY}", kind: "env", name: "BACKPLAN_TEST_EMPTY" })).message).toMatch(/is empty/);
    delete process.env.BACKPLAN_TEST_EMPTY;
  });
});

describe("secrets never appear in problems", () => {
  const head = ["version: 1", "instances:", "  app: { preset: open-webui, path: data }", "targets:", "  nas: { type: local, path: nas }"];
  const policies = ["policies:", "  - { target: nas, every: daily, keep: { daily: 7 } }"];
  const specs = {
    "inline passphrase": yaml(...head, `encryption: { passphrase: "${SECRET}" }`, ...policies),
    "passphrase starting with $": yaml(...head, `encryption: { passphrase: "$${SECRET}" }`, ...policies),
    "passphrase of the wrong type": yaml(...head, "encryption: { passphrase: 123456789 }", ...policies),
    "inline S3 keys": yaml(...head, `  s3: { type: s3, bucket: b, accessKeyId: AKIA${SECRET}, secretAccessKey: "${SECRET}" }`, ...policies),
    "S3 endpoint with credentials": yaml(...head, `  s3: { type: s3, bucket: b, endpoint: "https://u:${SECRET}@s3 example" }`, ...policies),
    "SMTP password": yaml(...head, ...policies, "notify:", `  - { on: [failure], email: { to: [a@example.com], smtp: "smtps://u:${SECRET}@mail.example.com" } }`),
    "webhook token": yaml(...head, ...policies, "notify:", `  - { on: [failure], webhook: "https://example.com/hook/${SECRET}" }`),
    "webhook that is not a URL": yaml(...head, ...policies, "notify:", `  - { on: [failure], webhook: "${SECRET}" }`),
  };
  for (const [name, text] of Object.entries(specs)) {
    it(`${name}: refused, without the value`, async () => {
      const problems = await problemsOf(text);
      expect(problems.some((p) => p.severity === "error")).toBe(true);
      for (const p of problems) expect(formatProblem(p)).not.toContain(SECRET);
    });
  }

  it("an inline passphrase is refused with the fix", async () => {
    const [p] = (await problemsOf(specs["inline passphrase"])).filter((x) => x.severity === "error");
    expect(p?.message).toBe("the passphrase is written inline in the spec");
    expect(p?.hint).toContain('"${env:BACKPLAN_PASSPHRASE}"');
  });
});
