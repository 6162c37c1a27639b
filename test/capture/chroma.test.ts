import { lstat, mkdir, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { captureChroma } from "../../src/capture/chroma.js";
import { generateOpenWebUi } from "../../src/demo/generate.js";
import { UserError } from "../../src/errors.js";
import { readDb, tempDir } from "../helpers/capture-fixtures.js";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(() => cleanup());

describe("captureChroma", () => {
  it("captures chroma.sqlite3 by online backup, segment files as live files, and skips the -wal/-shm", async () => {
    const data = path.join(dir, "data");
    const demo = await generateOpenWebUi(data, { seed: 5, scale: 0.05 });
    // The generator leaves the newest embeddings in chroma.sqlite3-wal, with its -shm beside it.
    expect((await lstat(path.join(data, "vector_db", "chroma.sqlite3-wal"))).size).toBeGreaterThan(0);
    await writeFile(path.join(data, "vector_db", "chroma.sqlite3-journal"), ""); // an empty, finished journal
    const staging = path.join(dir, "staging");
    await mkdir(staging);

    const r = await captureChroma(data, "vector_db", staging);

    const segs = demo.paths.segments.map((s) => `vector_db/${path.basename(s)}`);
    const expected = ["vector_db", "vector_db/chroma.sqlite3"];
    for (const s of segs) {
      expected.push(s);
      for (const f of await readdir(path.join(data, s))) expected.push(`${s}/${f}`);
    }
    expect(r.entries.map((e) => e.path)).toEqual(expected.sort((a, b) => (a < b ? -1 : 1)));
    for (const s of segs) {
      for (const f of ["data_level0.bin", "header.bin", "length.bin", "link_lists.bin"]) {
        expect(r.entries.find((e) => e.path === `${s}/${f}`)).toMatchObject({ type: "file", live: true, source: path.join(data, s, f) });
      }
    }
    const db = r.entries.find((e) => e.path === "vector_db/chroma.sqlite3")!;
    expect(db).toMatchObject({ type: "file", sqlite: true, source: path.join(staging, "chroma.sqlite3"), staged: true });
    const ids = readDb(db.source!, (c) => (c.prepare("SELECT embedding_id FROM embeddings").all() as { embedding_id: string }[]).map((x) => x.embedding_id));
    for (const id of demo.walOnlyEmbeddingIds) expect(ids).toContain(id);
    expect(r.warnings).toEqual([]);
  });

  it("refuses a folder without chroma.sqlite3", async () => {
    await mkdir(path.join(dir, "vector_db"));
    const err = await captureChroma(dir, "vector_db", dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe(`${path.join(dir, "vector_db")} is not a Chroma store: it has no chroma.sqlite3`);
  });
});
