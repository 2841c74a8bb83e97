// Artifact store on S3 (or any S3-compatible server): multipart uploads through lib-storage, a HEAD after
// each upload to verify what landed, presigned GET URLs for downloads. Keys are relative to the bucket;
// s3://bucket/key URIs reach other buckets (models registered by URI). A store that cannot be reached
// gives ArtifactStoreUnavailable ("artifact store unavailable (upload)"), never its endpoint; multipart
// uploads left incomplete by an outage are aborted by `abortUploads` (jobs sweep their prefix).
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, stat } from "node:fs/promises";
import { dirname } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { type ArtifactStore, type StoredObject, UserError } from "@shortened/contracts";
import { contentTypeOf, sha256Bytes, sha256File } from "./hash.js";
import { storeCall } from "./store-errors.js";

export interface S3StoreOptions {
  bucket: string;
  endpoint?: string;
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Path-style URLs (MinIO, s3rver); default true when an endpoint is given. */
  forcePathStyle?: boolean;
  /** Bytes per multipart part. */
  partSize?: number;
}

export class S3Store implements ArtifactStore {
  readonly kind = "s3" as const;
  readonly client: S3Client;
  readonly bucket: string;
  private readonly partSize: number;

  constructor(opts: S3StoreOptions) {
    this.bucket = opts.bucket;
    this.partSize = opts.partSize ?? 16 * 1024 * 1024;
    this.client = new S3Client({
      region: opts.region ?? "us-east-1",
      endpoint: opts.endpoint,
      forcePathStyle: opts.forcePathStyle ?? Boolean(opts.endpoint),
      credentials:
        opts.accessKeyId && opts.secretAccessKey
          ? { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey }
          : undefined,
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
  }

  /** Reads S3_* / AWS_* variables (the automation contract). */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): S3Store {
    if (!env.S3_BUCKET) throw new UserError("bad_request", "S3_BUCKET is not set");
    return new S3Store({
      bucket: env.S3_BUCKET,
      endpoint: env.S3_ENDPOINT || undefined,
      region: env.S3_REGION || "us-east-1",
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
    });
  }

  /** Splits a key or an s3:// URI into bucket and key. */
  locate(keyOrUri: string): { Bucket: string; Key: string } {
    const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(keyOrUri);
    return m ? { Bucket: m[1], Key: m[2] } : { Bucket: this.bucket, Key: keyOrUri };
  }

  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch {
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
    }
  }

  async check(): Promise<void> {
    await storeCall("check", () => this.client.send(new HeadBucketCommand({ Bucket: this.bucket })));
  }

  async putFile(
    key: string,
    path: string,
    contentType?: string,
    signal?: AbortSignal,
  ): Promise<StoredObject> {
    const [sha256, info] = await Promise.all([sha256File(path), stat(path)]);
    const type = contentType ?? contentTypeOf(key);
    const upload = new Upload({
      client: this.client,
      params: { ...this.locate(key), Body: createReadStream(path), ContentType: type, Metadata: { sha256 } },
      partSize: this.partSize,
      queueSize: 4,
      leavePartsOnError: false,
    });
    const onAbort = () => void upload.abort();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      await storeCall("upload", () => upload.done());
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
    await this.verify(key, info.size);
    return { key, size: info.size, sha256, contentType: type };
  }

  async putBytes(key: string, bytes: Uint8Array, contentType?: string): Promise<StoredObject> {
    const sha256 = sha256Bytes(bytes);
    const type = contentType ?? contentTypeOf(key);
    await storeCall("upload", () =>
      this.client.send(
        new PutObjectCommand({ ...this.locate(key), Body: bytes, ContentType: type, Metadata: { sha256 } }),
      ),
    );
    await this.verify(key, bytes.byteLength);
    return { key, size: bytes.byteLength, sha256, contentType: type };
  }

  /** The object exists with the expected size (what a later reader will see). */
  private async verify(key: string, size: number): Promise<void> {
    const head = await storeCall("verify", () => this.client.send(new HeadObjectCommand(this.locate(key))));
    if (head.ContentLength !== size)
      throw new Error(
        `upload of ${key} did not verify: stored ${head.ContentLength} bytes, expected ${size}`,
      );
  }

  async getToFile(key: string, path: string, signal?: AbortSignal): Promise<void> {
    await storeCall("download", async () => {
      const out = await this.client.send(new GetObjectCommand(this.locate(key)), { abortSignal: signal });
      await mkdir(dirname(path), { recursive: true });
      await pipeline(out.Body as Readable, createWriteStream(path), { signal });
    });
  }

  async getBytes(key: string): Promise<Buffer> {
    return storeCall("download", async () => {
      const out = await this.client.send(new GetObjectCommand(this.locate(key)));
      return Buffer.from(await out.Body!.transformToByteArray());
    });
  }

  async list(prefix: string): Promise<{ key: string; size: number }[]> {
    const { Bucket, Key } = this.locate(prefix);
    const uri = prefix.startsWith("s3://");
    const out: { key: string; size: number }[] = [];
    let token: string | undefined;
    do {
      const page = await storeCall("list", () =>
        this.client.send(new ListObjectsV2Command({ Bucket, Prefix: Key, ContinuationToken: token })),
      );
      for (const o of page.Contents ?? [])
        out.push({ key: uri ? `s3://${Bucket}/${o.Key}` : o.Key!, size: Number(o.Size ?? 0) });
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  async delete(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000).map((k) => this.locate(k));
      const byBucket = new Map<string, { Key: string }[]>();
      for (const b of batch) byBucket.set(b.Bucket, [...(byBucket.get(b.Bucket) ?? []), { Key: b.Key }]);
      for (const [Bucket, Objects] of byBucket)
        await storeCall("delete", () =>
          this.client.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects, Quiet: true } })),
        );
    }
  }

  async deletePrefix(prefix: string): Promise<number> {
    const keys = (await this.list(prefix)).map((o) => o.key);
    if (keys.length) await this.delete(keys);
    return keys.length;
  }

  /**
   * Aborts the incomplete multipart uploads under a prefix (what an upload cut off by an outage leaves:
   * parts that no listing shows but that are stored and billed). Returns how many; 0 where the server
   * cannot list them (s3rver).
   */
  async abortUploads(prefix: string, initiatedBefore?: Date): Promise<number> {
    const { Bucket, Key } = this.locate(prefix);
    let n = 0;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      const page = await storeCall("list uploads", () =>
        this.client
          .send(
            new ListMultipartUploadsCommand({
              Bucket,
              Prefix: Key,
              KeyMarker: keyMarker,
              UploadIdMarker: uploadIdMarker,
            }),
          )
          .catch((e) => {
            const x = e as { name?: string; $metadata?: { httpStatusCode?: number } };
            if (x.name === "NotImplemented" || x.$metadata?.httpStatusCode === 501) return null;
            throw e;
          }),
      );
      if (!page) return n;
      for (const u of page.Uploads ?? []) {
        if (initiatedBefore && !(u.Initiated && u.Initiated < initiatedBefore)) continue;
        await storeCall("abort upload", () =>
          this.client.send(new AbortMultipartUploadCommand({ Bucket, Key: u.Key, UploadId: u.UploadId })),
        );
        n++;
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (keyMarker);
    return n;
  }

  async downloadUrl(key: string, expiresSeconds: number): Promise<string> {
    return getSignedUrl(this.client, new GetObjectCommand(this.locate(key)), { expiresIn: expiresSeconds });
  }
}
