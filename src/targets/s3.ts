/**
 * S3-compatible object storage (AWS, Backblaze B2's S3 API, MinIO, Cloudflare R2, Wasabi) on the
 * official AWS SDK v3. A single PUT is atomic for readers; objects above MULTIPART_THRESHOLD go up
 * in parts, and the multipart upload only becomes visible when it completes, so that is atomic too.
 * The SDK's own retries are off: withRetry (retry.ts) is the one policy, fed by `transient`.
 * The SDK is imported lazily so `backplan validate` and `--help` never pay for loading it.
 */
import { NotFoundError, TargetError, errorMessage } from "../errors.js";
import type { AccessCheck } from "./retry.js";
import type { ObjectInfo, Target } from "./target.js";

export const MULTIPART_THRESHOLD = 16 * 1024 * 1024;
const PART_SIZE = 16 * 1024 * 1024;

export interface S3Options {
  name: string;
  bucket: string;
  /** Key prefix inside the bucket; "" or e.g. "backplan/" (a trailing slash is added). */
  prefix?: string;
  region?: string;
  /** For anything but AWS, e.g. https://s3.eu-central-003.backblazeb2.com or http://127.0.0.1:9000. */
  endpoint?: string;
  forcePathStyle?: boolean;
  /** Already resolved from `${env:…}` references; absent = the SDK's default credential chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Socket timeouts; tests make them short. */
  connectTimeoutMs?: number;
  /** A socket idle this long (no byte either way) fails the request as a transient timeout. */
  idleTimeoutMs?: number;
}

type Sdk = typeof import("@aws-sdk/client-s3");
type Client = import("@aws-sdk/client-s3").S3Client;

export class S3Target implements Target, AccessCheck {
  readonly name: string;
  readonly where: string;
  readonly bucket: string;
  readonly prefix: string;
  private readonly region: string;
  private readonly endpoint: string;
  private closed = false;

  private constructor(
    private readonly sdk: Sdk,
    private readonly client: Client,
    opts: S3Options,
  ) {
    this.name = opts.name;
    this.bucket = opts.bucket;
    this.prefix = normalisePrefix(opts.prefix ?? "");
    this.where = describeS3(opts);
    this.region = opts.region ?? "the configured region";
    this.endpoint = opts.endpoint ? safeOrigin(opts.endpoint) : "the AWS endpoint";
  }

  static async open(opts: S3Options): Promise<S3Target> {
    // The SDK warns on Node 20 at import time; the warning is noise for our users.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
    const sdk = await import("@aws-sdk/client-s3");
    const client = new sdk.S3Client({
      region: opts.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1",
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
      forcePathStyle: opts.forcePathStyle ?? false,
      ...(opts.credentials ? { credentials: opts.credentials } : {}),
      maxAttempts: 1,
      followRegionRedirects: true,
      // Newer SDKs add CRC32 trailers by default, which B2, R2 and older MinIO reject; the
      // repository format hashes every object itself.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      requestHandler: {
        connectionTimeout: opts.connectTimeoutMs ?? 10_000,
        // An idle timeout, not a total one (requestTimeout only warns in this SDK, and a total
        // limit would fail slow but healthy uploads).
        socketTimeout: opts.idleTimeoutMs ?? 60_000,
      },
    });
    return new S3Target(sdk, client, opts);
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    const Key = this.keyOf(key);
    try {
      if (data.length <= MULTIPART_THRESHOLD) {
        await this.client.send(new this.sdk.PutObjectCommand({ Bucket: this.bucket, Key, Body: data, ContentLength: data.length }));
        return;
      }
      const { Upload } = await import("@aws-sdk/lib-storage");
      // Parts are aborted on failure; a bucket lifecycle rule cleans up what an abort could not.
      await new Upload({
        client: this.client,
        params: { Bucket: this.bucket, Key, Body: data },
        partSize: PART_SIZE,
        queueSize: 4,
        leavePartsOnError: false,
      }).done();
    } catch (err) {
      throw this.wrap(err, "put", key);
    }
  }

  async get(key: string): Promise<Uint8Array> {
    try {
      const res = await this.client.send(new this.sdk.GetObjectCommand({ Bucket: this.bucket, Key: this.keyOf(key) }));
      if (!res.Body) return new Uint8Array(0);
      return await res.Body.transformToByteArray();
    } catch (err) {
      if (nameOf(err) === "NoSuchKey") throw new NotFoundError(key, this.where);
      throw this.wrap(err, "get", key);
    }
  }

  async getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    if (length <= 0) return new Uint8Array(0);
    try {
      const res = await this.client.send(
        new this.sdk.GetObjectCommand({ Bucket: this.bucket, Key: this.keyOf(key), Range: `bytes=${offset}-${offset + length - 1}` }),
      );
      if (!res.Body) return new Uint8Array(0);
      return await res.Body.transformToByteArray();
    } catch (err) {
      if (nameOf(err) === "NoSuchKey") throw new NotFoundError(key, this.where);
      // Past the end of the object: nothing there, as with a local file.
      if (statusOf(err) === 416 || nameOf(err) === "InvalidRange") return new Uint8Array(0);
      throw this.wrap(err, "get", key);
    }
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    try {
      const res = await this.client.send(new this.sdk.HeadObjectCommand({ Bucket: this.bucket, Key: this.keyOf(key) }));
      return { key, size: res.ContentLength ?? 0 };
    } catch (err) {
      // HEAD has no body, so a missing bucket is also a bare 404: checkAccess() tells them apart.
      if (statusOf(err) === 404 || nameOf(err) === "NotFound" || nameOf(err) === "NoSuchKey") return undefined;
      throw this.wrap(err, "stat", key);
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    let token: string | undefined;
    try {
      do {
        const res = await this.client.send(
          new this.sdk.ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, ContinuationToken: token }),
        );
        for (const o of res.Contents ?? []) {
          // Folder markers made by consoles and other tools are not objects of ours.
          if (!o.Key || o.Key.endsWith("/")) continue;
          out.push({ key: o.Key.slice(this.prefix.length), size: o.Size ?? 0 });
        }
        token = res.IsTruncated ? res.NextContinuationToken : undefined;
      } while (token);
    } catch (err) {
      throw this.wrap(err, "list", prefix);
    }
    return out;
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new this.sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: this.keyOf(key) }));
    } catch (err) {
      if (nameOf(err) === "NoSuchKey") return;
      throw this.wrap(err, "delete", key);
    }
  }

  /** HeadBucket: one cheap request that tells a missing bucket, wrong keys and no network apart. */
  async checkAccess(): Promise<void> {
    try {
      await this.client.send(new this.sdk.HeadBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      if (statusOf(err) === 404) throw this.wrap(Object.assign(new Error("NoSuchBucket"), { name: "NoSuchBucket" }), "check", "");
      throw this.wrap(err, "check", "");
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client.destroy();
  }

  private keyOf(key: string): string {
    if (key === "" || key.startsWith("/")) {
      throw new TargetError(`invalid object key ${JSON.stringify(key)} for ${this.where}`, { hint: "this is a bug in backplan; please report it" });
    }
    return this.prefix + key;
  }

  private wrap(err: unknown, op: string, key: string): TargetError {
    if (err instanceof TargetError) return err;
    const b = this.bucket;
    const what = `${op}${key ? ` ${key}` : ""} on ${this.where}`;
    const fail = (why: string, hint: string, transient = false) =>
      new TargetError(`cannot ${what}: ${why}`, { hint, cause: err, transient });
    const name = nameOf(err);
    const status = statusOf(err);
    const code = (err as { code?: string }).code;
    switch (name) {
      case "NoSuchBucket":
        return fail(`bucket "${b}" does not exist`, `create bucket "${b}" (region ${this.region}), or fix \`bucket:\` of target "${this.name}"`);
      case "AccessDenied":
      case "Forbidden":
      case "AllAccessDisabled":
        return fail(`access denied to bucket "${b}"`, `give the key of target "${this.name}" permission to list, read, write and delete objects in "${b}"${this.prefix ? ` under ${this.prefix}` : ""}`);
      case "InvalidAccessKeyId":
        return fail(`the access key ID is not known to the service`, `check the access key reference of target "${this.name}" (accessKeyId) and that it belongs to this service and endpoint`);
      case "SignatureDoesNotMatch":
        return fail(`the secret access key does not match the access key ID`, `check the secret key reference of target "${this.name}" (secretAccessKey)`);
      case "ExpiredToken":
      case "InvalidToken":
      case "TokenRefreshRequired":
        return fail(`the session credentials are expired or invalid`, "refresh the credentials (e.g. `aws sso login`) and run again");
      case "CredentialsProviderError":
        return fail(`no S3 credentials found`, `set accessKeyId/secretAccessKey of target "${this.name}" to \${env:…} references, or configure the AWS default chain (AWS_ACCESS_KEY_ID, ~/.aws/credentials)`);
      case "PermanentRedirect":
      case "AuthorizationHeaderMalformed":
      case "IllegalLocationConstraintException":
        return fail(`bucket "${b}" is in another region`, `set \`region:\` of target "${this.name}" to the bucket's region`);
      case "RequestTimeTooSkewed":
        return fail(`this machine's clock is too far off`, "synchronise the clock (NTP) and run again");
      case "SlowDown":
      case "Throttling":
      case "ThrottlingException":
      case "RequestTimeout":
      case "TooManyRequestsException":
      case "InternalError":
      case "ServiceUnavailable":
        return fail(`${name} from the service`, "the service is busy or slow; the next run will try again", true);
      case "TimeoutError":
      case "RequestTimeoutException":
        return fail(`no answer from ${this.endpoint} in time`, "the service or the network is slow or down; the next run will try again", true);
    }
    if (status === 403) return fail(`access denied to bucket "${b}" (HTTP 403)`, `check the credentials and permissions of target "${this.name}"`);
    if (status === 301 || status === 400 && name === "AuthorizationHeaderMalformed")
      return fail(`bucket "${b}" is in another region`, `set \`region:\` of target "${this.name}"`);
    if (status !== undefined && (status >= 500 || status === 429 || status === 408))
      return fail(`the service answered HTTP ${status} (${name})`, "the service had a problem; the next run will try again", true);
    const netCodes = ["ECONNRESET", "ECONNREFUSED", "ETIMEDOUT", "EPIPE", "EAI_AGAIN", "ENETUNREACH", "EHOSTUNREACH", "ECONNABORTED", "UND_ERR_SOCKET"];
    if ((code && netCodes.includes(code)) || /socket hang up|timed? ?out|network/i.test(errorMessage(err))) {
      return fail(`cannot reach the service (${code ?? errorMessage(err)})`, `check the network and that ${this.endpoint} is up`, true);
    }
    if (code === "ENOTFOUND") {
      return fail(`the endpoint's host name does not resolve`, `check \`endpoint:\`/\`region:\` of target "${this.name}"`);
    }
    return fail(`${name ?? "error"}${status ? ` (HTTP ${status})` : ""}: ${errorMessage(err)}`, `check target "${this.name}"`);
  }

}

export function normalisePrefix(prefix: string): string {
  const p = prefix.replace(/^\/+/, "");
  return p === "" || p.endsWith("/") ? p : p + "/";
}

/** `S3 bucket s3://b/prefix/ (endpoint)`, the endpoint stripped of any user:password. */
export function describeS3(o: { bucket: string; prefix?: string; endpoint?: string; region?: string }): string {
  let ep = "";
  if (o.endpoint) {
    ep = ` (${safeOrigin(o.endpoint)})`;
  } else if (o.region) {
    ep = ` (AWS ${o.region})`;
  }
  return `S3 bucket s3://${o.bucket}/${normalisePrefix(o.prefix ?? "")}${ep}`;
}

function safeOrigin(endpoint: string): string {
  try {
    return new URL(endpoint).origin; // origin never includes user:password
  } catch {
    return "an invalid endpoint URL";
  }
}

function nameOf(err: unknown): string | undefined {
  return (err as { name?: string } | undefined)?.name ?? (err as { Code?: string } | undefined)?.Code;
}
function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}
