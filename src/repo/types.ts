/**
 * Repository format types (the layer between the walkers in src/capture and the transport in
 * src/targets). Object layout on every target:
 *
 *   config                   repository config (format version, chunker, encryption params)
 *   keys/<id>                master key wrapped by a passphrase-derived key (encrypted repos)
 *   data/<2 hex>/<pack id>   pack files: many encoded chunks each (./pack.ts); chunk id = content
 *                            hash (keyed HMAC when encrypted)
 *   index/<id>               which pack holds which chunk (./blob-index.ts); written after its
 *                            packs are durable, before any manifest that needs them
 *   snapshots/<id>           snapshot manifest, written LAST: a snapshot exists iff this exists
 *   verified/<snapshot id>   record of a successful restore test of that snapshot
 *   locks/<id>               repository locks (shared for backup, exclusive for prune/gc)
 */
import type { ComponentKind, Consistency } from "../spec/types.js";

export interface ManifestEntry {
  path: string;
  type: "file" | "dir" | "symlink";
  mode: number;
  mtimeMs: number;
  size: number;
  /** Chunk ids in order (files). */
  chunks?: string[];
  linkTarget?: string;
  sqlite?: boolean;
}

export interface SnapshotStats {
  files: number;
  dirs: number;
  symlinks: number;
  /** Logical bytes of all files. */
  bytes: number;
  /** Chunks and stored bytes (after compression/encryption) newly written to this target. */
  chunksNew: number;
  bytesWritten: number;
  durationMs: number;
}

/** Everything that identifies a snapshot without its entries: what observe and plan need. */
export interface SnapshotSummary {
  id: string;
  instance: string;
  component: string;
  kind: ComponentKind;
  /** ISO-8601 time the capture started. */
  time: string;
  host: string;
  tool: string;
  consistency: Consistency;
  stats: SnapshotStats;
}

export interface SnapshotManifest extends SnapshotSummary {
  formatVersion: 1;
  entries: ManifestEntry[];
}

export interface ChunkRef {
  /** sha256 of the plaintext chunk, hex: target-independent, so one stat-cache serves all. */
  digest: string;
  size: number;
}

/** Remembers how unchanged files were chunked, so they are not read again. Implemented by the catalog. */
export interface StatCache {
  get(key: StatKey): ChunkRef[] | undefined;
  set(key: StatKey, chunks: ChunkRef[]): void;
  /** Read the entries of these paths ahead, in one go, for the get()s that follow; until forget(). */
  prefetch?(instance: string, paths: string[]): void;
  forget?(): void;
}

export interface StatKey {
  instance: string;
  path: string;
  size: number;
  mtimeMs: number;
  ino: number;
  ctimeMs: number;
}

export interface VerificationRecord {
  snapshotId: string;
  time: string;
  ok: boolean;
  files: number;
  bytes: number;
  problems: string[];
}

/** The `config` object, stored in clear (it says whether the rest is encrypted). */
export interface RepoConfig {
  format: "backplan-repository";
  /** 2: chunks in pack files with an index. 1 (one object per chunk) is no longer read. */
  version: 2;
  /** Random 32 hex: tells repositories apart (e.g. two targets, one folder copied). */
  id: string;
  created: string;
  chunker: ChunkerParams;
  /** null: objects are stored in clear (still compressed and hash-checked). */
  encryption: { cipher: "aes-256-gcm"; kdf: "scrypt"; chunkId: "hmac-sha256" } | null;
}

export interface ChunkerParams {
  algorithm: "fastcdc-gear32";
  min: number;
  avg: number;
  max: number;
  /** Hex seed of the gear table. */
  seed: string;
}

/** A repository lock (`locks/<id>`): backups hold shared ones, gc an exclusive one. */
export interface LockInfo {
  id: string;
  host: string;
  pid: number;
  /** ISO-8601: taken at. */
  time: string;
  /** ISO-8601: considered stale after this unless refreshed. */
  expires: string;
  exclusive: boolean;
  /** What holds it, for messages: "backup openwebui/uploads", "gc". */
  purpose: string;
}
