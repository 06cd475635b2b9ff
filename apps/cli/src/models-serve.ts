/**
 * `cairn models serve -m models:/name@alias`: the TypeScript scoring server for ONNX models
 * (docs/deployment.md, "ONNX"). No Python: the model's `onnx` flavor (written by
 * `cairn.onnx.log_model`) is run by onnxruntime-node, behind MLflow's scoring protocol as the
 * Python server speaks it (`POST /invocations`, `GET /ping`, `/health`, `/version`; the
 * payload rules are in models-serve-payload.ts).
 *
 * An alias (or a stage, or `latest`) is followed: on a registry push (graphql-ws) or a poll,
 * a new version is downloaded and its session created beside the one serving; then the
 * pointer is swapped. A request scores with the version current when it arrived; the old
 * session is released once its last request has answered. No request fails or waits for a
 * load.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import {
  DEADLINE_EXCEEDED,
  ENDPOINT_NOT_FOUND,
  INTERNAL_ERROR,
  REQUEST_TOO_LARGE,
  ScoringError,
  parseContentType,
  parseRequest,
  predictions,
  servingSpecFrom,
  valueInfo,
  type OutputTensor,
  type ServingSpec,
} from './models-serve-payload.ts';
import {
  Registry,
  ServeError,
  describe,
  follows,
  modelNameOf,
  sha256,
  type ModelLocation,
  type ResolvedVersion,
} from './models-serve-registry.ts';

export const MODELS_USAGE = `Usage: cairn models serve -m <model URI> [options]

Serves an ONNX model (logged with cairn.onnx.log_model) over MLflow's scoring protocol:
POST /invocations (dataframe_split, dataframe_records, instances, inputs; text/csv),
GET /ping, /health, /version. No Python needed; other flavors: python -m cairn.models serve.

  -m, --model-uri <uri>    models:/name@alias, models:/name/<version|stage|latest>, runs:/<run>/<path>
                           or a local model directory
  -p, --port <n>           Port (default 5000, env PORT)
  -H, --host <addr>        Address to bind (default 127.0.0.1)
  --tracking-uri <url>     The Cairn server (env CAIRN_TRACKING_URI, default http://127.0.0.1:4680)
  --api-key <key>          API key, sent as Bearer (env CAIRN_API_KEY or MLFLOW_TRACKING_TOKEN)
  --workspace <id>         Workspace (env CAIRN_WORKSPACE)
  -t, --timeout <s>        Seconds a request may take before a 504 (default 60; 0 = none)
  --max-body-mb <n>        Largest request body in MiB (default 64; larger gets a 413)
  --grace <s>              Seconds SIGTERM waits for requests in flight (default 30)
  --poll-interval <s>      Seconds between re-resolutions of an alias besides the registry
                           subscription's pushes (default 30)
  --no-follow              Serve the version the URI names at start and never switch
  --no-subscribe           Follow the alias by polling only (no graphql-ws subscription)
  --threads <n>            onnxruntime intra-op threads (default: onnxruntime's choice)`;

export interface ServeOptions {
  modelUri: string;
  host: string;
  port: number;
  trackingUri: string;
  apiKey: string | null;
  workspace: string | null;
  timeoutMs: number;
  maxBodyBytes: number;
  graceMs: number;
  pollIntervalMs: number;
  follow: boolean;
  subscribe: boolean;
  threads: number | null;
}

class UsageError extends Error {}

function positive(
  name: string,
  text: string | undefined,
  fallback: number,
  allowZero = false,
): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0 || (n === 0 && !allowZero))
    throw new UsageError(`Invalid ${name} "${text}": give a positive number`);
  return n;
}

export function parseServeArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ServeOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      'model-uri': { type: 'string', short: 'm' },
      port: { type: 'string', short: 'p' },
      host: { type: 'string', short: 'H' },
      'tracking-uri': { type: 'string' },
      'api-key': { type: 'string' },
      workspace: { type: 'string' },
      timeout: { type: 'string', short: 't' },
      'max-body-mb': { type: 'string' },
      grace: { type: 'string' },
      'poll-interval': { type: 'string' },
      'no-follow': { type: 'boolean', default: false },
      'no-subscribe': { type: 'boolean', default: false },
      threads: { type: 'string' },
    },
  });
  const modelUri = values['model-uri'];
  if (!modelUri) throw new UsageError('cairn models serve needs -m <model URI>');
  const portText = values.port ?? env.PORT ?? '5000';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`Invalid port "${portText}"`);
  const threadsText = values.threads;
  const threads = threadsText === undefined ? null : Number(threadsText);
  if (threads !== null && (!Number.isInteger(threads) || threads < 1))
    throw new UsageError(`Invalid --threads "${threadsText}"`);
  return {
    modelUri,
    host: values.host ?? '127.0.0.1',
    port,
    trackingUri:
      values['tracking-uri'] ?? (env.CAIRN_TRACKING_URI?.trim() || 'http://127.0.0.1:4680'),
    apiKey:
      values['api-key'] ?? (env.CAIRN_API_KEY?.trim() || env.MLFLOW_TRACKING_TOKEN?.trim() || null),
    workspace: values.workspace ?? (env.CAIRN_WORKSPACE?.trim() || null),
    timeoutMs: positive('--timeout', values.timeout, 60, true) * 1000,
    maxBodyBytes: Math.floor(positive('--max-body-mb', values['max-body-mb'], 64) * 1024 * 1024),
    graceMs: positive('--grace', values.grace, 30) * 1000,
    pollIntervalMs: Math.max(200, positive('--poll-interval', values['poll-interval'], 30) * 1000),
    follow: !values['no-follow'],
    subscribe: !values['no-subscribe'],
    threads,
  };
}

function log(message: string): void {
  process.stderr.write(`${new Date().toISOString()} cairn-models[${process.pid}] ${message}\n`);
}

const CAIRN_VERSION = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? null;
  } catch {
    return null;
  }
})();

// ---------------------------------------------------------------------- a loaded version

export interface ServedModel {
  uri: string;
  name: string | null;
  version: number | null;
  runId: string | null;
  modelUuid: string | null;
  flavors: string[];
  loadedAt: string;
  spec: ServingSpec;
  session: ort.InferenceSession;
  /** the tensor outputs fetched (and answered) */
  fetches: string[];
  inflight: number;
  retired: boolean;
}

export async function loadModel(
  registry: Registry,
  uri: string,
  location: ModelLocation,
  version: ResolvedVersion | null,
  threads: number | null,
): Promise<ServedModel> {
  const { descriptor, read } = await registry.files(location);
  const flavors = Object.keys((descriptor.flavors as Record<string, unknown> | undefined) ?? {});
  const what = version ? `${uri} (version ${version.version})` : uri;
  const onnx = (descriptor.flavors as Record<string, Record<string, unknown>> | undefined)?.onnx;
  if (!onnx)
    throw new ServeError(
      'FAILED_PRECONDITION',
      `${what} has no 'onnx' flavor (it has: ${flavors.sort().join(', ') || 'none'}): this server runs ONNX models only. Log the model with cairn.onnx.log_model, or serve it with python -m cairn.models serve`,
    );
  const file = typeof onnx.data === 'string' ? onnx.data : 'model.onnx';
  const bytes = await read(file);
  if (typeof onnx.sha256 === 'string' && sha256(bytes) !== onnx.sha256)
    throw new ServeError('DATA_LOSS', `${file} of ${what}: sha256 differs from the descriptor's`);
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, {
      executionProviders: ['cpu'],
      ...(threads !== null ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {}),
    });
  } catch (error) {
    throw new ServeError(
      'FAILED_PRECONDITION',
      `onnxruntime cannot load ${what}: ${describe(error)}`,
    );
  }
  const spec = servingSpecFrom(descriptor);
  if (spec.inputs.length === 0)
    spec.inputs = session.inputNames.map((name, i) => {
      const meta = session.inputMetadata[i];
      const tensor = meta && meta.isTensor ? meta : null;
      return valueInfo({
        name,
        type: tensor ? `tensor(${tensor.type})` : 'unknown',
        dtype: tensor ? tensor.type : null,
        shape: tensor ? tensor.shape.map((d) => (typeof d === 'number' ? d : -1)) : null,
      });
    });
  const outputs = Array.isArray(onnx.outputs) ? onnx.outputs.map(valueInfo) : [];
  const fetches =
    outputs.length > 0
      ? outputs.filter((o) => o.type.startsWith('tensor(')).map((o) => o.name)
      : [...session.outputNames];
  const skipped = outputs
    .filter((o) => !o.type.startsWith('tensor('))
    .map((o) => `${o.name} (${o.type})`);
  if (fetches.length === 0) {
    await session.release();
    throw new ServeError(
      'FAILED_PRECONDITION',
      `${what} has no tensor output (${skipped.join(', ')}); onnxruntime-node returns tensors only. Convert scikit-learn classifiers with options={"zipmap": False}`,
    );
  }
  if (skipped.length > 0) log(`answering the tensor outputs only; left out: ${skipped.join(', ')}`);
  return {
    uri,
    name: version?.name ?? null,
    version: version?.version ?? null,
    runId: version?.runId ?? (location.kind === 'run' ? location.runId : null),
    modelUuid: typeof descriptor.model_uuid === 'string' ? descriptor.model_uuid : null,
    flavors,
    loadedAt: new Date().toISOString(),
    spec,
    session,
    fetches,
    inflight: 0,
    retired: false,
  };
}

function release(model: ServedModel): void {
  if (model.retired && model.inflight === 0)
    void model.session
      .release()
      .catch((error: unknown) => log(`releasing a session: ${describe(error)}`));
}

// ---------------------------------------------------------------------- the application

function send(
  res: ServerResponse,
  status: number,
  body: string,
  extra: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    ...extra,
  });
  res.end(body);
}

function sendError(
  res: ServerResponse,
  error: ScoringError,
  extra: Record<string, string> = {},
): void {
  send(res, error.status, JSON.stringify(error.toJSON()), extra);
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new ScoringError(413, REQUEST_TOO_LARGE, `Request body larger than ${limit} bytes`));
        req.pause();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export class ScoringApp {
  draining = false;

  constructor(
    public model: ServedModel,
    private readonly options: Pick<ServeOptions, 'timeoutMs' | 'maxBodyBytes'>,
  ) {}

  /** Swaps in a new version: the next request scores with it. */
  swap(next: ServedModel): void {
    const old = this.model;
    this.model = next;
    old.retired = true;
    release(old);
    log(`switching from version ${old.version} to version ${next.version}`);
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const route = (req.url ?? '/').split('?', 1)[0];
    const close: Record<string, string> = this.draining ? { connection: 'close' } : {};
    if (route === '/invocations') {
      if (req.method !== 'POST') {
        req.resume();
        return sendError(res, new ScoringError(405, 'BAD_REQUEST', 'Use POST /invocations'), close);
      }
      return this.invocations(req, res, close);
    }
    req.resume();
    if (route === '/ping' || route === '/health') {
      if (req.method !== 'GET' && req.method !== 'HEAD')
        return sendError(res, new ScoringError(405, 'BAD_REQUEST', `Use GET ${route}`), close);
      return send(res, 200, '\n', close);
    }
    if (route === '/version') {
      if (req.method !== 'GET' && req.method !== 'HEAD')
        return sendError(res, new ScoringError(405, 'BAD_REQUEST', 'Use GET /version'), close);
      const m = this.model;
      return send(
        res,
        200,
        JSON.stringify({
          cairn_version: CAIRN_VERSION,
          model_uri: m.uri,
          model_name: m.name,
          model_version: m.version,
          run_id: m.runId,
          model_uuid: m.modelUuid,
          flavors: [...m.flavors].sort(),
          loaded_at: m.loadedAt,
          server: 'cairn models serve (onnxruntime-node)',
          onnxruntime_version: ort.env.versions.node ?? null,
          worker_pid: process.pid,
        }),
        close,
      );
    }
    return sendError(
      res,
      new ScoringError(
        404,
        ENDPOINT_NOT_FOUND,
        `No route ${route}: use /invocations, /ping, /health or /version`,
      ),
      close,
    );
  }

  private async invocations(
    req: IncomingMessage,
    res: ServerResponse,
    close: Record<string, string>,
  ): Promise<void> {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > this.options.maxBodyBytes) {
      sendError(
        res,
        new ScoringError(
          413,
          REQUEST_TOO_LARGE,
          `Request body larger than ${this.options.maxBodyBytes} bytes`,
        ),
        { connection: 'close' },
      );
      req.socket.end();
      return;
    }
    const model = this.model; // one version per request, whatever swaps meanwhile
    model.inflight++;
    const versionHeader: Record<string, string> =
      model.version !== null ? { 'x-cairn-model-version': String(model.version) } : {};
    try {
      const body = await readBody(req, this.options.maxBodyBytes);
      const mime = parseContentType(req.headers['content-type']);
      const parsed = parseRequest(body, mime, model.spec);
      const feeds: Record<string, ort.Tensor> = {};
      for (const [name, feed] of Object.entries(parsed.feeds))
        feeds[name] = new ort.Tensor(feed.type, feed.data, feed.dims);
      let results: ort.InferenceSession.OnnxValueMapType;
      try {
        results = await this.withTimeout(model.session.run(feeds, model.fetches));
      } catch (error) {
        if (error instanceof ScoringError) throw error;
        throw new ScoringError(
          400,
          'BAD_REQUEST',
          `Encountered an unexpected error while evaluating the model; verify that the input is compatible with the model: ${describe(error)}`,
        );
      }
      const out = predictions(
        model.fetches.map((name) => ({ name, tensor: results[name] as unknown as OutputTensor })),
        parsed.table,
        parsed.rows,
      );
      send(res, 200, `{"predictions": ${JSON.stringify(out)}}`, { ...versionHeader, ...close });
    } catch (error) {
      if (error instanceof ScoringError) {
        const extra = error.status === 413 ? { connection: 'close' } : close;
        sendError(res, error, { ...versionHeader, ...extra });
        if (error.status === 413) req.socket.end();
      } else {
        log(
          `internal error scoring a request: ${error instanceof Error ? error.stack : String(error)}`,
        );
        sendError(
          res,
          new ScoringError(
            500,
            INTERNAL_ERROR,
            `Internal error: ${error instanceof Error ? error.name : 'unknown'}`,
          ),
          close,
        );
      }
    } finally {
      model.inflight--;
      release(model);
    }
  }

  private withTimeout<T>(promise: Promise<T>): Promise<T> {
    const ms = this.options.timeoutMs;
    if (ms <= 0) return promise;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new ScoringError(
              504,
              DEADLINE_EXCEEDED,
              `Request processing time exceeded the limit of ${ms / 1000} s`,
            ),
          ),
        ms,
      );
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }
}

// ---------------------------------------------------------------------- following an alias

class AliasFollower {
  private running = false;
  private again = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | null = null;
  private client: ReturnType<Registry['subscriptionClient']> | null = null;

  constructor(
    private readonly registry: Registry,
    private readonly app: ScoringApp,
    private readonly options: ServeOptions,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.check(), this.options.pollIntervalMs);
    if (this.options.subscribe) this.open();
    void this.check(); // whatever moved before the subscription was open
  }

  private open(): void {
    let warned = false;
    this.client = this.registry.subscriptionClient((message) => {
      if (!warned)
        log(
          `subscription unavailable (${message}); polling every ${this.options.pollIntervalMs / 1000} s until it reconnects`,
        );
      warned = true;
    });
    this.client.on('connected', () => {
      if (warned) log('subscription reconnected');
      warned = false;
      void this.check();
    });
    const name = modelNameOf(this.options.modelUri);
    const subscribe = (): void => {
      this.unsubscribe = this.registry.subscribe(
        this.client!,
        name,
        () => void this.check(),
        (why) => {
          if (this.stopped) return;
          // the model is unknown or was deleted: keep the version served, poll, resubscribe
          log(`subscription ended (${why}); keeping version ${this.app.model.version}`);
          setTimeout(() => {
            if (!this.stopped) subscribe();
          }, this.options.pollIntervalMs).unref();
        },
      );
    };
    subscribe();
  }

  /** Re-resolves the URI; a different version is loaded beside the current one and swapped in. */
  async check(): Promise<void> {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    try {
      do {
        this.again = false;
        await this.once();
      } while (this.again && !this.stopped);
    } finally {
      this.running = false;
    }
  }

  private async once(): Promise<void> {
    const uri = this.options.modelUri;
    const current = this.app.model.version;
    let located: Awaited<ReturnType<Registry['locate']>>;
    try {
      located = await this.registry.locate(uri);
    } catch (error) {
      log(`cannot resolve ${uri} (${describe(error)}); keeping version ${current}`);
      return;
    }
    if (located.version?.version === current) return;
    let next: ServedModel;
    try {
      next = await loadModel(
        this.registry,
        uri,
        located.location,
        located.version,
        this.options.threads,
      );
    } catch (error) {
      log(
        `version ${located.version?.version} does not load (${describe(error)}); still serving version ${current}`,
      );
      return;
    }
    if (this.stopped) {
      await next.session.release();
      return;
    }
    log(`${uri} now resolves to version ${next.version}`);
    this.app.swap(next);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.unsubscribe?.();
    await this.client?.dispose();
  }
}

// ---------------------------------------------------------------------- the command

async function serve(options: ServeOptions): Promise<number> {
  const registry = new Registry(options);
  const { location, version } = await registry.locate(options.modelUri);
  const model = await loadModel(registry, options.modelUri, location, version, options.threads);
  const app = new ScoringApp(model, options);
  const server = createServer({ keepAliveTimeout: 75_000 }, (req, res) => {
    app.handle(req, res).catch((error: unknown) => {
      log(`internal error: ${describe(error)}`);
      if (!res.headersSent) sendError(res, new ScoringError(500, INTERNAL_ERROR, 'Internal error'));
    });
  });
  server.headersTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const follower =
    options.follow && follows(options.modelUri) ? new AliasFollower(registry, app, options) : null;
  follower?.start();
  const what = `${options.modelUri}${model.version !== null ? ` (version ${model.version})` : ''}`;
  log(
    `serving ${what} on http://${host}:${port} with onnxruntime-node ${ort.env.versions.node ?? ''}, timeout ${options.timeoutMs / 1000} s${follower ? ', following the registry' : ''}`,
  );
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) {
        log('forced exit');
        resolve(130);
        return;
      }
      stopping = true;
      log(`${signal}: draining: no new connections, answering requests in flight`);
      app.draining = true;
      const cut = setTimeout(() => server.closeAllConnections(), options.graceMs);
      cut.unref();
      server.close(() => {
        clearTimeout(cut);
        void (async () => {
          await follower?.stop().catch(() => undefined);
          await app.model.session.release().catch(() => undefined);
          log('stopped');
          resolve(0);
        })();
      });
      server.closeIdleConnections();
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
}

/** `cairn models <sub> …`; returns the exit code. */
export async function modelsCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (
    sub === undefined ||
    sub === '-h' ||
    sub === '--help' ||
    rest.includes('--help') ||
    rest.includes('-h')
  ) {
    console.log(MODELS_USAGE);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'serve') {
    console.error(`Unknown command "models ${sub}"\n${MODELS_USAGE}`);
    return 2;
  }
  let options: ServeOptions;
  try {
    options = parseServeArgs(rest);
  } catch (error) {
    console.error(`cairn models serve: ${describe(error)}\n${MODELS_USAGE}`);
    return 2;
  }
  try {
    return await serve(options);
  } catch (error) {
    if (error instanceof ServeError) {
      console.error(`cairn models serve: ${error.code}: ${error.message}`);
      return 2;
    }
    console.error(
      `cairn models serve: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    return 1;
  }
}
