import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import {
  ArtifactConflictError,
  ArtifactNotFoundError,
  ArtifactPathError,
  ArtifactTooLargeError,
  ChecksumMismatchError,
  InvalidUploadError,
  MAX_PARTS,
  MAX_PART_BYTES,
  UploadNotFoundError,
  decodeArtifactUrlPath,
  tarStream,
  validateArtifactDir,
  validateArtifactPath,
  type ArtifactScope,
  type ArtifactStore,
  type TarEntry,
} from '@cairn/artifacts';
import { readStream } from '@cairn/db';
import { decodeEvent, runStreamId } from '@cairn/events';
import type { Logger } from '@cairn/logging';
import { CairnError, type ErrorCode } from '../errors.ts';
import { buildContext, requestAuthOf } from '../http/graphql-handler.ts';
import { artifactRule, authorizeRequest } from '../auth/http-rules.ts';
import { admitStorage, isStorageQuotaError, STORAGE_QUOTA_STATUS } from '../auth/quotas.ts';
import { logArtifact } from '../runs/run.commands.ts';
import { RUN_STATE_IGNORED_EVENTS, runDecider } from '../runs/run.decider.ts';
import { getRunsByIds } from '../runs/runs.queries.ts';
import type { Caller } from '../write/command-handler.ts';
import type { ServiceDeps } from '../write/services.ts';
import {
  artifactsUnder,
  findPathClash,
  getArtifact,
  hasArtifactsUnder,
} from './artifacts.queries.ts';
import { contentTypeFor } from './content-types.ts';

export const DEFAULT_MAX_UPLOAD_BYTES = 5 * 1024 ** 3;

export interface ArtifactRoutesOptions {
  store: ArtifactStore;
  /** Largest body of one request (a whole file, or one part); larger ones get 413. */
  maxUploadBytes?: number;
  /**
   * Multipart uploads not completed this long after they started are aborted by the API
   * process's sweeper (default 24 h; upload-sweeper.ts). `false` runs no sweeper.
   */
  uploadTtlMs?: number | false;
}

type HttpCode = 'INVALID_ARGUMENT' | 'NOT_FOUND' | 'CONFLICT' | 'PAYLOAD_TOO_LARGE' | 'INTERNAL';

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: HttpCode | ErrorCode | 'METHOD_NOT_ALLOWED',
    message: string,
  ) {
    super(message);
  }
}

const RUN_ID = /^[0-9a-f]{32}$/;
const SHA256 = /^[0-9a-fA-F]{64}$/;
const MAX_JSON_BODY = 64 * 1024;

const STATUS_OF: Record<string, number> = {
  NOT_FOUND: 404,
  INVALID_ARGUMENT: 400,
  CONFLICT: 409,
  ALREADY_EXISTS: 409,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  RESOURCE_EXHAUSTED: 429,
  UNAVAILABLE: 503,
};

function toHttpError(error: unknown): HttpError | null {
  if (error instanceof HttpError) return error;
  if (isStorageQuotaError(error))
    return new HttpError(STORAGE_QUOTA_STATUS, error.code, error.message);
  if (error instanceof CairnError)
    return new HttpError(STATUS_OF[error.code] ?? 400, error.code, error.message);
  if (error instanceof ArtifactPathError || error instanceof InvalidUploadError)
    return new HttpError(400, 'INVALID_ARGUMENT', error.message);
  if (error instanceof ChecksumMismatchError)
    return new HttpError(400, 'INVALID_ARGUMENT', error.message);
  if (error instanceof ArtifactTooLargeError)
    return new HttpError(
      413,
      'PAYLOAD_TOO_LARGE',
      `Request body larger than ${error.maxBytes} bytes; use a multipart upload (artifact-uploads)`,
    );
  if (error instanceof ArtifactNotFoundError || error instanceof UploadNotFoundError)
    return new HttpError(404, 'NOT_FOUND', error.message);
  if (error instanceof ArtifactConflictError) return new HttpError(409, 'CONFLICT', error.message);
  return null;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

/** Unread request bytes drained after an early answer before the connection is closed. */
const DRAIN_LIMIT = 16 * 1024 * 1024;

/**
 * Answers an error. A request body not read to its end (an upload refused early) is drained up
 * to DRAIN_LIMIT so that the client can read the answer and keep its connection (closing a
 * socket with unread bytes resets it); past that the connection is closed instead of reading
 * gigabytes nobody will keep.
 */
function sendError(req: http.IncomingMessage, res: http.ServerResponse, error: HttpError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (!req.readableEnded) {
    let drained = 0;
    req.on('data', (chunk: Buffer) => {
      drained += chunk.length;
      if (drained > DRAIN_LIMIT) req.destroy();
    });
    req.on('error', () => undefined);
    req.resume();
  }
  sendJson(res, error.status, { error: { code: error.code, message: error.message } });
}

async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_JSON_BODY)
      throw new HttpError(413, 'PAYLOAD_TOO_LARGE', `JSON body larger than ${MAX_JSON_BODY} bytes`);
    chunks.push(chunk);
  }
  try {
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    if (typeof value === 'object' && value !== null && !Array.isArray(value))
      return value as Record<string, unknown>;
  } catch {
    // answered below
  }
  throw new HttpError(400, 'INVALID_ARGUMENT', 'The request body must be a JSON object');
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** `Range: bytes=a-b | a- | -n` against `size`; null = whole file; 'unsatisfiable' → 416. */
export function parseRange(
  value: string | undefined,
  size: number,
): { start: number; end: number } | null | 'unsatisfiable' {
  if (!value) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(value.trim());
  if (!match || (match[1] === '' && match[2] === '')) return null; // unsupported forms: whole file
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

interface Route {
  runId: string;
  kind: 'artifact' | 'uploads' | 'upload' | 'part' | 'complete';
  /** Still percent-encoded (artifact routes). */
  rawPath?: string;
  uploadId?: string;
  part?: string;
}

/** Matches the raw request target (never a normalised URL: "%2e%2e" must reach validation). */
function matchRoute(rawPathname: string): Route | null {
  const m = /^\/api\/runs\/([^/]+)\/(artifacts|artifact-uploads)(?:\/(.*))?$/.exec(rawPathname);
  if (!m) return null;
  const runId = m[1]!;
  const rest = m[3];
  if (m[2] === 'artifacts') return { runId, kind: 'artifact', rawPath: rest ?? '' };
  if (rest === undefined || rest === '') return { runId, kind: 'uploads' };
  const u = /^([^/]+)(?:\/(complete|parts\/([^/]+)))?$/.exec(rest);
  if (!u) return null;
  if (u[2] === 'complete') return { runId, kind: 'complete', uploadId: u[1] };
  if (u[2]) return { runId, kind: 'part', uploadId: u[1], part: u[3] };
  return { runId, kind: 'upload', uploadId: u[1] };
}

/**
 * The artifact HTTP routes (docs/artifacts.md): streamed uploads and downloads under
 * `/api/runs/{runId}/artifacts/{path}`, multipart uploads under `/api/runs/{runId}/artifact-uploads`,
 * directory downloads as tar.gz. Bodies stream straight into the store with their own size limit
 * (never through the GraphQL body limit); bytes are stored first, then `RunArtifactLogged` is
 * appended, so a rejected upload records nothing.
 */
export function createArtifactRoutes(
  deps: ServiceDeps,
  logger: Logger,
  opts: ArtifactRoutesOptions,
): (req: http.IncomingMessage, res: http.ServerResponse) => boolean {
  const { store } = opts;
  const maxUpload = opts.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES;

  /** The run must exist in this workspace and not be deleted (decided on its stream). */
  async function checkWritable(caller: Caller, runId: string): Promise<void> {
    const stream = await readStream(deps.db, caller.workspaceId, runStreamId(runId), {
      excludeTypes: RUN_STATE_IGNORED_EVENTS,
    });
    let state = runDecider.initialState();
    for (const e of stream.events) state = runDecider.evolve(state, decodeEvent(e));
    if (state.runId === null) throw new HttpError(404, 'NOT_FOUND', `Run ${runId} not found`);
    if (state.lifecycleStage === 'deleted')
      throw new HttpError(400, 'INVALID_ARGUMENT', `Run ${runId} is deleted; restore it first`);
  }

  async function checkReadable(workspaceId: string, runId: string): Promise<void> {
    const [run] = await getRunsByIds(deps.db, workspaceId, [runId]);
    if (!run) throw new HttpError(404, 'NOT_FOUND', `Run ${runId} not found`);
  }

  async function checkClash(workspaceId: string, runId: string, path: string): Promise<void> {
    const clash = await findPathClash(deps.db, workspaceId, runId, path);
    if (clash) throw new HttpError(409, 'CONFLICT', clash);
  }

  function declaredLength(req: http.IncomingMessage): number | null {
    const raw = header(req, 'content-length');
    if (raw === undefined) return null;
    if (!/^\d+$/.test(raw)) throw new HttpError(400, 'INVALID_ARGUMENT', 'Invalid content-length');
    return Number(raw);
  }

  /**
   * Appends RunArtifactLogged for stored bytes. When that fails (the run was deleted meanwhile)
   * the bytes of a path that had no artifact before are removed again, best effort, so that no
   * unlisted file stays behind.
   */
  async function record(
    caller: Caller,
    scope: ArtifactScope,
    artifact: { path: string; size: number; sha256: string },
    isNewPath: boolean,
  ): Promise<void> {
    try {
      await logArtifact(deps, caller, scope.runId, {
        ...artifact,
        contentType: contentTypeFor(artifact.path),
      });
    } catch (error) {
      if (isNewPath)
        await store
          .delete(scope, artifact.path)
          .catch((cause: unknown) => logger.error('artifact clean-up failed', cause));
      throw error;
    }
  }

  /**
   * Writes of one path in this process take turns, so that the order in which bytes land in the
   * store is the order of their events (the newest event describes the stored bytes).
   */
  const pathTurns = new Map<string, Promise<unknown>>();
  async function oneWriterPerPath<T>(
    scope: ArtifactScope,
    path: string,
    write: () => Promise<T>,
  ): Promise<T> {
    const key = `${scope.workspaceId}\u0000${scope.runId}\u0000${path}`;
    const previous = pathTurns.get(key) ?? Promise.resolve();
    const mine = previous.catch(() => undefined).then(write);
    pathTurns.set(key, mine);
    try {
      return await mine;
    } finally {
      if (pathTurns.get(key) === mine) pathTurns.delete(key);
    }
  }

  /** The workspace's storage quota (auth/quotas.ts): room for a write, or RESOURCE_EXHAUSTED. */
  const admit = (scope: ArtifactScope, declared: number | null, replacing = 0) =>
    admitStorage(deps.storage, scope.workspaceId, declared, replacing);

  async function putArtifact(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    caller: Caller,
    scope: ArtifactScope,
    path: string,
  ): Promise<void> {
    const length = declaredLength(req);
    if (length !== null && length > maxUpload) throw new ArtifactTooLargeError(maxUpload);
    const expected = header(req, 'x-cairn-sha256');
    if (expected !== undefined && !SHA256.test(expected))
      throw new HttpError(400, 'INVALID_ARGUMENT', 'x-cairn-sha256 must be 64 hex digits');
    await checkWritable(caller, scope.runId);
    await checkClash(scope.workspaceId, scope.runId, path);
    const stored = await oneWriterPerPath(scope, path, async () => {
      const previous = await getArtifact(deps.db, scope.workspaceId, scope.runId, path);
      const grant = await admit(scope, length, previous?.size ?? 0);
      try {
        const result = await store
          .put(scope, path, req, {
            maxBytes: Math.min(maxUpload, grant.maxBytes),
            expectedSha256: expected?.toLowerCase(),
          })
          .catch((error: unknown) => {
            throw error instanceof ArtifactTooLargeError && error.maxBytes < maxUpload
              ? grant.exceeded()
              : error;
          });
        await record(caller, scope, { path, ...result }, previous === null);
        return result;
      } finally {
        grant.release();
      }
    });
    sendJson(res, 201, { path, size: stored.size, sha256: stored.sha256 });
  }

  async function getArtifactOrArchive(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    scope: ArtifactScope,
    rawPath: string,
    query: URLSearchParams,
  ): Promise<void> {
    const decoded = decodeArtifactUrlPath(rawPath);
    await checkReadable(scope.workspaceId, scope.runId);
    const archive = query.get('archive');
    if (archive !== null && archive !== 'tar.gz')
      throw new HttpError(400, 'INVALID_ARGUMENT', `Unsupported archive "${archive}"; use tar.gz`);
    if (archive === null) {
      const dir = validateArtifactDir(decoded);
      const row =
        dir === '' ? null : await getArtifact(deps.db, scope.workspaceId, scope.runId, dir);
      if (!row) {
        if (dir === '' || (await hasArtifactsUnder(deps.db, scope.workspaceId, scope.runId, dir)))
          throw new HttpError(
            400,
            'INVALID_ARGUMENT',
            `"${dir}" is a directory; download it with ?archive=tar.gz`,
          );
        throw new HttpError(404, 'NOT_FOUND', `Artifact ${dir} not found in run ${scope.runId}`);
      }
      await sendFile(req, res, scope, row);
      return;
    }
    const dir = validateArtifactDir(decoded);
    if (dir !== '' && (await getArtifact(deps.db, scope.workspaceId, scope.runId, dir)))
      throw new HttpError(400, 'INVALID_ARGUMENT', `"${dir}" is a file, not a directory`);
    if (dir !== '' && !(await hasArtifactsUnder(deps.db, scope.workspaceId, scope.runId, dir)))
      throw new HttpError(
        404,
        'NOT_FOUND',
        `Artifact directory ${dir} not found in run ${scope.runId}`,
      );
    await sendArchive(req, res, scope, dir);
  }

  async function sendFile(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    scope: ArtifactScope,
    row: { path: string; size: number; sha256: string; content_type: string },
  ): Promise<void> {
    const range = parseRange(header(req, 'range'), row.size);
    if (range === 'unsatisfiable') {
      res.writeHead(416, { 'content-range': `bytes */${row.size}` });
      res.end();
      return;
    }
    const name = row.path.slice(row.path.lastIndexOf('/') + 1);
    const headers: http.OutgoingHttpHeaders = {
      'content-type': row.content_type,
      'x-cairn-sha256': row.sha256,
      etag: `"${row.sha256}"`,
      'accept-ranges': 'bytes',
      'cache-control': 'private, no-cache',
      'x-content-type-options': 'nosniff',
      // Artifacts are user content: never run it as part of the dashboard's origin.
      'content-security-policy':
        "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; sandbox",
      'content-disposition': `inline; filename*=UTF-8''${encodeURIComponent(name)}`,
    };
    if (header(req, 'if-none-match') === `"${row.sha256}"`) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    const status = range ? 206 : 200;
    headers['content-length'] = range ? range.end - range.start + 1 : row.size;
    if (range) headers['content-range'] = `bytes ${range.start}-${range.end}/${row.size}`;
    if (req.method === 'HEAD' || row.size === 0) {
      res.writeHead(status, headers);
      res.end();
      return;
    }
    const body = await store.get(scope, row.path, range ?? undefined);
    res.writeHead(status, headers);
    await pipeline(body, res);
  }

  async function sendArchive(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    scope: ArtifactScope,
    dir: string,
  ): Promise<void> {
    const base = dir === '' ? '' : `${dir}/`;
    const rootName = dir === '' ? scope.runId : dir.slice(dir.lastIndexOf('/') + 1);
    async function* entries(): AsyncGenerator<TarEntry> {
      for await (const row of artifactsUnder(deps.db, scope.workspaceId, scope.runId, dir)) {
        yield {
          name: row.path.slice(base.length),
          size: row.size,
          mtime: row.logged_at,
          open: () => store.get(scope, row.path),
        };
      }
    }
    res.writeHead(200, {
      'content-type': 'application/gzip',
      'content-disposition': `attachment; filename*=UTF-8''${encodeURIComponent(rootName)}.tar.gz`,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    await pipeline(Readable.from(tarStream(entries())), createGzip({ level: 6 }), res);
  }

  async function handle(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    route: Route,
    query: URLSearchParams,
  ): Promise<void> {
    // Links and <img> cannot send headers: reads may name the workspace as `?ws=` instead.
    // Only reads: a write must come with the header (a cross-site form cannot set it).
    const method = req.method ?? 'GET';
    const wsParam = query.get('ws');
    const readable = method === 'GET' || method === 'HEAD';
    const ctx = buildContext(
      deps,
      readable && wsParam !== null && req.headers['x-cairn-workspace'] === undefined
        ? { ...req.headers, 'x-cairn-workspace': wsParam }
        : req.headers,
      requestAuthOf(req),
    );
    authorizeRequest(ctx, artifactRule(method), `${method} /api/runs/{run_id}/${route.kind}`);
    if (!RUN_ID.test(route.runId))
      throw new HttpError(404, 'NOT_FOUND', `Run ${route.runId} not found`);
    const scope: ArtifactScope = { workspaceId: ctx.workspaceId, runId: route.runId };
    const caller = ctx.caller;
    switch (route.kind) {
      case 'artifact':
        if (method === 'PUT') {
          const path = validateArtifactPath(decodeArtifactUrlPath(route.rawPath ?? ''));
          return putArtifact(req, res, caller, scope, path);
        }
        if (method === 'GET' || method === 'HEAD')
          return getArtifactOrArchive(req, res, scope, route.rawPath ?? '', query);
        break;
      case 'uploads':
        if (method === 'POST') {
          const body = await readJson(req);
          if (typeof body.path !== 'string')
            throw new HttpError(400, 'INVALID_ARGUMENT', 'The body needs a "path" string');
          const path = validateArtifactPath(body.path);
          await checkWritable(caller, scope.runId);
          await checkClash(scope.workspaceId, scope.runId, path);
          const uploadId = await store.createUpload(scope, path);
          return sendJson(res, 201, { uploadId, path });
        }
        break;
      case 'part':
        if (method === 'PUT') {
          const n = Number(route.part);
          if (!/^\d+$/.test(route.part ?? '') || n < 1 || n > MAX_PARTS)
            throw new HttpError(400, 'INVALID_ARGUMENT', `Part number must be 1..${MAX_PARTS}`);
          const length = declaredLength(req);
          if (length === null)
            throw new HttpError(
              400,
              'INVALID_ARGUMENT',
              'A part upload needs a content-length header',
            );
          const limit = Math.min(maxUpload, MAX_PART_BYTES);
          if (length > limit) throw new ArtifactTooLargeError(limit);
          await checkReadable(scope.workspaceId, scope.runId);
          // An early refusal of a part that cannot fit; the whole upload is admitted on complete.
          (await admit(scope, length)).release();
          const stored = await store.putPart(scope, route.uploadId ?? '', n, req, length);
          return sendJson(res, 200, { part: n, size: stored.size, sha256: stored.sha256 });
        }
        break;
      case 'upload':
        if (method === 'GET') {
          await checkReadable(scope.workspaceId, scope.runId);
          const info = await store.getUpload(scope, route.uploadId ?? '');
          return sendJson(res, 200, info);
        }
        if (method === 'DELETE') {
          await checkReadable(scope.workspaceId, scope.runId);
          await store.abortUpload(scope, route.uploadId ?? '');
          res.writeHead(204, { 'cache-control': 'no-store' });
          res.end();
          return;
        }
        break;
      case 'complete':
        if (method === 'POST') {
          req.resume();
          const expected = header(req, 'x-cairn-sha256');
          if (expected !== undefined && !SHA256.test(expected))
            throw new HttpError(400, 'INVALID_ARGUMENT', 'x-cairn-sha256 must be 64 hex digits');
          await checkWritable(caller, scope.runId);
          const info = await store.getUpload(scope, route.uploadId ?? '');
          await checkClash(scope.workspaceId, scope.runId, info.path);
          const stored = await oneWriterPerPath(scope, info.path, async () => {
            const previous = await getArtifact(deps.db, scope.workspaceId, scope.runId, info.path);
            const total = info.parts.reduce((sum, p) => sum + p.size, 0);
            const grant = await admit(scope, total, previous?.size ?? 0).catch(
              async (error: unknown) => {
                // Over the quota: the parts would only hold bytes nobody can list.
                await store.abortUpload(scope, route.uploadId ?? '').catch(() => undefined);
                throw error;
              },
            );
            try {
              const result = await store.completeUpload(scope, route.uploadId ?? '', {
                expectedSha256: expected?.toLowerCase(),
              });
              await record(caller, scope, result, previous === null);
              return result;
            } finally {
              grant.release();
            }
          });
          return sendJson(res, 201, {
            path: stored.path,
            size: stored.size,
            sha256: stored.sha256,
          });
        }
        break;
    }
    throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${method} is not supported on this route`);
  }

  return (req, res) => {
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    const rawPathname = q === -1 ? target : target.slice(0, q);
    if (!rawPathname.startsWith('/api/runs/')) return false;
    const route = matchRoute(rawPathname);
    if (!route) return false;
    const query = new URLSearchParams(q === -1 ? '' : target.slice(q + 1));
    // A dashboard served from another origin (`?api=`) reads and writes artifacts too. No
    // cookies or credentials are involved, so any origin may call, as on /graphql.
    res.setHeader('access-control-allow-origin', '*');
    res.setHeader('access-control-expose-headers', CORS_EXPOSED_HEADERS);
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        'access-control-allow-methods': 'GET, HEAD, PUT, POST, DELETE',
        'access-control-allow-headers': CORS_ALLOWED_HEADERS,
        'access-control-max-age': '600',
      });
      res.end();
      return true;
    }
    handle(req, res, route, query).catch((error: unknown) => {
      const known = toHttpError(error);
      if (known) return sendError(req, res, known);
      const correlationId = randomUUID();
      if (!req.destroyed && !isAbort(error))
        logger.error(`artifact route error (correlation id ${correlationId})`, error);
      sendError(
        req,
        res,
        new HttpError(500, 'INTERNAL', `Internal error (correlation id ${correlationId})`),
      );
    });
    return true;
  };
}

const CORS_EXPOSED_HEADERS =
  'content-length, content-range, content-disposition, accept-ranges, x-cairn-sha256';
const CORS_ALLOWED_HEADERS =
  'x-cairn-workspace, x-cairn-sha256, x-correlation-id, content-type, range';

function isAbort(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET';
}
