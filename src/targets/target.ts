/**
 * The storage transport: a small object-store interface every backend implements (local
 * folder, S3, rclone). Keys are relative, `/`-separated, and never start with `/`.
 * The repository format (src/repo) is written only against this interface; retry and dry-run
 * are wrappers implementing it too. test/targets/conformance.ts is the suite every backend runs.
 */
export interface ObjectInfo {
  key: string;
  size: number;
}

export interface Target {
  /** The spec's target name, e.g. "nas". */
  readonly name: string;
  /** Where it is, for messages; never contains a secret. E.g. `local folder /mnt/nas/backplan`. */
  readonly where: string;
  /**
   * Store `data` at `key`, atomically: a reader sees either nothing or the whole object,
   * never a prefix (local: temp file + fsync + rename). Overwrites an existing object.
   */
  put(key: string, data: Uint8Array): Promise<void>;
  /** Whole object; throws NotFoundError (src/errors.ts) when absent. */
  get(key: string): Promise<Uint8Array>;
  /**
   * Optional: `length` bytes from `offset` (fewer only where the object ends); NotFoundError when
   * absent. Backends that have it let a restore read one chunk of a pack instead of the pack.
   */
  getRange?(key: string, offset: number, length: number): Promise<Uint8Array>;
  /**
   * Optional, for objects that are plain files on this machine (local folders): the file that
   * holds `key`, for a reader on another thread that reads it itself (a restore's decoder
   * threads), and `failed`, the error a failed read of it means (NotFoundError when absent), as
   * getRange would have thrown it.
   */
  localFile?(key: string): { path: string; failed(err: NodeJS.ErrnoException): Error };
  /** Size of the object, or undefined when absent. */
  stat(key: string): Promise<ObjectInfo | undefined>;
  /** Every object whose key starts with `prefix`, in no particular order; paginates internally. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** Remove; deleting an absent key is not an error. */
  delete(key: string): Promise<void>;
  /**
   * Optional: make every put that has resolved so far durable (survive a power loss). A backend
   * that has it may return from put with the object visible and whole but its name not yet on
   * stable storage (local: the folder is not fsynced per object); a crash before flush then
   * loses the object, never half of it. Backends without it are durable when put resolves.
   * The repository flushes before it writes a manifest and after, so data is durable first.
   */
  flush?(): Promise<void>;
  /** Optional: the file an object is (or would be) kept in, for targets that are local folders. */
  localPath?(key: string): string;
  /** Release connections / child processes. Safe to call twice. */
  close(): Promise<void>;
}
