import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
  UploadPartCopyCommand,
  type Part,
} from '@aws-sdk/client-s3';
import { HashingCounter } from './hashing.ts';
import {
  ArtifactNotFoundError,
  InvalidUploadError,
  UploadNotFoundError,
  checkPartsJoinable,
  type ArtifactScope,
  type ArtifactStore,
  type ByteRange,
  type CompleteOptions,
  type PutOptions,
  type StoredObject,
  type UploadInfo,
  type UploadPart,
} from './store.ts';

export interface S3StoreOptions {
  bucket: string;
  /** Key prefix ("" or ending without "/"; one is added). */
  prefix: string;
  /** An S3-compatible endpoint (`http://127.0.0.1:8333`); AWS when absent. */
  endpoint?: string;
  region?: string;
  /** Path-style addressing (`endpoint/bucket/key`), which most S3-compatible servers need. */
  forcePathStyle?: boolean;
  /** Explicit credentials; otherwise the SDK's default chain (env, profile, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Size of the parts a streamed put is cut into (default 8 MiB): the memory one put holds. */
  partBytes?: number;
}

const UPLOAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** The record key of an upload (not its `.parts/` records, not its staged `.data`). */
const UPLOAD_RECORD_KEY = /\.uploads\/[^/]+\/[^/]+\/[0-9a-f-]{36}$/;
/** CopyObject's largest source; bigger objects are copied part by part. */
const MAX_COPY_BYTES = 5 * 1024 ** 3;

/** A client-driven upload: its artifact path, S3's upload id and the key S3 assembles it at. */
interface UploadRecord {
  path: string;
  s3UploadId: string;
  /** The staging key; absent in records written before staging (then: the artifact's key). */
  key?: string;
}

function isMissing(error: unknown): boolean {
  if (!(error instanceof S3ServiceException)) return false;
  return (
    error.name === 'NoSuchKey' ||
    error.name === 'NotFound' ||
    error.name === 'NoSuchUpload' ||
    error.$metadata.httpStatusCode === 404
  );
}

/** Reads `source` into buffers of `size` bytes (the last may be shorter); memory: one part. */
async function* chunked(source: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const chunk of source) {
    let rest = chunk;
    while (pendingBytes + rest.length >= size) {
      const take = size - pendingBytes;
      pending.push(rest.subarray(0, take));
      yield Buffer.concat(pending, size);
      rest = rest.subarray(take);
      pending = [];
      pendingBytes = 0;
    }
    if (rest.length > 0) {
      pending.push(rest);
      pendingBytes += rest.length;
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes);
}

/**
 * Artifacts in an S3-compatible bucket (AWS SDK v3):
 *
 *   <prefix>/<workspace>/<runId>/<path>                 the files, as logged
 *   <prefix>/.uploads/<workspace>/<runId>/<uploadId>    a multipart upload's record (path + S3 id)
 *
 * A streamed put is cut into parts of `partBytes` and sent as an S3 multipart upload (one part
 * in memory at a time); the digest is known before the upload is completed, so a size or sha256
 * failure aborts it and leaves any previous object untouched. Client-driven multipart uploads
 * map onto S3's own, assembled at a staging key under `.uploads/`: completing one reads the staged
 * object back once to compute its sha256, and only bytes of the expected digest are copied
 * (server-side) to the artifact's key, so a mismatch leaves nothing visible under the path.
 */
export class S3ArtifactStore implements ArtifactStore {
  readonly description: string;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly partBytes: number;

  constructor(opts: S3StoreOptions) {
    this.bucket = opts.bucket;
    this.prefix = opts.prefix.replace(/^\/+|\/+$/g, '');
    this.partBytes = opts.partBytes ?? 8 * 1024 * 1024;
    this.description = `s3://${opts.bucket}/${this.prefix}${opts.endpoint ? ` at ${opts.endpoint}` : ''}`;
    this.client = new S3Client({
      endpoint: opts.endpoint,
      region: opts.region ?? 'us-east-1',
      forcePathStyle: opts.forcePathStyle ?? false,
      credentials: opts.credentials,
      // Plain requests that every S3-compatible server understands (no aws-chunked trailers).
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  private key(scope: ArtifactScope, artifactPath: string): string {
    const base = `${scope.workspaceId}/${scope.runId}/${artifactPath}`;
    return this.prefix ? `${this.prefix}/${base}` : base;
  }

  private uploadKey(scope: ArtifactScope, uploadId: string): string {
    if (!UPLOAD_ID.test(uploadId)) throw new UploadNotFoundError(uploadId);
    const base = `.uploads/${scope.workspaceId}/${scope.runId}/${uploadId}`;
    return this.prefix ? `${this.prefix}/${base}` : base;
  }

  async put(
    scope: ArtifactScope,
    artifactPath: string,
    body: Readable,
    opts: PutOptions,
  ): Promise<StoredObject> {
    const Key = this.key(scope, artifactPath);
    const counter = new HashingCounter(opts.maxBytes);
    const parts = chunked(counter.through(body), this.partBytes);
    const first = await parts.next();
    const firstPart = first.done ? Buffer.alloc(0) : first.value;
    if (firstPart.length < this.partBytes) {
      // The whole object fits in one part: checked first, then sent with one request.
      const result = counter.result(opts.expectedSha256);
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key,
          Body: firstPart,
          ContentLength: firstPart.length,
        }),
      );
      return result;
    }
    const { UploadId } = await this.client.send(
      new CreateMultipartUploadCommand({ Bucket: this.bucket, Key }),
    );
    if (!UploadId) throw new Error('S3 CreateMultipartUpload returned no UploadId');
    try {
      const done: Part[] = [];
      let part: Buffer | undefined = firstPart;
      while (part) {
        const PartNumber = done.length + 1;
        const { ETag } = await this.client.send(
          new UploadPartCommand({
            Bucket: this.bucket,
            Key,
            UploadId,
            PartNumber,
            Body: part,
            ContentLength: part.length,
          }),
        );
        done.push({ ETag, PartNumber });
        const next = await parts.next();
        part = next.done ? undefined : next.value;
      }
      const result = counter.result(opts.expectedSha256);
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key,
          UploadId,
          MultipartUpload: { Parts: done },
        }),
      );
      return result;
    } catch (error) {
      await this.client
        .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId }))
        .catch(() => undefined);
      throw error;
    }
  }

  async stat(scope: ArtifactScope, artifactPath: string): Promise<{ size: number } | null> {
    try {
      const head = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(scope, artifactPath) }),
      );
      return { size: head.ContentLength ?? 0 };
    } catch (error) {
      if (isMissing(error)) return null;
      throw error;
    }
  }

  async get(scope: ArtifactScope, artifactPath: string, range?: ByteRange): Promise<Readable> {
    try {
      const object = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.key(scope, artifactPath),
          Range: range ? `bytes=${range.start}-${range.end}` : undefined,
        }),
      );
      if (!(object.Body instanceof Readable)) throw new Error('S3 GetObject returned no stream');
      return object.Body;
    } catch (error) {
      if (isMissing(error)) throw new ArtifactNotFoundError(artifactPath);
      throw error;
    }
  }

  async delete(scope: ArtifactScope, artifactPath: string): Promise<void> {
    await this.client.send(
      new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(scope, artifactPath) }),
    );
  }

  async createUpload(scope: ArtifactScope, artifactPath: string): Promise<string> {
    const uploadId = randomUUID();
    const key = `${this.uploadKey(scope, uploadId)}.data`;
    const { UploadId } = await this.client.send(
      new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key }),
    );
    if (!UploadId) throw new Error('S3 CreateMultipartUpload returned no UploadId');
    const record = JSON.stringify({ path: artifactPath, s3UploadId: UploadId, key });
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.uploadKey(scope, uploadId),
        Body: record,
        ContentType: 'application/json',
      }),
    );
    return uploadId;
  }

  /** Where S3 assembles an upload's parts. */
  private stagingKey(scope: ArtifactScope, upload: UploadRecord): string {
    return upload.key ?? this.key(scope, upload.path);
  }

  private async readUpload(scope: ArtifactScope, uploadId: string): Promise<UploadRecord> {
    try {
      const object = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.uploadKey(scope, uploadId) }),
      );
      const text = (await object.Body?.transformToString('utf8')) ?? '';
      return JSON.parse(text) as UploadRecord;
    } catch (error) {
      if (isMissing(error)) throw new UploadNotFoundError(uploadId);
      throw error;
    }
  }

  async putPart(
    scope: ArtifactScope,
    uploadId: string,
    part: number,
    body: Readable,
    size: number,
  ): Promise<StoredObject> {
    const upload = await this.readUpload(scope, uploadId);
    const counter = new HashingCounter(size);
    let etag: string | undefined;
    try {
      ({ ETag: etag } = await this.client.send(
        new UploadPartCommand({
          Bucket: this.bucket,
          Key: this.stagingKey(scope, upload),
          UploadId: upload.s3UploadId,
          PartNumber: part,
          Body: Readable.from(counter.through(body)),
          ContentLength: size,
        }),
      ));
    } catch (error) {
      if (isMissing(error)) throw new UploadNotFoundError(uploadId);
      throw error;
    }
    const result = counter.result();
    if (result.size !== size)
      throw new InvalidUploadError(`Part ${part} ended after ${result.size} of ${size} bytes`);
    // Which upload of a part number was acknowledged last: some S3-compatible servers list every
    // upload of a re-sent part, not just the newest.
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.partRecordKey(scope, uploadId, part),
        Body: JSON.stringify({ etag: etag ?? '', size }),
        ContentType: 'application/json',
      }),
    );
    return result;
  }

  private partRecordKey(scope: ArtifactScope, uploadId: string, part: number): string {
    return `${this.uploadKey(scope, uploadId)}.parts/${String(part).padStart(5, '0')}`;
  }

  /** One entry per part number; for a part listed more than once, the acknowledged one. */
  private async latestParts(
    scope: ArtifactScope,
    uploadId: string,
    listed: readonly Part[],
  ): Promise<Part[]> {
    const byNumber = new Map<number, Part[]>();
    for (const p of listed) {
      const n = p.PartNumber ?? 0;
      byNumber.set(n, [...(byNumber.get(n) ?? []), p]);
    }
    const parts: Part[] = [];
    for (const [n, candidates] of byNumber) {
      if (candidates.length === 1) {
        parts.push(candidates[0]!);
        continue;
      }
      const object = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.partRecordKey(scope, uploadId, n) }),
      );
      const record = JSON.parse((await object.Body?.transformToString('utf8')) ?? '{}') as {
        etag?: string;
      };
      const unquote = (etag: string | undefined) => (etag ?? '').replace(/"/g, '');
      const chosen = candidates.find((c) => unquote(c.ETag) === unquote(record.etag));
      if (!chosen)
        throw new Error(`S3 lists part ${n} of upload ${uploadId} without its newest ETag`);
      parts.push(chosen);
    }
    return parts.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
  }

  private async deleteUploadRecords(scope: ArtifactScope, uploadId: string): Promise<void> {
    const prefix = `${this.uploadKey(scope, uploadId)}.parts/`;
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
      if (keys.length > 0)
        await this.client.send(
          new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys, Quiet: true } }),
        );
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    await this.client.send(
      new DeleteObjectCommand({ Bucket: this.bucket, Key: this.uploadKey(scope, uploadId) }),
    );
  }

  private async listS3Parts(
    scope: ArtifactScope,
    upload: UploadRecord,
    uploadId: string,
  ): Promise<Part[]> {
    const parts: Part[] = [];
    let marker: string | undefined;
    try {
      for (;;) {
        const page = await this.client.send(
          new ListPartsCommand({
            Bucket: this.bucket,
            Key: this.stagingKey(scope, upload),
            UploadId: upload.s3UploadId,
            PartNumberMarker: marker,
          }),
        );
        parts.push(...(page.Parts ?? []));
        if (!page.IsTruncated || !page.NextPartNumberMarker) break;
        marker = page.NextPartNumberMarker;
      }
    } catch (error) {
      if (isMissing(error)) throw new UploadNotFoundError(uploadId);
      throw error;
    }
    return parts.sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
  }

  async getUpload(scope: ArtifactScope, uploadId: string): Promise<UploadInfo> {
    const upload = await this.readUpload(scope, uploadId);
    const parts = await this.latestParts(
      scope,
      uploadId,
      await this.listS3Parts(scope, upload, uploadId),
    );
    return {
      path: upload.path,
      parts: parts.map((p): UploadPart => ({ part: p.PartNumber ?? 0, size: p.Size ?? 0 })),
    };
  }

  async completeUpload(
    scope: ArtifactScope,
    uploadId: string,
    opts: CompleteOptions = {},
  ): Promise<StoredObject & { path: string }> {
    const upload = await this.readUpload(scope, uploadId);
    const parts = await this.latestParts(
      scope,
      uploadId,
      await this.listS3Parts(scope, upload, uploadId),
    );
    checkPartsJoinable(parts.map((p) => ({ part: p.PartNumber ?? 0, size: p.Size ?? 0 })));
    const staged = this.stagingKey(scope, upload);
    const target = this.key(scope, upload.path);
    await this.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: this.bucket,
        Key: staged,
        UploadId: upload.s3UploadId,
        MultipartUpload: { Parts: parts.map((p) => ({ ETag: p.ETag, PartNumber: p.PartNumber })) },
      }),
    );
    if (staged === target) {
      // An upload started before staging: it is in place already; hash what is there.
      await this.deleteUploadRecords(scope, uploadId);
      const counter = new HashingCounter();
      for await (const chunk of counter.through(await this.get(scope, upload.path))) void chunk;
      return { ...counter.result(), path: upload.path };
    }
    try {
      // S3 keeps no whole-object sha256 of a multipart object: read the staged one back once.
      const counter = new HashingCounter();
      const object = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: staged }),
      );
      if (!(object.Body instanceof Readable)) throw new Error('S3 GetObject returned no stream');
      for await (const chunk of counter.through(object.Body)) void chunk;
      const result = counter.result(opts.expectedSha256);
      await this.copy(staged, target, result.size);
      return { ...result, path: upload.path };
    } finally {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: staged }));
      await this.deleteUploadRecords(scope, uploadId);
    }
  }

  /** Server-side copy of `size` bytes from one key to another (part by part past 5 GiB). */
  private async copy(from: string, to: string, size: number): Promise<void> {
    const CopySource = `${this.bucket}/${from.split('/').map(encodeURIComponent).join('/')}`;
    if (size <= MAX_COPY_BYTES) {
      await this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: to, CopySource }));
      return;
    }
    const partBytes = Math.max(512 * 1024 ** 2, Math.ceil(size / 10_000));
    const { UploadId } = await this.client.send(
      new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: to }),
    );
    if (!UploadId) throw new Error('S3 CreateMultipartUpload returned no UploadId');
    try {
      const done: Part[] = [];
      for (let start = 0; start < size; start += partBytes) {
        const end = Math.min(size, start + partBytes) - 1;
        const PartNumber = done.length + 1;
        const { CopyPartResult } = await this.client.send(
          new UploadPartCopyCommand({
            Bucket: this.bucket,
            Key: to,
            UploadId,
            PartNumber,
            CopySource,
            CopySourceRange: `bytes=${start}-${end}`,
          }),
        );
        done.push({ ETag: CopyPartResult?.ETag, PartNumber });
      }
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: to,
          UploadId,
          MultipartUpload: { Parts: done },
        }),
      );
    } catch (error) {
      await this.client
        .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: to, UploadId }))
        .catch(() => undefined);
      throw error;
    }
  }

  async abortUpload(scope: ArtifactScope, uploadId: string): Promise<void> {
    const upload = await this.readUpload(scope, uploadId);
    await this.client
      .send(
        new AbortMultipartUploadCommand({
          Bucket: this.bucket,
          Key: this.stagingKey(scope, upload),
          UploadId: upload.s3UploadId,
        }),
      )
      .catch((error: unknown) => {
        if (!isMissing(error)) throw error;
      });
    await this.deleteUploadRecords(scope, uploadId);
  }

  async expireUploads(cutoff: Date): Promise<number> {
    let expired = 0;
    // Client-driven uploads, by their record (written when the upload started).
    const uploads = this.prefix ? `${this.prefix}/.uploads/` : '.uploads/';
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: uploads,
          ContinuationToken: token,
        }),
      );
      for (const object of page.Contents ?? []) {
        if (!object.Key || !UPLOAD_RECORD_KEY.test(object.Key)) continue;
        if (!object.LastModified || object.LastModified >= cutoff) continue;
        const [workspaceId, runId, uploadId] = object.Key.slice(uploads.length).split('/');
        try {
          await this.abortUpload({ workspaceId: workspaceId!, runId: runId! }, uploadId!);
          expired += 1;
        } catch (error) {
          if (!(error instanceof UploadNotFoundError)) throw error;
        }
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    // S3 uploads with no record (a streamed put whose process died before it could abort).
    let keyMarker: string | undefined;
    let idMarker: string | undefined;
    for (;;) {
      const page = await this.client.send(
        new ListMultipartUploadsCommand({
          Bucket: this.bucket,
          Prefix: this.prefix ? `${this.prefix}/` : undefined,
          KeyMarker: keyMarker,
          UploadIdMarker: idMarker,
        }),
      );
      for (const u of page.Uploads ?? []) {
        if (!u.Key || !u.UploadId || !u.Initiated || u.Initiated >= cutoff) continue;
        await this.client
          .send(
            new AbortMultipartUploadCommand({
              Bucket: this.bucket,
              Key: u.Key,
              UploadId: u.UploadId,
            }),
          )
          .catch((error: unknown) => {
            if (!isMissing(error)) throw error;
          });
        expired += 1;
      }
      if (!page.IsTruncated || !page.NextKeyMarker) break;
      keyMarker = page.NextKeyMarker;
      idMarker = page.NextUploadIdMarker;
    }
    return expired;
  }

  close(): Promise<void> {
    this.client.destroy();
    return Promise.resolve();
  }
}
