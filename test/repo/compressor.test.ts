import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { pack, unpackSync, ZSTD } from "../../src/repo/compress.js";
import { Compressor, OFF_THREAD_MIN } from "../../src/repo/compressor.js";
import { seededBytes } from "./helpers.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const join = ([h, body]: [Uint8Array, Uint8Array]) => Buffer.concat([h, body]);
const text = (i: number) => Buffer.from(`row ${i}: INSERT INTO chat VALUES ('hello', ${i});\n`.repeat(20_000));

/** Packs chunks until the thread has taken `wanted` of them (it starts in the background). */
async function packUntilThreaded(c: Compressor, wanted: number): Promise<{ plain: Buffer; parts: [Uint8Array, Uint8Array] }[]> {
  const out: { plain: Buffer; parts: [Uint8Array, Uint8Array] }[] = [];
  for (let i = 0; c.onThread < wanted; i++) {
    if (i > 2000) throw new Error("the compressor thread never took a chunk");
    const plain = text(i);
    out.push({ plain, parts: await c.pack(plain) });
    if (c.onThread === 0) await new Promise((r) => setTimeout(r, 10));
  }
  return out;
}

describe("compressor thread", () => {
  it("gives the bytes pack gives, on the thread and before it is up", async () => {
    const c = new Compressor();
    const done = await packUntilThreaded(c, 3);
    expect(done.length).toBeGreaterThan(3);
    for (const { plain, parts } of done) {
      expect(parts[0][0]).toBe(ZSTD);
      expect(join(parts).equals(join(pack(plain)))).toBe(true);
      expect(unpackSync(join(parts), 4 << 20).equals(plain)).toBe(true);
    }
  });

  it("many chunks at once, some incompressible and some small, each gets its own result", async () => {
    const c = new Compressor();
    await packUntilThreaded(c, 1);
    const plains = Array.from({ length: 24 }, (_, i) =>
      i % 3 === 0 ? Buffer.from(seededBytes(300_000, `noise ${i}`)) : i % 3 === 1 ? text(i) : Buffer.from(`small ${i} `.repeat(100)),
    );
    const results = await Promise.all(plains.map((p) => c.pack(p)));
    results.forEach((parts, i) => expect(unpackSync(join(parts), 4 << 20).equals(plains[i]!)).toBe(true));
    expect(c.onThread).toBeGreaterThan(1);
    expect(plains[2]!.length).toBeLessThan(OFF_THREAD_MIN);
  });

  it("a thread that dies mid-job loses nothing: its chunks and all later ones are compressed here", async () => {
    const c = new Compressor(new URL("./fixtures/dying-compressor.js", import.meta.url));
    // Until the dying thread is up, chunks are compressed here; then the first job kills it.
    const seen: string[] = [];
    for (let i = 0; c.state !== "down"; i++) {
      if (i > 500) throw new Error(`the thread never died (states seen: ${[...new Set(seen)].join(", ")})`);
      seen.push(c.state);
      const plain = text(i);
      const parts = await c.pack(plain);
      expect(join(parts).equals(join(pack(plain)))).toBe(true);
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(seen).toContain("up");
    const later = await Promise.all([text(1), text(2)].map((p) => c.pack(p)));
    expect(unpackSync(join(later[1]!), 4 << 20).equals(text(2))).toBe(true);
    expect(c.onThread).toBe(0);
  });

  it("never keeps the process alive: one that is done exits, whether the thread is starting or idle", () => {
    for (const mode of ["now", "wait"]) {
      const child = path.join(here, "fixtures", "compress-and-end.ts");
      const r = spawnSync(process.execPath, ["--import", "tsx", child, mode], { cwd: path.resolve(here, "..", ".."), encoding: "utf8", timeout: 20_000 });
      expect(r.error, `${mode}: ${r.stderr}`).toBeUndefined();
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(mode === "now" ? /^packed \d+ starting\n$/ : /^packed \d+ starting\npacked \d+ up\n$/);
    }
  });
});
