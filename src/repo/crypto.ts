/**
 * Encryption at rest. A random 64-byte master key (32 bytes AES-256-GCM key, 32 bytes HMAC key
 * for chunk ids) is wrapped by a key derived from the passphrase with scrypt, and stored as
 * `keys/<id>`; changing the passphrase later only rewrites that small object. Every sealed object
 * is nonce(12) || ciphertext || tag(16), with the object's key as associated data, so an object
 * moved or swapped to another name fails authentication too.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, hash, randomBytes, scrypt } from "node:crypto";
import os from "node:os";

export interface MasterKey {
  enc: Buffer;
  id: Buffer;
}

/** `keys/<id>`: everything needed to unwrap the master key, except the passphrase. */
export interface KeyFile {
  version: 1;
  kdf: "scrypt";
  N: number;
  r: number;
  p: number;
  salt: string;
  /** base64 of nonce || AES-256-GCM(master key) || tag. */
  wrapped: string;
  created: string;
  host: string;
}

export const SCRYPT = { N: 2 ** 15, r: 8, p: 1 };
const NONCE = 12;
const TAG = 16;

export function newMasterKey(): MasterKey {
  const k = randomBytes(64);
  return { enc: k.subarray(0, 32), id: k.subarray(32) };
}

/**
 * Keys derived in this process, by a hash of everything that went in: plan's refresh and apply
 * open the same repository in one process, and scrypt (~0.1 s, 32 MiB) need not run twice.
 * Memory only; nothing derived is ever written anywhere.
 */
const derived = new Map<string, Promise<Buffer>>();

function derive(passphrase: string, salt: Buffer, N: number, r: number, p: number): Promise<Buffer> {
  const id = createHash("sha256").update(JSON.stringify([passphrase.normalize("NFC"), salt.toString("base64"), N, r, p])).digest("base64");
  let key = derived.get(id);
  if (!key) {
    started++;
    key = scryptKey(passphrase, salt, N, r, p);
    key.catch(() => derived.delete(id));
    derived.set(id, key);
  }
  return key;
}

function scryptKey(passphrase: string, salt: Buffer, N: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    // maxmem: 128*N*r is 32 MiB at the defaults, exactly Node's default limit.
    scrypt(passphrase.normalize("NFC"), salt, 32, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/** `repoId` is bound in as associated data: a key file only opens the repository it was made for. */
export async function wrapMasterKey(master: MasterKey, passphrase: string, repoId: string, params = SCRYPT): Promise<KeyFile> {
  const salt = randomBytes(32);
  const kek = await derive(passphrase, salt, params.N, params.r, params.p);
  const wrapped = seal(kek, [Buffer.concat([master.enc, master.id])], `key ${repoId}`);
  return {
    version: 1,
    kdf: "scrypt",
    ...params,
    salt: salt.toString("base64"),
    wrapped: wrapped.toString("base64"),
    created: new Date().toISOString(),
    host: os.hostname(),
  };
}

/**
 * The key-encryption key a key file asks for, derived once per process (see `derived`); undefined
 * for a file we would not open. Also started ahead of the open by ./key-hint.ts.
 */
export function deriveKek(file: KeyFile, passphrase: string): Promise<Buffer> | undefined {
  if (file.kdf !== "scrypt" || file.version !== 1) return undefined;
  // Bounds guard: a hostile key file must not make us allocate gigabytes.
  if (!(file.N >= 2 ** 10 && file.N <= 2 ** 22 && file.r >= 1 && file.r <= 32 && file.p >= 1 && file.p <= 16)) return undefined;
  return derive(passphrase, Buffer.from(String(file.salt), "base64"), file.N, file.r, file.p);
}

/** Derivations this process has started (finished or not): diagnostics and tests. */
export function derivationsStarted(): number {
  return started;
}
let started = 0;

/** The master key, or undefined when the passphrase does not open this key file. */
export async function unwrapMasterKey(file: KeyFile, passphrase: string, repoId: string): Promise<MasterKey | undefined> {
  const deriving = deriveKek(file, passphrase);
  if (!deriving) return undefined;
  const kek = await deriving;
  const plain = unseal(kek, Buffer.from(String(file.wrapped), "base64"), `key ${repoId}`);
  if (!plain || plain.length !== 64) return undefined;
  return { enc: plain.subarray(0, 32), id: plain.subarray(32) };
}

export function seal(key: Buffer, parts: Uint8Array[], aad: string): Buffer {
  return Buffer.concat(sealParts(key, parts, aad));
}

/** seal's bytes in pieces, for a caller that copies them on anyway (into a pack): one copy fewer. */
export function sealParts(key: Buffer, parts: Uint8Array[], aad: string): Buffer[] {
  const nonce = randomBytes(NONCE);
  const c = createCipheriv("aes-256-gcm", key, nonce);
  c.setAAD(Buffer.from(aad));
  return [nonce, ...parts.map((p) => c.update(p)), c.final(), c.getAuthTag()];
}

/** Plaintext, or undefined when authentication fails (wrong key, tampered, truncated). */
export function unseal(key: Buffer, data: Uint8Array, aad: string): Buffer | undefined {
  if (data.length < NONCE + TAG) return undefined;
  const buf = Buffer.from(data.buffer, data.byteOffset, data.length);
  try {
    const d = createDecipheriv("aes-256-gcm", key, buf.subarray(0, NONCE));
    d.setAAD(Buffer.from(aad));
    d.setAuthTag(buf.subarray(buf.length - TAG));
    const plain = d.update(buf.subarray(NONCE, buf.length - TAG));
    const rest = d.final(); // checks the tag; GCM is a stream mode, so it has no bytes left to give
    return rest.length === 0 ? plain : Buffer.concat([plain, rest]);
  } catch {
    return undefined;
  }
}

/** Keyed chunk id: equal content gives equal ids inside one repository, and reveals nothing outside. */
export function keyedId(idKey: Buffer, digest: Buffer): string {
  return createHmac("sha256", idKey).update(digest).digest("hex");
}

/**
 * keyedId for many digests: HMAC-SHA256 spelled out (RFC 2104) as two one-shot sha256 over
 * buffers whose padded key half is made once, the digest written in place (as hex, straight from
 * the stat cache). A no-change backup asks for one id per chunk of every file, ~5 500 on the
 * bench: 27 ms of createHmac objects and hex-to-Buffer copies, ~10 ms this way. Tests hold it to
 * createHmac.
 */
export class KeyedIds {
  private readonly inner = Buffer.alloc(64 + 32);
  private readonly outer = Buffer.alloc(64 + 32);

  constructor(private readonly idKey: Buffer) {
    if (idKey.length > 64) throw new RangeError("HMAC keys over 64 bytes are hashed first; ours are 32");
    for (let i = 0; i < 64; i++) {
      this.inner[i] = (idKey[i] ?? 0) ^ 0x36;
      this.outer[i] = (idKey[i] ?? 0) ^ 0x5c;
    }
  }

  of(digest: Buffer | string): string {
    // Anything but 32 bytes (a damaged stat-cache row) takes the general path: an id nothing has.
    if (typeof digest === "string" ? digest.length !== 64 || this.inner.write(digest, 64, "hex") !== 32 : digest.length !== 32) {
      return keyedId(this.idKey, typeof digest === "string" ? Buffer.from(digest, "hex") : digest);
    }
    if (typeof digest !== "string") digest.copy(this.inner, 64);
    this.outer.set(hash("sha256", this.inner, "buffer"), 64);
    return hash("sha256", this.outer, "hex");
  }
}
