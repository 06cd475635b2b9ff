/**
 * Artifact transfer with web APIs only (fetch, WebCrypto, Blob), shared by the Node and the
 * browser client (docs/typescript-sdk.md, "Browsers"): the path rules, the typed HTTP errors,
 * uploads from bytes / Blob / ReadableStream and downloads into memory.
 *
 * WebCrypto has no incremental digest, so the sha256 sent as `x-cairn-sha256` is computed over
 * the whole content in memory: a Blob is read, a ReadableStream collected, before the single PUT
 * (browsers stream request bodies only over HTTP/2, and the upload is retried from the start on
 * network errors, 429 and 5xx). A download is checked against the server's `content-length`
 * and `x-cairn-sha256` (DATA_LOSS on a mismatch). Node's file paths, Node streams and the
 * multipart routes are in artifacts.ts.
 */
import { DataLossError, errorFor, invalidArgument, type CairnError } from './errors.ts';
import { GraphQLTransport } from './transport.ts';
import { sha256Hex } from './web-crypto.ts';

/** What the browser client uploads: bytes, a Blob (a File too) or a stream of bytes. */
export type WebArtifactSource = Uint8Array | ArrayBuffer | Blob | ReadableStream<Uint8Array>;

export interface LoggedArtifact {
  path: string;
  size: number;
  sha256: string;
}

const encoder = new TextEncoder();

/** A relative POSIX artifact path as the server accepts it (checked before any upload). */
export function validateArtifactPath(p: unknown): string {
  let problem: string | null = null;
  if (typeof p !== 'string' || !p) problem = 'is empty';
  else if (p.startsWith('/')) problem = "must be relative (no leading '/')";
  else if (p.includes('\\')) problem = "must use '/' as separator (no '\\')";
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  else if (/[\u0000-\u001f\u007f]/u.test(p)) problem = 'contains a control character';
  else if (p.split('/').some((seg) => seg === '' || seg === '.' || seg === '..'))
    problem = "has an empty, '.' or '..' segment";
  else if (encoder.encode(p).byteLength > 1024) problem = 'is longer than 1024 bytes';
  if (problem) throw invalidArgument(`Artifact path "${String(p)}" ${problem}`, { path: p });
  return p as string;
}

export function quotePath(p: string): string {
  return p.split('/').map(encodeURIComponent).join('/');
}

/** The URL of one artifact file of a run. */
export function artifactUrl(trackingUri: string, runId: string, artifactPath: string): string {
  return `${trackingUri}/api/runs/${encodeURIComponent(runId)}/artifacts/${quotePath(artifactPath)}`;
}

/** The typed error of a refused artifact request (`{"error": {"code", "message"}}`). */
export async function httpError(response: Response, what: string): Promise<CairnError> {
  const text = await response.text().catch(() => '');
  let code: string | undefined;
  let message = text.slice(0, 300);
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    if (typeof body.error?.code === 'string') code = body.error.code;
    if (typeof body.error?.message === 'string') message = body.error.message;
  } catch {
    // not the JSON error shape
  }
  code ??=
    { 400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND' }[
      response.status
    ] ?? 'BAD_RESPONSE';
  return errorFor(`${what}: ${message}`, code, {}, response.status);
}

/** The LoggedArtifact of a 200/201 answer; else its typed error (Retryable when retryable). */
export async function uploadAnswer(response: Response, what: string): Promise<LoggedArtifact> {
  if (response.status === 200 || response.status === 201)
    return (await response.json()) as LoggedArtifact;
  const error = await httpError(response, what);
  GraphQLTransport.retryableStatus(response, error.code === 'CONFLICT' ? null : error);
  throw error;
}

export function checkSha(
  result: LoggedArtifact,
  sha: string,
  artifactPath: string,
): LoggedArtifact {
  if (result.sha256 && result.sha256 !== sha)
    throw new DataLossError(
      `The server stored ${artifactPath} with sha256 ${result.sha256}, not ${sha}`,
      'DATA_LOSS',
      { path: artifactPath },
    );
  return result;
}

/** Every chunk of a stream in one buffer. */
export async function collect(
  stream: ReadableStream<Uint8Array>,
): Promise<Uint8Array<ArrayBuffer>> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

async function bytesOf(source: WebArtifactSource): Promise<Uint8Array<ArrayBuffer>> {
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (source instanceof Uint8Array) {
    // A view of a SharedArrayBuffer (or part of a larger buffer) is copied into its own buffer.
    return source.buffer instanceof ArrayBuffer &&
      source.byteOffset === 0 &&
      source.byteLength === source.buffer.byteLength
      ? (source as Uint8Array<ArrayBuffer>)
      : new Uint8Array(source);
  }
  if (typeof Blob !== 'undefined' && source instanceof Blob)
    return new Uint8Array(await source.arrayBuffer());
  if (typeof (source as ReadableStream).getReader === 'function')
    return collect(source as ReadableStream<Uint8Array>);
  throw invalidArgument(
    'An artifact source is bytes (Uint8Array, ArrayBuffer), a Blob or a ReadableStream of bytes',
    { source: typeof source },
  );
}

/** Uploads and downloads with web APIs only (see the module comment). */
export class WebArtifactClient {
  constructor(private readonly transport: GraphQLTransport) {}

  /** Uploads `source` to `artifactPath` of the run, with its sha256 (checked by the server). */
  async upload(
    runId: string,
    artifactPath: string,
    source: WebArtifactSource,
  ): Promise<LoggedArtifact> {
    validateArtifactPath(artifactPath);
    const bytes = await bytesOf(source);
    const sha = await sha256Hex(bytes);
    const url = artifactUrl(this.transport.settings.trackingUri, runId, artifactPath);
    const result = await this.transport.withRetries(async () => {
      const response = await this.transport.send(url, {
        method: 'PUT',
        headers: {
          ...this.transport.baseHeaders(),
          'content-type': 'application/octet-stream',
          'x-cairn-sha256': sha,
        },
        body: bytes,
      });
      return uploadAnswer(response, `uploading ${artifactPath}`);
    });
    return checkSha(result, sha, artifactPath);
  }

  /** The response of a GET of one artifact file (retried; typed errors). */
  async fetchFile(runId: string, artifactPath: string): Promise<Response> {
    validateArtifactPath(artifactPath);
    const url = artifactUrl(this.transport.settings.trackingUri, runId, artifactPath);
    const what = `downloading ${artifactPath}`;
    return this.transport.withRetries(async () => {
      const r = await this.transport.send(url, {
        method: 'GET',
        headers: this.transport.baseHeaders(),
      });
      if (r.status === 200) return r;
      const error = await httpError(r, what);
      GraphQLTransport.retryableStatus(r, error);
      throw error;
    });
  }

  /** One artifact file's bytes, checked against `content-length` and `x-cairn-sha256`. */
  async downloadBytes(runId: string, artifactPath: string): Promise<Uint8Array<ArrayBuffer>> {
    const response = await this.fetchFile(runId, artifactPath);
    return checkedBody(response, artifactPath);
  }

  /** The same as a Blob (its type the server's `content-type`). */
  async downloadBlob(runId: string, artifactPath: string): Promise<Blob> {
    const response = await this.fetchFile(runId, artifactPath);
    const bytes = await checkedBody(response, artifactPath);
    const type = response.headers.get('content-type') ?? 'application/octet-stream';
    return new Blob([bytes], { type });
  }
}

async function checkedBody(
  response: Response,
  artifactPath: string,
): Promise<Uint8Array<ArrayBuffer>> {
  const what = `downloading ${artifactPath}`;
  const bytes = new Uint8Array(await response.arrayBuffer());
  const length = response.headers.get('content-length');
  // A compressed answer's content-length is that of the encoded body.
  if (
    length !== null &&
    !response.headers.get('content-encoding') &&
    Number(length) !== bytes.byteLength
  )
    throw new DataLossError(
      `${what} was cut short (${bytes.byteLength} of ${length} bytes)`,
      'DATA_LOSS',
      { path: artifactPath },
    );
  const expected = response.headers.get('x-cairn-sha256');
  if (expected) {
    const got = await sha256Hex(bytes);
    if (expected.toLowerCase() !== got)
      throw new DataLossError(
        `${what}: sha256 ${got} differs from the server's ${expected}`,
        'DATA_LOSS',
        { path: artifactPath },
      );
  }
  return bytes;
}
