/**
 * Artifact transfer over Cairn's HTTP artifact routes (`/api/runs/<runId>/artifacts/<path>`,
 * docs/artifacts.md), streamed both ways (docs/typescript-sdk.md, "Artifacts").
 *
 * - Upload of a local file: its sha256 is computed in a first pass, then the file is streamed
 *   as the request body with its length and `x-cairn-sha256`; the server refuses (and records
 *   nothing) when the bytes it received differ. Retried on network errors, 429 and 5xx (the
 *   file is read again from the start).
 * - A local file of `multipartThresholdBytes` or more (default 64 MiB) goes through the multipart
 *   routes (`/artifact-uploads`) in parts of `partSizeBytes` (default 32 MiB, at least 5 MiB):
 *   each part is streamed from its slice of the file and retried on its own; the whole file's
 *   sha256 is checked on completion; a failed upload is aborted (DELETE) on the server.
 * - Upload of a stream (Node Readable, web ReadableStream or async iterable of bytes): sent
 *   once, chunked, hashed on the way; the server's sha256 must match the one computed. Not
 *   retried (a stream cannot be read twice).
 * - Download: streamed to a temporary file next to the destination, checked against the
 *   server's `x-cairn-sha256` and `content-length`, then renamed; a mismatch raises DATA_LOSS and
 *   leaves nothing behind.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import {
  checkSha,
  httpError,
  quotePath,
  uploadAnswer,
  validateArtifactPath,
  type LoggedArtifact,
} from './artifacts-web.ts';
import { DataLossError } from './errors.ts';
import { GraphQLTransport } from './transport.ts';

export { validateArtifactPath, type LoggedArtifact } from './artifacts-web.ts';

export type ArtifactSource =
  string | Uint8Array | Readable | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;

async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function hashingStream(source: Exclude<ArtifactSource, string | Uint8Array>): {
  body: Readable;
  digest: () => string;
  size: () => number;
} {
  const hash = createHash('sha256');
  let size = 0;
  const readable =
    source instanceof Readable
      ? source
      : typeof (source as ReadableStream).getReader === 'function'
        ? Readable.fromWeb(source as NodeReadableStream<Uint8Array>)
        : Readable.from(source as AsyncIterable<Uint8Array>);
  const tap = new Transform({
    transform(chunk: Buffer, _enc, callback) {
      hash.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  readable.on('error', (error) => tap.destroy(error));
  return { body: readable.pipe(tap), digest: () => hash.digest('hex'), size: () => size };
}

export const MIB = 1024 * 1024;
/** The server's smallest part (all but the last). */
export const MIN_PART_BYTES = 5 * MIB;

export interface ArtifactSettings {
  /** Files of this size or more use the multipart routes (default 64 MiB). */
  multipartThresholdBytes: number;
  /** Part size of multipart uploads (default 32 MiB, at least 5 MiB). */
  partSizeBytes: number;
}

export class ArtifactClient {
  private readonly settings: ArtifactSettings;

  constructor(
    private readonly transport: GraphQLTransport,
    settings: Partial<ArtifactSettings> = {},
  ) {
    this.settings = {
      multipartThresholdBytes: Math.max(1, settings.multipartThresholdBytes ?? 64 * MIB),
      partSizeBytes: Math.max(MIN_PART_BYTES, settings.partSizeBytes ?? 32 * MIB),
    };
  }

  private base(runId: string): string {
    return `${this.transport.settings.trackingUri}/api/runs/${encodeURIComponent(runId)}`;
  }

  /** One JSON request of the multipart routes, retried like any call. */
  private async json<T>(
    url: string,
    init: RequestInit & { duplex?: 'half' },
    what: string,
    bodyOf?: () => NonNullable<RequestInit['body']>,
  ): Promise<T> {
    return this.transport.withRetries(async () => {
      const response = await this.transport.send(url, {
        ...init,
        ...(bodyOf ? { body: bodyOf() } : {}),
      });
      if (response.status === 200 || response.status === 201) return (await response.json()) as T;
      const error = await httpError(response, what);
      GraphQLTransport.retryableStatus(response, error.code === 'CONFLICT' ? null : error);
      throw error;
    });
  }

  private async uploadMultipart(
    runId: string,
    artifactPath: string,
    file: string,
    size: number,
    sha: string,
  ): Promise<LoggedArtifact> {
    const headers = this.transport.baseHeaders();
    const started = await this.json<{ uploadId: string }>(
      `${this.base(runId)}/artifact-uploads`,
      {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ path: artifactPath }),
      },
      `starting the upload of ${artifactPath}`,
    );
    const upload = `${this.base(runId)}/artifact-uploads/${encodeURIComponent(started.uploadId)}`;
    const step = this.settings.partSizeBytes;
    try {
      for (let n = 1, offset = 0; offset < size || n === 1; n++, offset += step) {
        const length = Math.min(step, size - offset);
        const part = await this.json<{ size: number }>(
          `${upload}/parts/${n}`,
          {
            method: 'PUT',
            headers: {
              ...headers,
              'content-type': 'application/octet-stream',
              'content-length': String(length),
            },
            duplex: 'half',
          },
          `uploading part ${n} of ${artifactPath}`,
          () =>
            length === 0
              ? new Uint8Array(0)
              : (Readable.toWeb(
                  createReadStream(file, { start: offset, end: offset + length - 1 }),
                ) as ReadableStream<Uint8Array>),
        );
        if (part.size !== length)
          throw new DataLossError(
            `Part ${n} of ${artifactPath} arrived with ${part.size} of ${length} bytes`,
            'DATA_LOSS',
            { path: artifactPath, part: n },
          );
        if (length === 0) break;
      }
      return await this.json<LoggedArtifact>(
        `${upload}/complete`,
        { method: 'POST', headers: { ...headers, 'x-cairn-sha256': sha } },
        `completing the upload of ${artifactPath}`,
      );
    } catch (error) {
      await fetch(upload, { method: 'DELETE', headers }).catch(() => undefined);
      throw error;
    }
  }

  private url(runId: string, artifactPath: string): string {
    return `${this.transport.settings.trackingUri}/api/runs/${encodeURIComponent(runId)}/artifacts/${quotePath(artifactPath)}`;
  }

  /** Uploads `source` (a local file path, bytes or a stream) to `artifactPath` of the run. */
  async upload(
    runId: string,
    artifactPath: string,
    source: ArtifactSource,
  ): Promise<LoggedArtifact> {
    validateArtifactPath(artifactPath);
    const url = this.url(runId, artifactPath);
    const what = `uploading ${artifactPath}`;
    const headers = { ...this.transport.baseHeaders(), 'content-type': 'application/octet-stream' };
    if (typeof source === 'string' || source instanceof Uint8Array) {
      const isFile = typeof source === 'string';
      const size = isFile ? (await stat(source)).size : source.byteLength;
      const sha = isFile
        ? await fileSha256(source)
        : createHash('sha256').update(source).digest('hex');
      if (isFile && size >= this.settings.multipartThresholdBytes)
        return checkSha(
          await this.uploadMultipart(runId, artifactPath, source, size, sha),
          sha,
          artifactPath,
        );
      const result = await this.transport.withRetries(async () => {
        const body: NonNullable<RequestInit['body']> = isFile
          ? size === 0
            ? new Uint8Array(0)
            : (Readable.toWeb(createReadStream(source)) as ReadableStream<Uint8Array>)
          : (source as Uint8Array<ArrayBuffer>);
        const response = await this.transport.send(url, {
          method: 'PUT',
          headers: { ...headers, 'content-length': String(size), 'x-cairn-sha256': sha },
          body,
          duplex: 'half',
        });
        return this.answer(response, what);
      });
      return checkSha(result, sha, artifactPath);
    }
    const stream = hashingStream(source);
    const response = await fetch(url, {
      method: 'PUT',
      headers,
      body: Readable.toWeb(stream.body) as ReadableStream<Uint8Array>,
      duplex: 'half',
      signal: AbortSignal.timeout(Math.max(this.transport.settings.requestTimeoutMs, 300_000)),
    } as RequestInit);
    const result = await this.answer(response, what);
    return checkSha(result, stream.digest(), artifactPath);
  }

  private answer(response: Response, what: string): Promise<LoggedArtifact> {
    return uploadAnswer(response, what);
  }

  /** Downloads one artifact file to `localPath` (sha256 checked); returns `localPath`. */
  async download(runId: string, artifactPath: string, localPath: string): Promise<string> {
    validateArtifactPath(artifactPath);
    const url = this.url(runId, artifactPath);
    const what = `downloading ${artifactPath}`;
    const response = await this.transport.withRetries(async () => {
      const r = await this.transport.send(url, {
        method: 'GET',
        headers: this.transport.baseHeaders(),
      });
      if (r.status === 200) return r;
      const error = await httpError(r, what);
      GraphQLTransport.retryableStatus(r, error);
      throw error;
    });
    const target = path.resolve(localPath);
    await mkdir(path.dirname(target), { recursive: true });
    const tmp = path.join(
      path.dirname(target),
      `.cairn-download-${process.pid}-${Math.random().toString(36).slice(2)}`,
    );
    const hash = createHash('sha256');
    let size = 0;
    try {
      if (!response.body) throw new DataLossError(`${what}: the answer has no body`, 'DATA_LOSS');
      const tap = new Transform({
        transform(chunk: Buffer, _enc, callback) {
          hash.update(chunk);
          size += chunk.length;
          callback(null, chunk);
        },
      });
      await pipeline(
        Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>),
        tap,
        createWriteStream(tmp),
      );
      const length = response.headers.get('content-length');
      if (length !== null && Number(length) !== size)
        throw new DataLossError(`${what} was cut short (${size} of ${length} bytes)`, 'DATA_LOSS', {
          path: artifactPath,
        });
      const expected = response.headers.get('x-cairn-sha256');
      const got = hash.digest('hex');
      if (expected && expected.toLowerCase() !== got)
        throw new DataLossError(
          `${what}: sha256 ${got} differs from the server's ${expected}`,
          'DATA_LOSS',
          { path: artifactPath },
        );
      await rename(tmp, target);
      return target;
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
  }
}
