/**
 * TargetSpec → Target. Remote backends are wrapped with withRetry so every caller gets the same
 * retry policy; the local folder is not (its errors are not the kind a retry fixes).
 * Secrets are resolved here, at open time, and handed straight to the SDK: never stored or logged.
 */
import path from "node:path";
import { UserError } from "../errors.js";
import type { SecretRef, TargetSpec } from "../spec/types.js";
import { LocalTarget } from "./local.js";
import { describeRemote } from "./rclone.js";
import { type AccessCheck, type RetryOptions, withRetry } from "./retry.js";
import { describeS3 } from "./s3.js";
import type { Target } from "./target.js";

export interface OpenTargetOptions {
  /** Folder of backup.yaml: relative `path:` and `config:` resolve against it. */
  specDir: string;
  resolveSecret: (ref: SecretRef) => string;
  retry?: Partial<RetryOptions>;
  /** Environment for child processes (rclone); defaults to process.env. */
  env?: NodeJS.ProcessEnv;
}

export async function openTarget(spec: TargetSpec, opts: OpenTargetOptions): Promise<Target & Partial<AccessCheck>> {
  switch (spec.type) {
    case "local":
      return new LocalTarget(spec.name, path.resolve(opts.specDir, spec.path));
    case "s3": {
      if (!spec.accessKeyId !== !spec.secretAccessKey) {
        throw new UserError(`target "${spec.name}" sets only one of accessKeyId and secretAccessKey`, {
          hint: "set both (as ${env:…} or ${file:…} references), or neither to use the AWS default credential chain",
        });
      }
      const credentials =
        spec.accessKeyId && spec.secretAccessKey
          ? { accessKeyId: opts.resolveSecret(spec.accessKeyId), secretAccessKey: opts.resolveSecret(spec.secretAccessKey) }
          : undefined;
      const { S3Target } = await import("./s3.js");
      const t = await S3Target.open({
        name: spec.name,
        bucket: spec.bucket,
        prefix: spec.prefix,
        forcePathStyle: spec.forcePathStyle,
        ...(spec.region !== undefined ? { region: spec.region } : {}),
        ...(spec.endpoint !== undefined ? { endpoint: spec.endpoint } : {}),
        ...(credentials ? { credentials } : {}),
      });
      return withRetry(t, opts.retry);
    }
    case "rclone": {
      const { RcloneTarget } = await import("./rclone.js");
      const t = await RcloneTarget.open({
        name: spec.name,
        remote: spec.remote,
        ...(spec.config !== undefined ? { config: path.resolve(opts.specDir, spec.config) } : {}),
        ...(opts.env ? { env: opts.env } : {}),
      });
      return withRetry(t, opts.retry);
    }
  }
}

/** Where a target is, for plans and messages: never contains a secret. */
export function describeTarget(spec: TargetSpec): string {
  switch (spec.type) {
    case "local":
      return `local folder ${spec.path}`;
    case "s3":
      return describeS3(spec);
    case "rclone":
      return describeRemote(spec.remote);
  }
}

export { withRetry, hasAccessCheck, isTransient, DEFAULT_RETRY, type RetryOptions, type AccessCheck } from "./retry.js";
export type { ObjectInfo, Target } from "./target.js";
