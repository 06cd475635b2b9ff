/**
 * `cairn models serve`'s client of a Cairn server: resolves a model URI through GraphQL
 * (`resolveModelUri`), downloads the model's descriptor and ONNX file through the artifacts
 * route (sha256-checked), and follows an alias: a graphql-ws subscription
 * (`registeredModelChanged(name)`) re-resolves the URI on every push, a poll every
 * `pollIntervalMs` catches a push missed while reconnecting. The API key goes as
 * `Authorization: Bearer …` on every request and in the subscription's `connection_init`, as
 * the Python SDK sends it.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export const DESCRIPTOR_FILE = 'cairn-model.json';

/** A failure to start or load: printed as `<code>: <message>`, exit code 2. */
export class ServeError extends Error {
  override readonly name = 'ServeError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface RegistryOptions {
  trackingUri: string;
  apiKey: string | null;
  workspace: string | null;
}

/** The version a `models:/` URI resolves to. */
export interface ResolvedVersion {
  name: string;
  version: number;
  runId: string | null;
  source: string;
}

/** Where a model's files are: an artifact directory of a run, or a local directory. */
export type ModelLocation =
  { kind: 'run'; runId: string; path: string } | { kind: 'dir'; dir: string };

export interface ModelFiles {
  descriptor: Record<string, unknown>;
  /** reads a file of the model directory (relative POSIX path) */
  read: (file: string) => Promise<Buffer>;
}

const RESOLVE = `query CairnServeResolve($uri: String!) {
  resolveModelUri(uri: $uri) { modelName version source runId }
}`;
const SUBSCRIPTION =
  'subscription CairnServeFollow($name: String!) { registeredModelChanged(name: $name) { name } }';
const FIXED_VERSION = /^models:\/[^/@]+\/\d+$/;

/** Whether a URI can move (an alias, a stage, `latest`); a fixed version or a run does not. */
export function follows(uri: string): boolean {
  return uri.startsWith('models:/') && !FIXED_VERSION.test(uri);
}

export function modelNameOf(uri: string): string {
  return uri.slice('models:/'.length).split(/[@/]/, 1)[0] ?? '';
}

/** `runs:/<run>/<path>` → its parts. */
export function parseRunsUri(uri: string): { runId: string; path: string } {
  const rest = uri.slice('runs:'.length).replace(/^\/+/, '');
  const slash = rest.indexOf('/');
  const runId = slash < 0 ? rest : rest.slice(0, slash);
  const p = slash < 0 ? '' : rest.slice(slash + 1).replace(/^\/+|\/+$/g, '');
  if (!uri.startsWith('runs:/') || !runId)
    throw new ServeError(
      'INVALID_ARGUMENT',
      `Not a runs:/ URI: ${uri} (expected runs:/<run_id>/<path>)`,
    );
  return { runId, path: p };
}

export class Registry {
  private readonly base: string;

  constructor(private readonly options: RegistryOptions) {
    this.base = options.trackingUri.replace(/\/+$/, '');
  }

  headers(): Record<string, string> {
    const h: Record<string, string> = { 'user-agent': 'cairn-models-serve' };
    if (this.options.apiKey) h.authorization = `Bearer ${this.options.apiKey}`;
    if (this.options.workspace) h['x-cairn-workspace'] = this.options.workspace;
    return h;
  }

  async graphql<T>(query: string, variables: Record<string, unknown>): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.base}/graphql`, {
        method: 'POST',
        headers: { ...this.headers(), 'content-type': 'application/json' },
        body: JSON.stringify({ query, variables }),
      });
    } catch (error) {
      throw new ServeError('UNAVAILABLE', `Cannot reach ${this.base}: ${describe(error)}`);
    }
    const text = await res.text();
    let payload: { data?: T; errors?: { message: string; extensions?: { code?: string } }[] };
    try {
      payload = JSON.parse(text) as typeof payload;
    } catch {
      throw new ServeError(
        httpCode(res.status),
        `${this.base}/graphql answered ${res.status}: ${text.slice(0, 200)}`,
      );
    }
    const first = payload.errors?.[0];
    if (first) throw new ServeError(first.extensions?.code ?? httpCode(res.status), first.message);
    if (!res.ok || payload.data === undefined)
      throw new ServeError(httpCode(res.status), `${this.base}/graphql answered ${res.status}`);
    return payload.data;
  }

  async resolve(uri: string): Promise<ResolvedVersion> {
    const data = await this.graphql<{
      resolveModelUri: {
        modelName: string;
        version: number | string;
        source: string;
        runId: string | null;
      };
    }>(RESOLVE, { uri });
    const mv = data.resolveModelUri;
    return { name: mv.modelName, version: Number(mv.version), runId: mv.runId, source: mv.source };
  }

  /** One artifact file of a run, its sha256 checked against the server's `x-cairn-sha256`. */
  async download(runId: string, file: string): Promise<Buffer> {
    const quoted = file.split('/').map(encodeURIComponent).join('/');
    const url = `${this.base}/api/runs/${encodeURIComponent(runId)}/artifacts/${quoted}`;
    let res: Response;
    try {
      res = await fetch(url, { headers: this.headers() });
    } catch (error) {
      throw new ServeError('UNAVAILABLE', `Cannot download ${file}: ${describe(error)}`);
    }
    if (!res.ok) {
      const text = await res.text().catch(() => '');
      throw new ServeError(
        httpCode(res.status),
        `Downloading ${file} of run ${runId} answered ${res.status}: ${text.slice(0, 200)}`,
      );
    }
    const body = Buffer.from(await res.arrayBuffer());
    const want = res.headers.get('x-cairn-sha256');
    if (want && sha256(body) !== want.toLowerCase())
      throw new ServeError('DATA_LOSS', `sha256 mismatch downloading ${file} of run ${runId}`);
    return body;
  }

  /** The model a URI names: `models:/…` (resolved once), `runs:/…` or a local directory. */
  async locate(uri: string): Promise<{ location: ModelLocation; version: ResolvedVersion | null }> {
    if (uri.startsWith('models:/')) {
      const version = await this.resolve(uri);
      if (!version.source.startsWith('runs:/'))
        throw new ServeError(
          'FAILED_PRECONDITION',
          `${uri} resolves to version ${version.version} whose source ${version.source} is not a runs:/ URI`,
        );
      return { location: { kind: 'run', ...parseRunsUri(version.source) }, version };
    }
    if (uri.startsWith('runs:/'))
      return { location: { kind: 'run', ...parseRunsUri(uri) }, version: null };
    if (/^[a-z][a-z0-9+.-]*:/i.test(uri) && !uri.startsWith('file://'))
      throw new ServeError(
        'INVALID_ARGUMENT',
        `Unsupported model URI ${uri}: use models:/<name>@<alias>, models:/<name>/<version or stage>, runs:/<run_id>/<path> or a local directory`,
      );
    return {
      location: { kind: 'dir', dir: path.resolve(uri.replace(/^file:\/\//, '')) },
      version: null,
    };
  }

  async files(location: ModelLocation): Promise<ModelFiles> {
    const read =
      location.kind === 'dir'
        ? async (file: string) => {
            try {
              return await readFile(path.join(location.dir, ...file.split('/')));
            } catch (error) {
              throw new ServeError(
                'NOT_FOUND',
                `Cannot read ${file} in ${location.dir}: ${describe(error)}`,
              );
            }
          }
        : (file: string) =>
            this.download(location.runId, location.path ? `${location.path}/${file}` : file);
    const raw = await read(DESCRIPTOR_FILE);
    let descriptor: unknown;
    try {
      descriptor = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new ServeError('INVALID_ARGUMENT', `${DESCRIPTOR_FILE} is not valid JSON`);
    }
    if (descriptor === null || typeof descriptor !== 'object' || Array.isArray(descriptor))
      throw new ServeError('INVALID_ARGUMENT', `${DESCRIPTOR_FILE} is not a JSON object`);
    return { descriptor: descriptor as Record<string, unknown>, read };
  }

  /** A graphql-ws client with the API key on the upgrade request and in connection_init. */
  subscriptionClient(onError: (message: string) => void): Client {
    const headers = this.headers();
    class HeaderedWebSocket extends WebSocket {
      constructor(address: string | URL, protocols?: string | string[]) {
        super(address, protocols, { headers });
      }
    }
    const init: Record<string, string> = {};
    if (headers.authorization) init.authorization = headers.authorization;
    if (headers['x-cairn-workspace']) init['x-cairn-workspace'] = headers['x-cairn-workspace'];
    return createClient({
      url: `${this.base.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: HeaderedWebSocket,
      connectionParams: init,
      lazy: false,
      retryAttempts: Number.POSITIVE_INFINITY,
      shouldRetry: () => true,
      on: { error: (error) => onError(describe(error)) },
    });
  }

  /** Calls `onPush` on every `registeredModelChanged(name)` push; returns the unsubscribe. */
  subscribe(
    client: Client,
    name: string,
    onPush: () => void,
    onEnd: (why: string) => void,
  ): () => void {
    return client.subscribe(
      { query: SUBSCRIPTION, variables: { name } },
      {
        next: () => onPush(),
        error: (error) => onEnd(describe(error)),
        complete: () => onEnd('completed'),
      },
    );
  }
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function httpCode(status: number): string {
  if (status === 401) return 'UNAUTHENTICATED';
  if (status === 403) return 'PERMISSION_DENIED';
  if (status === 404) return 'NOT_FOUND';
  if (status === 429) return 'RESOURCE_EXHAUSTED';
  if (status >= 500) return 'UNAVAILABLE';
  return 'INVALID_ARGUMENT';
}

export function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (Array.isArray(error)) return error.map(describe).join('; ');
  if (error && typeof error === 'object') {
    const e = error as { message?: unknown; reason?: unknown; code?: unknown };
    if (typeof e.message === 'string') return e.message;
    const code = typeof e.code === 'number' || typeof e.code === 'string' ? e.code : '';
    if (typeof e.reason === 'string' && e.reason) return `${code} ${e.reason}`;
    if (code !== '') return `closed with ${code}`;
  }
  return String(error);
}
