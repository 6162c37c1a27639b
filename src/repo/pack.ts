/**
 * Pack files: many encoded chunks ("blobs") in one object, as restic does. One object per chunk
 * cost a file create, a write, an fsync and a rename each (thousands per first backup, on S3 a
 * request each); a pack of ~8 MiB costs that once.
 *
 *   data/<2 hex>/<pack id>:  blob 0 | blob 1 | … | header | u32le header length | "bpk2"
 *
 * Every blob is encoded on its own (compressed, then sealed with its chunk id as associated
 * data), so a blob is read and authenticated alone, and gc can move it to another pack without
 * decrypting. The header (sealed with the pack's key as associated data) lists the pack's blobs:
 * the index can be rebuilt from the packs alone. The index objects (./blob-index.ts) are what
 * makes a pack's blobs usable; a pack no index names is garbage from a run that died.
 */
import { randomBytes } from "node:crypto";
import { IntegrityError } from "../errors.js";
import type { Target } from "../targets/target.js";

/** A pack is closed once it holds this much (so packs are 8-12 MiB with 4 MiB max chunks). */
export const PACK_SIZE = 8 * 1024 * 1024;
/** Room for the blob that crosses PACK_SIZE (a 4 MiB chunk, sealed, stored raw). */
const PACK_CAPACITY = PACK_SIZE + 4 * 1024 * 1024 + 1024;
/** Packs uploaded at once: one fsyncs (or crosses the network) while the next fills. */
const UPLOADS = 2;
const MAGIC = Buffer.from("bpk2");
const EMPTY = Buffer.alloc(0);

/** Where a blob lives: enough to read it with one ranged read of its pack. */
export interface BlobLocation {
  pack: string;
  offset: number;
  length: number;
  /** Plaintext size. */
  size: number;
}

/** [chunk id, offset, length, plaintext size]: the compact form in headers and index objects. */
export type BlobRecord = [string, number, number, number];

export function byteLength(parts: Uint8Array[]): number {
  let n = 0;
  for (const p of parts) n += p.length;
  return n;
}

export function packKey(packId: string): string {
  return `data/${packId.slice(0, 2)}/${packId}`;
}

export function packIdOf(key: string): string {
  return key.slice(key.lastIndexOf("/") + 1);
}

/** The associated data a blob is sealed with: moving bytes between ids is detected. */
export function blobAad(id: string): string {
  return `blob/${id}`;
}

export interface PackCodec {
  encode(aad: string, plain: Uint8Array): Promise<Buffer>;
  decode(aad: string, data: Uint8Array): Promise<Buffer>;
}

/** The blob records of a whole pack object, from its header. */
export async function readPackHeader(codec: PackCodec, key: string, data: Uint8Array, where: string): Promise<BlobRecord[]> {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.length);
  const damaged = (why: string) => new IntegrityError(`pack ${key} on ${where} is damaged: ${why}`);
  if (buf.length < 8 || !buf.subarray(buf.length - 4).equals(MAGIC)) throw damaged("no pack trailer");
  const len = buf.readUInt32LE(buf.length - 8);
  if (len > buf.length - 8) throw damaged("header length out of range");
  const header = await codec.decode(key, buf.subarray(buf.length - 8 - len, buf.length - 8));
  let records: BlobRecord[];
  try {
    records = JSON.parse(header.toString("utf8")) as BlobRecord[];
  } catch {
    throw damaged("header is not valid JSON");
  }
  if (!Array.isArray(records) || records.some((r) => !Array.isArray(r) || r[1] + r[2] > buf.length - 8 - len)) throw damaged("header entries out of range");
  return records;
}

interface OpenPack {
  id: string;
  /** Blobs are copied in as they come: one buffer per pack, no parts to concatenate later. */
  buf: Buffer;
  records: BlobRecord[];
  size: number;
}

/** A pack that is on the target (durable after the target's flush) and not yet in an index. */
export interface WrittenPack {
  id: string;
  records: BlobRecord[];
  /** Bytes of the pack object. */
  size: number;
}

/**
 * Collects encoded blobs into packs and uploads them, a few at a time. A blob is "pending" from
 * add() until its pack is written; failed packs drop their blobs (so a later run writes them
 * again) and the failure is thrown by the next add() or drain().
 */
export class PackWriter {
  private open: OpenPack | undefined;
  private readonly uploads = new Set<Promise<void>>();
  private readonly pending = new Map<string, OpenPack>();
  /** Written, not yet indexed: taken by the repository when it writes an index object. */
  private written: WrittenPack[] = [];
  private readonly writtenIds = new Set<string>();
  private failure: { err: unknown } | undefined;
  /** Buffers of packs already written, reused: a fresh 12 MiB per pack was most of a backup's garbage. */
  private readonly spare: Buffer[] = [];

  constructor(
    private readonly target: Target,
    private readonly codec: PackCodec,
  ) {}

  /** The blob is in an open, uploading or written-but-unindexed pack of this process. */
  has(id: string): boolean {
    return this.pending.has(id) || this.writtenIds.has(id);
  }

  /** `encoded` may come in pieces (as sealed): they are copied into the pack, in order, as one blob. */
  async add(id: string, encoded: Uint8Array | Uint8Array[], size: number): Promise<void> {
    this.throwFailure();
    if (this.pending.has(id)) return;
    const parts = Array.isArray(encoded) ? encoded : [encoded];
    const length = byteLength(parts);
    let pack = this.open;
    if (pack && pack.size + length > pack.buf.length) await this.close();
    pack = this.open ??= { id: randomBytes(16).toString("hex"), buf: this.buffer(length), records: [], size: 0 };
    pack.records.push([id, pack.size, length, size]);
    for (const part of parts) {
      pack.buf.set(part, pack.size);
      pack.size += part.length;
    }
    this.pending.set(id, pack);
    if (pack.size >= PACK_SIZE) await this.close();
  }

  /** Waits for the uploads in flight, whatever their outcome (a failure stays for the next drain). */
  async settle(): Promise<void> {
    await Promise.allSettled(this.uploads);
  }

  /** Closes the open pack and waits for every upload; throws the first failure since the last drain. */
  async drain(): Promise<void> {
    if (this.open) await this.close();
    await Promise.allSettled(this.uploads);
    this.throwFailure();
  }

  /**
   * Packs written since the last call, for the caller to index. Their blobs still count as ours
   * (has) until markIndexed, so nothing is packed twice while the index object is written.
   */
  takeWritten(): WrittenPack[] {
    const w = this.written;
    this.written = [];
    return w;
  }

  markIndexed(packs: WrittenPack[]): void {
    for (const p of packs) for (const [id] of p.records) this.writtenIds.delete(id);
  }

  /** The index write failed: these packs are indexed by the next attempt. */
  giveBack(packs: WrittenPack[]): void {
    this.written.unshift(...packs);
  }

  private throwFailure(): void {
    if (!this.failure) return;
    const { err } = this.failure;
    this.failure = undefined;
    throw err;
  }

  private async close(): Promise<void> {
    const pack = this.open!;
    this.open = undefined;
    while (this.uploads.size >= UPLOADS) await Promise.race(this.uploads);
    const p: Promise<void> = this.upload(pack).then(
      (size) => {
        this.written.push({ id: pack.id, records: pack.records, size });
        for (const [id] of pack.records) this.writtenIds.add(id);
        this.forget(pack);
        this.uploads.delete(p);
      },
      (err: unknown) => {
        this.failure ??= { err };
        this.forget(pack);
        this.uploads.delete(p);
      },
    );
    this.uploads.add(p);
  }

  private async upload(pack: OpenPack): Promise<number> {
    const key = packKey(pack.id);
    const header = await this.codec.encode(key, Buffer.from(JSON.stringify(pack.records)));
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(header.length, 0);
    MAGIC.copy(trailer, 4);
    let data: Buffer;
    if (pack.size + header.length + trailer.length <= pack.buf.length) {
      header.copy(pack.buf, pack.size);
      trailer.copy(pack.buf, pack.size + header.length);
      data = pack.buf.subarray(0, pack.size + header.length + trailer.length);
    } else data = Buffer.concat([pack.buf.subarray(0, pack.size), header, trailer]);
    await this.target.put(key, data);
    return data.length;
  }

  private forget(pack: OpenPack): void {
    for (const [id] of pack.records) if (this.pending.get(id) === pack) this.pending.delete(id);
    // put has returned (retries included): the target no longer reads the buffer.
    if (pack.buf.length === PACK_CAPACITY && this.spare.length < UPLOADS + 1) this.spare.push(pack.buf);
    pack.buf = EMPTY;
  }

  private buffer(first: number): Buffer {
    return first <= PACK_CAPACITY ? (this.spare.pop() ?? Buffer.allocUnsafe(PACK_CAPACITY)) : Buffer.allocUnsafe(first);
  }
}
