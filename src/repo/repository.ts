/**
 * A repository on one target: config, keys, chunks, snapshot manifests, verification records.
 * Every object except `config` and `keys/*` goes through one codec: compress (maybe), then seal
 * with AES-256-GCM when encrypted. Chunk reads are hash-checked; a failure names the object.
 * Layout and types: ./types.ts.
 */
import { hash, randomBytes } from "node:crypto";
import { BugError, IntegrityError, NotFoundError, UserError } from "../errors.js";
import type { Target } from "../targets/target.js";
import { checkChunkerParams, Chunker, DEFAULT_CHUNKER } from "./chunker.js";
import { loadIndex, type BlobIndex, type IndexFile } from "./blob-index.js";
import { ChunkDecoder, DecodeError, systemError, type DecodeFailure, type FileJob } from "./decoder.js";
import { pack, unpack, unpackSync } from "./compress.js";
import { compressor } from "./compressor.js";
import { KeyedIds, newMasterKey, sealParts, unseal, unwrapMasterKey, wrapMasterKey, type KeyFile, type MasterKey } from "./crypto.js";
import { blobAad, byteLength, packKey, PackWriter, type BlobLocation, type BlobRecord, type WrittenPack } from "./pack.js";
import type { RepoConfig, SnapshotManifest, VerificationRecord } from "./types.js";

const UNREADABLE = "it fails authentication or decompression";
const MISMATCH = "its content does not match its id";
const SIZE_MISMATCH = "its size is not the one the index records";
const TRUNCATED = "its pack is truncated";
const CORRUPT_HINT =
  "this copy is never used; restore from another target or an older snapshot, then run `backplan verify`; forget the affected snapshots so the next backup writes the chunk anew";

export const FORMAT_VERSION = 2;
const MAX_OBJECT = 64 * 1024 * 1024;
/** Objects up to this size (encoded) are inflated on the calling thread; see decode. */
const SYNC_UNPACK = 256 * 1024;
/** Whole packs kept in memory for targets without ranged reads (rclone): restores read many chunks of a pack in a row. */
const PACK_CACHE = 6;

export interface OpenOptions {
  passphrase?: string | undefined;
  /** false: observe only; an empty target gives undefined and nothing is written. */
  create: boolean;
  /**
   * Return before the key is unlocked (scrypt, ~0.1 s on the thread pool); whatever reads or
   * writes an object waits for it. `unlocked()` rejects as open would (e.g. a wrong passphrase).
   */
  deferKey?: boolean;
  /** Called when the key derivation starts (scrypt, on the thread pool), or never when there is none. */
  onKeyDerivation?: () => void;
}

/** What a backup asks before writing a chunk: is it on the target, or on its way there? */
export interface KnownChunks {
  has(id: string): boolean;
}

export class Repository {
  readonly chunker: Chunker;
  private index?: Promise<BlobIndex>;
  private readonly packs: PackWriter;
  private readonly encoding = new Map<string, Promise<void>>();
  private readonly packCache = new Map<string, Promise<Buffer>>();
  private flushing: Promise<void> = Promise.resolve();
  /** Repository locks this process holds on it; see ./locks.ts for why this matters. */
  private locksHeld = 0;

  /** Set once unlocked; see `deferKey`. */
  private unlocking: Promise<void> | undefined;
  /** The `keys/` object the passphrase opened, once unlocked (encrypted repositories only). */
  keyObject: string | undefined;

  private constructor(
    readonly target: Target,
    readonly config: RepoConfig,
    private masterKey: MasterKey | undefined,
  ) {
    this.chunker = new Chunker(config.chunker);
    this.packs = new PackWriter(target, this);
  }

  get encrypted(): boolean {
    return this.config.encryption !== null;
  }

  /** Resolves once the key is unlocked (at once unless opened with `deferKey`). */
  unlocked(): Promise<void> {
    return this.unlocking ?? Promise.resolve();
  }

  /** The key, for code that runs after unlocked(): a chunk id made without it would be wrong, silently. */
  private get key(): MasterKey | undefined {
    if (this.encrypted && !this.masterKey) throw new BugError(`the key of the repository on ${this.target.where} was used before it was unlocked`);
    return this.masterKey;
  }

  static async open(target: Target, opts: OpenOptions & { create: true }): Promise<Repository>;
  static async open(target: Target, opts: OpenOptions): Promise<Repository | undefined>;
  static async open(target: Target, opts: OpenOptions): Promise<Repository | undefined> {
    // The key listing beside the config, not after it: one round trip fewer before scrypt.
    const keyFiles = opts.passphrase !== undefined ? target.list("keys/") : undefined;
    keyFiles?.catch(() => undefined); // awaited below, or of no use (no config)
    const config = await readConfig(target);
    if (!config) {
      if (!opts.create) {
        await assertNothingElse(target);
        return undefined;
      }
      return create(target, opts.passphrase);
    }
    if (config.encryption === null) {
      if (opts.passphrase !== undefined) {
        throw new UserError(`the repository on ${target.where} is not encrypted, but the spec sets an encryption passphrase`, {
          hint: "remove `encryption:` from the spec to keep using it, or point the target at a new, empty location to start an encrypted repository",
        });
      }
      return new Repository(target, config, undefined);
    }
    if (opts.passphrase === undefined) {
      throw new UserError(`the repository on ${target.where} is encrypted and the spec sets no passphrase`, {
        hint: 'add `encryption: { passphrase: "${env:BACKPLAN_PASSPHRASE}" }` to the spec and set that variable',
      });
    }
    const unlocking = unlockKey(target, opts.passphrase, config.id, keyFiles!, opts.onKeyDerivation);
    if (!opts.deferKey) {
      const { key, object } = await unlocking;
      const repo = new Repository(target, config, key);
      repo.keyObject = object;
      return repo;
    }
    const repo = new Repository(target, config, undefined);
    repo.unlocking = unlocking.then(({ key, object }) => {
      repo.masterKey = key;
      repo.keyObject = object;
    });
    repo.unlocking.catch(() => undefined); // awaited by whoever needs the key
    return repo;
  }

  // ---- chunks -------------------------------------------------------------------------------

  /** Id of a chunk from the sha256 of its plaintext. */
  chunkId(digest: Buffer | string): string {
    const key = this.key;
    if (!key) return typeof digest === "string" ? digest : digest.toString("hex");
    if (this.ids?.key !== key) this.ids = { key, ids: new KeyedIds(key.id) };
    return this.ids.ids.of(digest);
  }
  private ids: { key: MasterKey; ids: KeyedIds } | undefined;

  /** The index, read once and then kept up to date by our own writes. */
  loadIndex(): Promise<BlobIndex> {
    this.index ??= loadIndex({ where: this.target.where, list: (p) => this.target.list(p), getJson: (k) => this.getJson(k) }).catch((err: unknown) => {
      this.index = undefined;
      throw err;
    });
    return this.index;
  }

  /** Chunks this repository has, or that this process is writing to it. */
  async knownChunks(): Promise<KnownChunks> {
    const index = await this.loadIndex();
    return { has: (id) => index.has(id) || this.packs.has(id) };
  }

  /** Forget the index: chunks may have been collected by another host while we held no lock. */
  forgetKnownChunks(): void {
    this.index = undefined;
  }

  /** @internal locks.ts: counts held locks; when none is held the index may go stale. */
  noteLock(delta: 1 | -1): void {
    this.locksHeld += delta;
    if (this.locksHeld === 0) this.forgetKnownChunks();
  }

  async hasChunk(id: string): Promise<boolean> {
    return (await this.knownChunks()).has(id);
  }

  /** Where a chunk is stored (tests, diagnostics), or undefined when the index has no such chunk. */
  async locateChunk(id: string): Promise<{ key: string; offset: number; length: number } | undefined> {
    const loc = (await this.loadIndex()).get(id);
    return loc && { key: packKey(loc.pack), offset: loc.offset, length: loc.length };
  }

  /**
   * Adds a chunk to the pack being filled unless this repository already has it (or is writing
   * it). Returns the encoded size, 0 when nothing new was written. The chunk is durable only once
   * writeSnapshot (or flushPacks) has returned: callers never reference it before that.
   */
  async putChunk(plain: Uint8Array, digest?: Buffer): Promise<{ id: string; written: number }> {
    const id = this.chunkId(digest ?? hash("sha256", plain, "buffer"));
    const known = await this.knownChunks();
    if (known.has(id)) return { id, written: 0 };
    const pending = this.encoding.get(id);
    if (pending) {
      await pending;
      return { id, written: 0 };
    }
    let size = 0;
    const p = (async () => {
      const data = await this.encodeParts(blobAad(id), plain, true);
      await this.packs.add(id, data, plain.length);
      size = byteLength(data);
    })();
    this.encoding.set(id, p);
    try {
      await p;
    } finally {
      this.encoding.delete(id);
    }
    return { id, written: size };
  }

  /**
   * Makes every chunk added so far durable and indexed: closes the open pack, waits for the
   * uploads, flushes the target, writes an index object for the new packs, flushes again.
   */
  flushPacks(): Promise<void> {
    const run = this.flushing.then(async () => {
      await this.packs.drain();
      const written = this.packs.takeWritten();
      if (written.length === 0) return;
      await this.writeIndex(new Map(), written);
    });
    this.flushing = run.catch(() => undefined);
    return run;
  }

  /**
   * One index object naming `kept` and the packs just `written`: the packs durable before it, it
   * durable before this returns. When it fails, the packs go back to be indexed by the next try.
   */
  private async writeIndex(kept: Map<string, BlobRecord[]>, written: WrittenPack[]): Promise<void> {
    try {
      await this.flush();
      const file: IndexFile = { version: 1, packs: Object.fromEntries([...kept, ...written.map((p) => [p.id, p.records] as const)]) };
      await this.putJson(`index/${randomBytes(16).toString("hex")}`, file);
      await this.flush();
    } catch (err) {
      this.packs.giveBack(written);
      throw err;
    }
    // Into the loaded index first: until then the writer still answers for these chunks.
    const index = await this.index;
    if (index) for (const p of written) index.add(p.id, p.records, p.size);
    this.packs.markIndexed(written);
  }

  /**
   * gc: copies a stored chunk into the pack being filled, its encoded bytes as they are (they are
   * sealed with the chunk id, not the pack), after checking them. Returns the bytes copied.
   */
  async copyChunk(id: string): Promise<number> {
    const loc = (await this.loadIndex()).get(id);
    if (!loc) throw new NotFoundError(`chunk ${id}`, this.target.where);
    const encoded = await this.readBlob(id, loc);
    await this.openBlob(id, loc, encoded);
    await this.packs.add(id, Buffer.from(encoded), loc.size);
    return loc.length;
  }

  /**
   * gc: replaces every index object by one that names `kept` plus the packs written since the
   * last flush. The new index is durable before an old one goes, so a crash in between leaves
   * two indexes naming the same chunks, never none.
   */
  async replaceIndex(kept: Map<string, BlobRecord[]>, oldKeys: string[]): Promise<number> {
    await this.packs.drain();
    const written = this.packs.takeWritten();
    await this.writeIndex(kept, written);
    for (const k of oldKeys) await this.target.delete(k);
    await this.flush();
    this.forgetKnownChunks();
    return written.reduce((n, p) => n + p.size, 0);
  }

  /** Waits for pack uploads in flight (a store that failed must not write on after it returned). */
  async settleWrites(): Promise<void> {
    await this.packs.settle();
  }

  /** The plaintext of a chunk, checked against its id: never returns corrupt data. */
  async getChunk(id: string): Promise<Buffer> {
    const loc = this.locate(await this.loadIndex(), id);
    return this.openBlob(id, loc, await this.readBlob(id, loc));
  }

  /** Plaintext sizes of chunks, from the index; NotFoundError for one it does not have. */
  async chunkSizes(ids: readonly string[]): Promise<number[]> {
    const index = await this.loadIndex();
    return ids.map((id) => this.locate(index, id).size);
  }

  /**
   * Chunk `id`, checked as getChunk checks it, written at `position` of the open file `fd` by the
   * decoder thread: a restore's plaintext never comes back to this thread.
   */
  async writeChunk(id: string, decoder: ChunkDecoder, fd: number, position: number): Promise<void> {
    const loc = this.locate(await this.loadIndex(), id);
    const encoded = await this.readBlob(id, loc);
    try {
      await decoder.decodeInto(id, blobAad(id), encoded, loc.size, fd, position);
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      throw this.undecodable(id, loc, err.failure);
    }
  }

  /** A decoder thread's failure for a chunk, as the IntegrityError getChunk would throw. */
  private undecodable(id: string, loc: BlobLocation, failure: DecodeFailure | "truncated"): IntegrityError {
    const why = { mismatch: MISMATCH, size: SIZE_MISMATCH, truncated: TRUNCATED, auth: UNREADABLE, decompress: UNREADABLE }[failure];
    return this.corrupt(id, loc, why);
  }

  /** Whether restoreFile can be used: the packs are files on this machine. */
  get packsAreLocal(): boolean {
    return this.target.localFile !== undefined;
  }

  /**
   * A whole file restored by a decoder thread, which reads its chunks from the local pack files
   * itself (packsAreLocal): each chunk checked as getChunk checks it. `file` is FileJob's minus
   * the chunks' places, given here as ids. Fails as writeChunk would: NotFoundError for a
   * missing pack, IntegrityError for a damaged chunk, the system error (its `code` kept) for a
   * failed write; the temporary file is removed by then.
   */
  async restoreFile(decoder: ChunkDecoder, ids: readonly string[], file: Omit<FileJob["file"], "chunks">): Promise<void> {
    const index = await this.loadIndex();
    const locs = ids.map((id) => this.locate(index, id));
    const places = locs.map((loc) => this.target.localFile!(packKey(loc.pack)));
    const chunks = locs.map((loc, i) => ({ id: ids[i]!, aad: blobAad(ids[i]!), pack: places[i]!.path, offset: loc.offset, length: loc.length, size: loc.size }));
    const r = await decoder.restoreFile({ ...file, chunks });
    if (!("failure" in r)) return;
    if (r.failure === "write") throw systemError(r.code, r.message);
    if (r.failure === "read") throw places[r.chunk]!.failed(systemError(r.code, r.message));
    throw this.undecodable(ids[r.chunk]!, locs[r.chunk]!, r.failure);
  }

  private locate(index: BlobIndex, id: string): BlobLocation {
    const loc = index.get(id);
    if (!loc) throw new NotFoundError(`chunk ${id}`, this.target.where);
    return loc;
  }

  /** A decoder thread with this repository's keys, for reading many chunks (close it when done). */
  decoder(): ChunkDecoder {
    return new ChunkDecoder(this.key, MAX_OBJECT);
  }

  /** The same check as the decoder thread's (./decoder-worker.ts), on this thread. */
  private async openBlob(id: string, loc: BlobLocation, encoded: Uint8Array): Promise<Buffer> {
    let plain: Buffer;
    try {
      plain = await this.decode(blobAad(id), encoded);
    } catch (err) {
      throw err instanceof IntegrityError ? this.corrupt(id, loc, UNREADABLE) : err;
    }
    if (this.chunkId(hash("sha256", plain, "buffer")) !== id) throw this.corrupt(id, loc, MISMATCH);
    return plain;
  }

  private corrupt(id: string, loc: BlobLocation, why: string): IntegrityError {
    return new IntegrityError(`chunk ${id} in pack ${packKey(loc.pack)} on ${this.target.where} is corrupt: ${why}`, { hint: CORRUPT_HINT });
  }

  /**
   * A blob's encoded bytes: one ranged read where the target has them (local folders, S3), else
   * its whole pack from a small cache (restores read many chunks of the same pack in a row).
   */
  private async readBlob(id: string, loc: BlobLocation): Promise<Buffer> {
    let bytes: Uint8Array;
    if (this.target.getRange) bytes = await this.target.getRange(packKey(loc.pack), loc.offset, loc.length);
    else {
      const pack = await this.readPack(loc.pack);
      bytes = pack.subarray(loc.offset, Math.min(pack.length, loc.offset + loc.length));
    }
    if (bytes.length !== loc.length) throw this.corrupt(id, loc, TRUNCATED);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  }

  private readPack(packId: string): Promise<Buffer> {
    let p = this.packCache.get(packId);
    if (p) {
      this.packCache.delete(packId); // re-insert: most recently used last
      this.packCache.set(packId, p);
      return p;
    }
    p = this.target.get(packKey(packId)).then((d) => Buffer.from(d.buffer, d.byteOffset, d.length));
    p.catch(() => this.packCache.delete(packId));
    this.packCache.set(packId, p);
    while (this.packCache.size > PACK_CACHE) this.packCache.delete(this.packCache.keys().next().value!);
    return p;
  }

  // ---- snapshots and verification records -----------------------------------------------------

  async listSnapshotIds(): Promise<string[]> {
    return (await this.target.list("snapshots/")).map((o) => o.key.slice("snapshots/".length)).filter((id) => /^[0-9a-f]{32}$/.test(id));
  }

  async readSnapshot(id: string): Promise<SnapshotManifest> {
    const key = `snapshots/${id}`;
    const m = await this.getJson<SnapshotManifest>(key);
    if (m.formatVersion !== 1 || m.id !== id || !Array.isArray(m.entries)) {
      throw new IntegrityError(`snapshot manifest ${key} on ${this.target.where} is malformed`, {
        hint: "a manifest that fails its checks is never restored; restore from another target or snapshot",
      });
    }
    return m;
  }

  /**
   * Writes a manifest: the moment the snapshot starts to exist. Everything put before it is made
   * durable first (a manifest must never survive a power loss that its chunks did not), and the
   * manifest itself before this returns.
   */
  async writeSnapshot(m: SnapshotManifest): Promise<void> {
    await this.flushPacks();
    const index = await this.loadIndex();
    for (const e of m.entries) {
      for (const c of e.chunks ?? []) {
        if (!index.has(c)) {
          throw new IntegrityError(`snapshot of ${m.instance}/${m.component} refers to chunk ${c}, which is not stored on ${this.target.where}`, {
            hint: "a chunk write failed earlier in this run; the snapshot was not written. Run again: missing chunks are written anew",
          });
        }
      }
    }
    await this.putJson(`snapshots/${m.id}`, m);
    await this.flush();
  }

  /** Makes every object put so far durable, on targets that batch durability (see Target.flush). */
  async flush(): Promise<void> {
    await this.target.flush?.();
  }

  async deleteSnapshot(id: string): Promise<void> {
    await this.target.delete(`snapshots/${id}`);
    await this.target.delete(`verified/${id}`);
  }

  async writeVerification(r: VerificationRecord): Promise<void> {
    await this.putJson(`verified/${r.snapshotId}`, r);
    await this.flush();
  }

  /** Every readable record; one unreadable record never hides the others. */
  async listVerifications(): Promise<VerificationRecord[]> {
    const objs = await this.target.list("verified/");
    const out: VerificationRecord[] = [];
    for (const o of objs) {
      try {
        out.push(await this.getJson<VerificationRecord>(o.key));
      } catch (err) {
        if (!(err instanceof NotFoundError || err instanceof IntegrityError)) throw err;
      }
    }
    return out;
  }

  // ---- the object codec ------------------------------------------------------------------------

  async putJson(key: string, value: unknown): Promise<void> {
    await this.target.put(key, await this.encode(key, Buffer.from(JSON.stringify(value))));
  }

  async getJson<T>(key: string): Promise<T> {
    const plain = await this.decode(key, await this.target.get(key));
    try {
      return JSON.parse(plain.toString("utf8")) as T;
    } catch {
      throw new IntegrityError(`object ${key} on ${this.target.where} is not valid JSON`);
    }
  }

  async encode(key: string, plain: Uint8Array): Promise<Buffer> {
    return Buffer.concat(await this.encodeParts(key, plain));
  }

  /**
   * encode's bytes in pieces: a blob is copied into its pack straight from these. Chunks are
   * compressed on the compressor's thread; the other objects (manifests, index objects, pack
   * headers) here: a manifest of 100 000 files is one 20 MB object, and its copies to and from
   * the thread took the first apply of that many files from 361 to 409 MiB.
   */
  async encodeParts(key: string, plain: Uint8Array, chunk = false): Promise<Uint8Array[]> {
    if (this.unlocking) await this.unlocking;
    const parts = chunk ? await compressor.pack(plain) : pack(plain);
    return this.key ? sealParts(this.key.enc, parts, key) : parts;
  }

  async decode(key: string, data: Uint8Array): Promise<Buffer> {
    if (this.unlocking) await this.unlocking;
    let inner: Uint8Array = data;
    if (this.key) {
      const opened = unseal(this.key.enc, data, key);
      if (!opened) {
        throw new IntegrityError(`object ${key} on ${this.target.where} failed authentication: it was modified or damaged`, {
          hint: "this copy is never used; restore from another target or snapshot, and run `backplan verify`",
        });
      }
      inner = opened;
    }
    if (inner.length < 1) throw new IntegrityError(`object ${key} on ${this.target.where} is empty`);
    try {
      // Small objects (manifests, indexes, locks) inflate here: a zlib stream on the pool costs
      // more in its set-up and callbacks than the work (~10 ms of a no-change apply).
      return inner.length <= SYNC_UNPACK ? unpackSync(inner, MAX_OBJECT) : await unpack(inner, MAX_OBJECT);
    } catch (err) {
      throw new IntegrityError(`object ${key} on ${this.target.where} cannot be decompressed: it is damaged`, { cause: err });
    }
  }
}

async function readConfig(target: Target): Promise<RepoConfig | undefined> {
  let raw: Uint8Array;
  try {
    raw = await target.get("config");
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
  let c: Partial<RepoConfig> & { version?: unknown; format?: unknown };
  try {
    c = JSON.parse(Buffer.from(raw).toString("utf8")) as typeof c;
  } catch {
    throw new UserError(`${target.where} holds a \`config\` object that is not a backplan repository config`, {
      hint: "point the target at an empty location, or at a folder created by backplan",
    });
  }
  if (c.format !== "backplan-repository") {
    throw new UserError(`${target.where} holds something that is not a backplan repository`, {
      hint: "point the target at an empty location, or at a folder created by backplan",
    });
  }
  if (c.version !== FORMAT_VERSION) {
    throw new UserError(`the repository on ${target.where} has format version ${String(c.version)}; this backplan reads version ${FORMAT_VERSION}`, {
      hint:
        typeof c.version === "number" && c.version > FORMAT_VERSION
          ? "upgrade backplan to read it"
          : c.version === 1
            ? "version 1 (one object per chunk) was written by backplan 0.1 development builds; restore from it with backplan 0.1, and point this target at a new, empty location"
            : "this repository cannot be read by this backplan",
    });
  }
  const problem = c.chunker ? checkChunkerParams(c.chunker) : "chunker parameters missing";
  if (problem || c.encryption === undefined || typeof c.id !== "string") {
    throw new UserError(`the repository config on ${target.where} is damaged: ${problem ?? "fields missing"}`);
  }
  return c as RepoConfig;
}

/** A target without `config` must be empty: never adopt (or observe as empty) foreign objects. */
async function assertNothingElse(target: Target): Promise<void> {
  for (const prefix of ["snapshots/", "data/", "index/"]) {
    if ((await target.list(prefix)).length > 0) {
      throw new UserError(`${target.where} holds repository objects but no \`config\``, {
        hint: "the config was deleted or the path is wrong; do not write to this location until it is sorted out",
      });
    }
  }
}

async function create(target: Target, passphrase: string | undefined): Promise<Repository> {
  await assertNothingElse(target);
  const config: RepoConfig = {
    format: "backplan-repository",
    version: FORMAT_VERSION,
    id: randomBytes(16).toString("hex"),
    created: new Date().toISOString(),
    chunker: DEFAULT_CHUNKER,
    encryption: passphrase === undefined ? null : { cipher: "aes-256-gcm", kdf: "scrypt", chunkId: "hmac-sha256" },
  };
  let key: MasterKey | undefined;
  if (passphrase !== undefined) {
    // Keys before config: a repository whose config exists can always be opened.
    key = newMasterKey();
    const file = await wrapMasterKey(key, passphrase, config.id);
    await target.put(`keys/${randomBytes(16).toString("hex")}`, Buffer.from(JSON.stringify(file, null, 2)));
    await target.flush?.();
  }
  await target.put("config", Buffer.from(JSON.stringify(config, null, 2) + "\n"));
  await target.flush?.();
  return Repository.open(target, { passphrase, create: false }) as Promise<Repository>;
}

async function unlockKey(
  target: Target,
  passphrase: string,
  repoId: string,
  listing: Promise<{ key: string }[]>,
  onKeyDerivation?: () => void,
): Promise<{ key: MasterKey; object: string }> {
  let keys = await listing;
  // The listing ran beside the config read. A repository is created keys first, config last, so
  // one listed before its key was written can show its config and no key: ask again, now after.
  if (keys.length === 0) keys = await target.list("keys/");
  for (const k of keys) {
    let file: KeyFile;
    try {
      file = JSON.parse(Buffer.from(await target.get(k.key)).toString("utf8")) as KeyFile;
    } catch {
      continue;
    }
    const unwrapping = unwrapMasterKey(file, passphrase, repoId);
    onKeyDerivation?.();
    const master = await unwrapping;
    if (master) return { key: master, object: k.key };
  }
  if (keys.length === 0) {
    throw new UserError(`the repository on ${target.where} is encrypted but holds no key`, {
      hint: "its keys/ folder was deleted; without it the data cannot be decrypted",
    });
  }
  throw new UserError(`wrong passphrase for repository on ${target.where}`, {
    hint: "check the variable or file the spec's `encryption.passphrase` refers to; it must be the passphrase the repository was created with",
  });
}
