/**
 * The index: which pack holds which chunk. Index objects (`index/<id>`) are written after their
 * packs are durable and before any manifest that needs them, and are never changed; gc writes a
 * complete new one before it deletes the old ones. Only packs that are really on the target
 * count: an entry whose pack is gone (gc died between its steps, or someone deleted files) is
 * ignored, so a backup writes that chunk again instead of trusting it.
 */
import { IntegrityError } from "../errors.js";
import type { ObjectInfo } from "../targets/target.js";
import { packIdOf, type BlobLocation, type BlobRecord } from "./pack.js";

export interface IndexFile {
  version: 1;
  packs: Record<string, BlobRecord[]>;
}

export class BlobIndex {
  private readonly locations = new Map<string, BlobLocation>();
  /** Indexed packs that exist: id → records and object size. */
  readonly packs = new Map<string, { records: BlobRecord[]; size: number }>();
  /** Keys of the index objects this was read from. */
  readonly indexKeys: string[] = [];
  /** Packs on the target that no index names. */
  readonly orphans: ObjectInfo[] = [];

  get(id: string): BlobLocation | undefined {
    return this.locations.get(id);
  }

  has(id: string): boolean {
    return this.locations.has(id);
  }

  get blobCount(): number {
    return this.locations.size;
  }

  add(pack: string, records: BlobRecord[], size: number): void {
    this.packs.set(pack, { records, size });
    for (const [id, offset, length, plain] of records) {
      if (!this.locations.has(id)) this.locations.set(id, { pack, offset, length, size: plain });
    }
  }
}

export interface IndexSource {
  where: string;
  list(prefix: string): Promise<ObjectInfo[]>;
  getJson<T>(key: string): Promise<T>;
}

/** Lists the packs, then reads every index object (packs first: see gc's rules in ./prune.ts). */
export async function loadIndex(src: IndexSource): Promise<BlobIndex> {
  const packObjs = await src.list("data/");
  const existing = new Map(packObjs.map((o) => [packIdOf(o.key), o]));
  const keys = (await src.list("index/")).map((o) => o.key).sort();
  const files: IndexFile[] = new Array<IndexFile>(keys.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(8, keys.length) }, async () => {
      while (next < keys.length) {
        const i = next++;
        files[i] = await src.getJson<IndexFile>(keys[i]!);
      }
    }),
  );
  const index = new BlobIndex();
  const named = new Set<string>();
  keys.forEach((key, i) => {
    const file = files[i]!;
    if (file.version !== 1 || typeof file.packs !== "object" || file.packs === null) {
      throw new IntegrityError(`index object ${key} on ${src.where} is malformed`, {
        hint: "the repository's index is damaged; restore from another target and start a new repository on this one",
      });
    }
    index.indexKeys.push(key);
    for (const [pack, records] of Object.entries(file.packs)) {
      named.add(pack);
      const obj = existing.get(pack);
      if (obj && Array.isArray(records)) index.add(pack, records, obj.size);
    }
  });
  for (const [id, obj] of existing) if (!named.has(id)) index.orphans.push(obj);
  return index;
}
