import { createHmac, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { KeyedIds, keyedId } from "../../src/repo/crypto.js";

describe("KeyedIds", () => {
  it("gives HMAC-SHA256 exactly, from a digest as bytes or as hex, one call after another", () => {
    for (let k = 0; k < 20; k++) {
      const key = randomBytes(k === 0 ? 64 : 32);
      const ids = new KeyedIds(key);
      for (let i = 0; i < 50; i++) {
        const digest = randomBytes(32);
        const want = createHmac("sha256", key).update(digest).digest("hex");
        expect(ids.of(digest)).toBe(want);
        expect(ids.of(digest.toString("hex"))).toBe(want);
        expect(ids.of(digest.toString("hex").toUpperCase())).toBe(want);
      }
    }
  });

  it("gives what keyedId gives for input that is not a sha256 digest (a damaged cache row)", () => {
    const key = randomBytes(32);
    const ids = new KeyedIds(key);
    for (const odd of ["", "zz", "ab".repeat(31), "ab".repeat(33), "g".repeat(64)]) expect(ids.of(odd)).toBe(keyedId(key, Buffer.from(odd, "hex")));
    expect(ids.of(randomBytes(16))).not.toBe(ids.of(randomBytes(32)));
  });
});
