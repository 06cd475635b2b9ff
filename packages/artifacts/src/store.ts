import type { Readable } from 'node:stream';

/** Whose artifacts: every key is scoped by workspace and run. */
export interface ArtifactScope {
  workspaceId: string;
  runId: string;
}

export interface StoredObject {
  size: number;
  /** Lower-case hex sha256 of the bytes, computed while they streamed through. */
  sha256: string;
}

export interface PutOptions {
  /** More bytes than this → ArtifactTooLargeError and nothing is stored. */
  maxBytes: number;
  /** Lower-case hex; a different digest → ChecksumMismatchError and nothing is stored. */
  expectedSha256?: string;
}

export interface CompleteOptions {
  /** Lower-case hex digest the joined bytes must have. */
  expectedSha256?: string;
}

/** Inclusive byte range, as in HTTP `Range: bytes=start-end`. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface UploadPart {
  part: number;
  size: number;
}

export interface UploadInfo {
  path: string;
  parts: UploadPart[];
}

/**
 * Where artifact bytes live. Implementations stream: no method holds a whole file in memory.
 * A put either stores the complete object under its key or leaves the previous state untouched.
 */
export interface ArtifactStore {
  /** A short description for logs (`file:///…`, `s3://bucket/prefix`); no secrets. */
  readonly description: string;
  put(scope: ArtifactScope, path: string, body: Readable, opts: PutOptions): Promise<StoredObject>;
  /** The object's size, or null when there is none. */
  stat(scope: ArtifactScope, path: string): Promise<{ size: number } | null>;
  /** Streams the object (or a range of it); ArtifactNotFoundError when there is none. */
  get(scope: ArtifactScope, path: string, range?: ByteRange): Promise<Readable>;
  /** Removes the object; no error when there is none. */
  delete(scope: ArtifactScope, path: string): Promise<void>;

  createUpload(scope: ArtifactScope, path: string): Promise<string>;
  /** Stores (or replaces) part `part` of an upload; `size` is the exact length of `body`. */
  putPart(
    scope: ArtifactScope,
    uploadId: string,
    part: number,
    body: Readable,
    size: number,
  ): Promise<StoredObject>;
  /** UploadNotFoundError when the upload does not exist (never created, completed or aborted). */
  getUpload(scope: ArtifactScope, uploadId: string): Promise<UploadInfo>;
  /**
   * Joins the parts in order into the upload's path; the upload is gone afterwards. With
   * `expectedSha256`, joined bytes of another digest → ChecksumMismatchError: nothing becomes
   * visible under the path (a previous object stays as it was) and the upload is discarded.
   */
  completeUpload(
    scope: ArtifactScope,
    uploadId: string,
    opts?: CompleteOptions,
  ): Promise<StoredObject & { path: string }>;
  abortUpload(scope: ArtifactScope, uploadId: string): Promise<void>;
  /**
   * Aborts every multipart upload started before `cutoff` and deletes its parts (abandoned
   * uploads); returns how many were aborted.
   */
  expireUploads(cutoff: Date): Promise<number>;
  close(): Promise<void>;
}

export class ArtifactNotFoundError extends Error {
  override readonly name = 'ArtifactNotFoundError';
  constructor(readonly path: string) {
    super(`Artifact ${path} not found`);
  }
}

export class UploadNotFoundError extends Error {
  override readonly name = 'UploadNotFoundError';
  constructor(readonly uploadId: string) {
    super(`Upload ${uploadId} not found`);
  }
}

export class ArtifactTooLargeError extends Error {
  override readonly name = 'ArtifactTooLargeError';
  constructor(readonly maxBytes: number) {
    super(`Artifact larger than ${maxBytes} bytes`);
  }
}

export class ChecksumMismatchError extends Error {
  override readonly name = 'ChecksumMismatchError';
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`sha256 mismatch: the request said ${expected}, the bytes hash to ${actual}`);
  }
}

/** A path that clashes with the tree: a file where a directory is needed, or the reverse. */
export class ArtifactConflictError extends Error {
  override readonly name = 'ArtifactConflictError';
}

/** A part list that cannot be joined (missing parts, short parts). */
export class InvalidUploadError extends Error {
  override readonly name = 'InvalidUploadError';
}

export const MAX_PARTS = 10_000;
/** S3's smallest part except the last; both backends enforce it so they behave alike. */
export const MIN_PART_BYTES = 5 * 1024 * 1024;
/** S3's largest part. */
export const MAX_PART_BYTES = 5 * 1024 * 1024 * 1024;

/** Checks that parts are 1..n without gaps and all but the last at least MIN_PART_BYTES. */
export function checkPartsJoinable(parts: readonly UploadPart[]): void {
  if (parts.length === 0) throw new InvalidUploadError('The upload has no parts');
  parts.forEach((p, i) => {
    if (p.part !== i + 1)
      throw new InvalidUploadError(`Part ${i + 1} is missing (parts must be 1..n without gaps)`);
    if (i < parts.length - 1 && p.size < MIN_PART_BYTES)
      throw new InvalidUploadError(
        `Part ${p.part} has ${p.size} bytes; every part but the last needs at least ${MIN_PART_BYTES}`,
      );
  });
}
