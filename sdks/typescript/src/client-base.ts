/**
 * What the Node and the browser `CairnClient` share: experiments, runs, params, metrics (batched
 * in the background), tags, search, artifact listing and in-memory downloads, the model registry
 * and prompts, over the public GraphQL API and the HTTP artifact routes (docs/typescript-sdk.md,
 * "Tracking"). Web APIs only (fetch, WebCrypto, TextEncoder): no `node:` import is reachable from
 * here. One client per server; methods are safe to call concurrently.
 *
 * ```ts
 * const client = new CairnClient({ trackingUri: 'http://127.0.0.1:4680' });
 * const exp = await client.createExperiment('demo');
 * const run = await client.createRun({ experimentId: exp.id, name: 'first' });
 * for (let step = 0; step < 100; step++) client.logMetric(run.id, 'loss', 1 / (step + 1), { step });
 * await client.flush();
 * ```
 */
import { WebArtifactClient, validateArtifactPath } from './artifacts-web.ts';
import { MetricBatcher, nextTurn, type BatcherStats, type QueuedPoint } from './batcher.ts';
import {
  consoleLogger,
  env,
  envInt,
  envSeconds,
  resolveTrackingUri,
  type CairnLogger,
} from './config.ts';
import { invalidArgument, NotFoundError } from './errors.ts';
import {
  CREATE_PROMPT_VERSION,
  loadPrompt,
  type LoadPromptOptions,
  type PromptMessage,
  type PromptVersion,
} from './prompts.ts';
import {
  CREATE_MODEL_VERSION,
  CREATE_REGISTERED_MODEL,
  DELETE_MODEL_ALIAS,
  MODEL_VERSION,
  REGISTERED_MODEL,
  RESOLVE_MODEL_URI,
  SET_MODEL_ALIAS,
  parseModelUri,
  toModelVersion,
  toRegisteredModel,
  type ModelVersion,
  type RawModelVersion,
  type RawRegisteredModel,
  type RegisteredModel,
} from './registry.ts';
import {
  CREATE_EXPERIMENT,
  CREATE_RUN,
  DELETE_TAG,
  EXPERIMENT,
  EXPERIMENT_BY_NAME,
  GET_RUN,
  LOG_BATCH,
  LIST_ARTIFACTS,
  LOG_PARAM,
  METRIC_HISTORY,
  SEARCH_RUNS,
  SET_TAG,
  UPDATE_RUN,
  checkId,
  checkInteger,
  decodeMetricValue,
  encodeMetricValue,
  toExperiment,
  toKeyValues,
  toRun,
  validateKey,
  validateValue,
  LIMITS,
  type ArtifactEntry,
  type Experiment,
  type MetricPoint,
  type RawExperiment,
  type RawRun,
  type Run,
  type RunStatus,
  type SearchRunsOptions,
  type SearchRunsResult,
} from './tracking.ts';
import { GraphQLTransport } from './transport.ts';
import { uuid } from './web-crypto.ts';

/** The options both clients take (the Node client adds exit and multipart settings). */
export interface CairnClientBaseOptions {
  /** Cairn server (env `CAIRN_TRACKING_URI`, default http://127.0.0.1:4680). */
  trackingUri?: string;
  /** Sent as `Authorization: Bearer …` (env `CAIRN_API_KEY`). */
  apiKey?: string;
  /** Sent as `x-cairn-workspace` (env `CAIRN_WORKSPACE`; the server's default otherwise). */
  workspace?: string;
  /** More request headers (they win over the ones above). */
  headers?: Record<string, string>;
  /** One HTTP request (env `CAIRN_HTTP_REQUEST_TIMEOUT`, seconds; default 30 s). */
  requestTimeoutMs?: number;
  /** How long a call is retried on network errors, 429, 5xx, UNAVAILABLE (env
   * `CAIRN_HTTP_RETRY_TIMEOUT`, seconds; default 120 s). */
  retryTimeoutMs?: number;
  /** The same for background metric batches (env `CAIRN_BATCH_RETRY_TIMEOUT`; default 600 s). */
  batchRetryTimeoutMs?: number;
  /** First retry delay (default 250 ms), doubled up to `backoffMaxMs` (10 s), ±25 % jitter. */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** Waiting points that start a send (env `CAIRN_BATCH_FLUSH_SIZE`, default 10,000). */
  flushSize?: number;
  /** A non-empty queue is sent at least this often (env `CAIRN_BATCH_FLUSH_INTERVAL`, seconds;
   * default 1 s). */
  flushIntervalMs?: number;
  /** Points per logBatch request (env `CAIRN_BATCH_MAX_POINTS_PER_REQUEST`, at most and
   * default 50,000). */
  maxPointsPerRequest?: number;
  /** Waiting points beyond this are dropped and reported by flush() (env
   * `CAIRN_BATCH_MAX_QUEUE`, default 1,000,000). */
  maxQueue?: number;
  /** Retry notices and batch failures (default: console, prefixed `cairn:`). */
  logger?: CairnLogger;
}

export interface LogMetricOptions {
  /** Default 0. */
  step?: number;
  /** Epoch milliseconds; default the time of the call. */
  timestamp?: number;
}

export interface CreateRunOptions {
  experimentId: string;
  name?: string;
  tags?: Record<string, string>;
  startTime?: number;
  parentRunId?: string;
}

export interface UpdateRunOptions {
  status?: RunStatus;
  endTime?: number;
  name?: string;
}

export interface LogBatchInput {
  metrics?: { key: string; value: number; step?: number; timestamp?: number }[];
  params?: Record<string, string>;
  tags?: Record<string, string>;
}

export interface MetricHistoryOptions {
  /** Downsampled beyond this many points, keeping extremes and the last one (3–100,000;
   * default 100,000: the whole history of most metrics). */
  maxPoints?: number;
  startStep?: number;
  endStep?: number;
}

export interface CreateModelVersionOptions {
  /** Registered model name. */
  name: string;
  /** `runs:/<runId>/<artifact dir>` or `models:/…`. */
  source: string;
  runId?: string;
  description?: string;
  tags?: Record<string, string>;
  createModelIfMissing?: boolean;
}

export interface CreatePromptVersionOptions {
  name: string;
  template?: string;
  messages?: PromptMessage[];
  commitMessage?: string;
  modelConfig?: Record<string, unknown>;
  tags?: Record<string, string>;
  createPromptIfMissing?: boolean;
}

/** Points serialised per turn of the event loop while a batch's body is built. */
const SERIALISE_CHUNK = 5000;

const yieldToLoop = () => new Promise<void>((resolve) => nextTurn(resolve));

const encoder = new TextEncoder();

/** The start of a logBatch request body, up to the metrics list. */
export function metricsHead(runId: string, sync: boolean): string {
  const variables = `{"runId":${JSON.stringify(runId)},"sync":${sync},"idempotencyKey":"${uuid()}","metrics":[`;
  return `{"query":${JSON.stringify(LOG_BATCH)},"variables":${variables}`;
}

export const METRICS_TAIL = ']}}';

/** One point of a logBatch body (`keys` caches the JSON of each key). */
export function metricJson(p: QueuedPoint, keys: Map<string, string>): string {
  let key = keys.get(p.key);
  if (key === undefined) {
    key = JSON.stringify(p.key);
    keys.set(p.key, key);
  }
  const value = Number.isFinite(p.value) ? String(p.value) : `"${encodeMetricValue(p.value)}"`;
  return `{"key":${key},"value":${value},"step":${p.step},"timestamp":${p.timestamp}}`;
}

/** Buffers in one. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  let size = 0;
  for (const part of parts) size += part.byteLength;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

/**
 * The logBatch request body of one run's points, built in slices of SERIALISE_CHUNK points
 * with a turn of the event loop between them: one JSON.stringify of 50,000 points holds the
 * loop for 100 ms and more on a busy machine; slices keep each stall to a few ms.
 */
async function metricsBody(
  runId: string,
  points: QueuedPoint[],
  sync: boolean,
): Promise<Uint8Array<ArrayBuffer>> {
  const keys = new Map<string, string>();
  // Each slice is flattened into its own buffer: one string of the whole body would be a rope of
  // 50,000 pieces whose flattening alone holds the loop for 50–90 ms.
  const parts: Uint8Array[] = [encoder.encode(metricsHead(runId, sync))];
  for (let start = 0; start < points.length; start += SERIALISE_CHUNK) {
    if (start > 0) await yieldToLoop();
    const end = Math.min(points.length, start + SERIALISE_CHUNK);
    let chunk = '';
    for (let i = start; i < end; i++) chunk += `${i > 0 ? ',' : ''}${metricJson(points[i]!, keys)}`;
    parts.push(encoder.encode(chunk));
  }
  parts.push(encoder.encode(METRICS_TAIL));
  return concatBytes(parts);
}

/** Settings the subclasses decide (not options of the user). */
export interface ClientPlatform {
  /** `exitTimeoutMs` of the batcher (Node's beforeExit flush). */
  exitTimeoutMs: number;
  /** The transport's `user-agent` (null in browsers). */
  userAgent?: string | null;
}

/** The shared client; use `CairnClient` of `@cairn/sdk` (Node) or `@cairn/sdk/browser`. */
export class CairnClientBase {
  readonly trackingUri: string;
  readonly workspace: string | undefined;
  private readonly apiKey: string | undefined;
  protected readonly transport: GraphQLTransport;
  protected readonly batcher: MetricBatcher;
  protected readonly webArtifacts: WebArtifactClient;
  protected readonly batchRetryTimeoutMs: number;
  /** Metric keys already checked (the hot path checks a key once). */
  private readonly validMetricKeys = new Set<string>();

  constructor(opts: CairnClientBaseOptions, platform: ClientPlatform) {
    this.trackingUri = resolveTrackingUri(opts.trackingUri);
    this.workspace = opts.workspace ?? env('CAIRN_WORKSPACE');
    this.apiKey = opts.apiKey ?? env('CAIRN_API_KEY');
    const headers: Record<string, string> = {};
    if (this.workspace) headers['x-cairn-workspace'] = this.workspace;
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    for (const [key, value] of Object.entries(opts.headers ?? {}))
      headers[key.toLowerCase()] = value;
    const logger = opts.logger ?? consoleLogger;
    this.transport = new GraphQLTransport({
      trackingUri: this.trackingUri,
      headers,
      requestTimeoutMs: opts.requestTimeoutMs ?? envSeconds('CAIRN_HTTP_REQUEST_TIMEOUT', 30_000),
      retryTimeoutMs: opts.retryTimeoutMs ?? envSeconds('CAIRN_HTTP_RETRY_TIMEOUT', 120_000),
      backoffInitialMs: opts.backoffInitialMs ?? envSeconds('CAIRN_HTTP_BACKOFF_INITIAL', 250),
      backoffMaxMs: opts.backoffMaxMs ?? envSeconds('CAIRN_HTTP_BACKOFF_MAX', 10_000),
      logger,
      ...(platform.userAgent === undefined ? {} : { userAgent: platform.userAgent }),
    });
    this.batchRetryTimeoutMs =
      opts.batchRetryTimeoutMs ?? envSeconds('CAIRN_BATCH_RETRY_TIMEOUT', 600_000);
    this.batcher = new MetricBatcher(
      (runId, points, sync, shouldStop, urgent) =>
        urgent === true
          ? this.sendMetricsNow(runId, points)
          : this.sendMetrics(runId, points, sync, shouldStop),
      {
        flushSize: Math.max(1, opts.flushSize ?? envInt('CAIRN_BATCH_FLUSH_SIZE', 10_000)),
        intervalMs: Math.max(
          10,
          opts.flushIntervalMs ?? envSeconds('CAIRN_BATCH_FLUSH_INTERVAL', 1000),
        ),
        maxPointsPerRequest: Math.min(
          LIMITS.metricsPerBatch,
          Math.max(
            1,
            opts.maxPointsPerRequest ??
              envInt('CAIRN_BATCH_MAX_POINTS_PER_REQUEST', LIMITS.metricsPerBatch),
          ),
        ),
        maxQueue: Math.max(1, opts.maxQueue ?? envInt('CAIRN_BATCH_MAX_QUEUE', 1_000_000)),
        exitTimeoutMs: platform.exitTimeoutMs,
        logger,
      },
    );
    this.webArtifacts = new WebArtifactClient(this.transport);
  }

  private gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    return this.transport.execute<T>(query, variables);
  }

  // ------------------------------------------------------------------------- experiments

  async createExperiment(
    name: string,
    opts: { artifactLocation?: string; tags?: Record<string, string> } = {},
  ): Promise<Experiment> {
    if (typeof name !== 'string' || name.trim() === '')
      throw invalidArgument('Experiment name must not be empty', { field: 'name' });
    const data = await this.gql<{ createExperiment: RawExperiment }>(CREATE_EXPERIMENT, {
      name,
      artifactLocation: opts.artifactLocation,
      tags: toKeyValues(opts.tags, 'tag'),
    });
    return toExperiment(data.createExperiment);
  }

  /** The experiment, or null when none has that name. */
  async getExperimentByName(name: string): Promise<Experiment | null> {
    const data = await this.gql<{ experimentByName: RawExperiment | null }>(EXPERIMENT_BY_NAME, {
      name,
    });
    return data.experimentByName ? toExperiment(data.experimentByName) : null;
  }

  /** The experiment; NOT_FOUND when there is none with that id. */
  async getExperiment(experimentId: string): Promise<Experiment> {
    const data = await this.gql<{ experiment: RawExperiment | null }>(EXPERIMENT, {
      id: checkId('experimentId', experimentId),
    });
    if (!data.experiment)
      throw new NotFoundError(`Experiment ${experimentId} not found`, 'NOT_FOUND', {
        experimentId,
      });
    return toExperiment(data.experiment);
  }

  // -------------------------------------------------------------------------------- runs

  async createRun(opts: CreateRunOptions): Promise<Run> {
    const data = await this.gql<{ createRun: RawRun }>(CREATE_RUN, {
      experimentId: checkId('experimentId', opts.experimentId),
      name: opts.name,
      tags: toKeyValues(opts.tags, 'tag'),
      startTime:
        opts.startTime === undefined ? undefined : checkInteger('startTime', opts.startTime),
      parentRunId: opts.parentRunId,
    });
    return toRun(data.createRun);
  }

  /** The run with its params and tags as records and the latest value of each metric;
   * NOT_FOUND when there is none with that id (in this workspace). */
  async getRun(runId: string): Promise<Run> {
    const data = await this.gql<{ run: RawRun | null }>(GET_RUN, { id: checkId('runId', runId) });
    if (!data.run) throw new NotFoundError(`Run ${runId} not found`, 'NOT_FOUND', { runId });
    return toRun(data.run);
  }

  async updateRun(runId: string, update: UpdateRunOptions): Promise<Run> {
    const data = await this.gql<{ updateRun: RawRun }>(UPDATE_RUN, {
      runId: checkId('runId', runId),
      status: update.status,
      endTime: update.endTime === undefined ? undefined : checkInteger('endTime', update.endTime),
      name: update.name,
    });
    return toRun(data.updateRun);
  }

  /** Flushes queued metric points, then ends the run (default FINISHED, now). */
  async endRun(runId: string, status: RunStatus = 'FINISHED', endTime = Date.now()): Promise<Run> {
    await this.flush();
    return this.updateRun(runId, { status, endTime });
  }

  /** Sets a param (sent at once; a param's value cannot change once set). */
  async logParam(runId: string, key: string, value: string | number | boolean): Promise<void> {
    validateKey('param', key);
    await this.gql(LOG_PARAM, {
      runId: checkId('runId', runId),
      key,
      value: validateValue('param', key, value),
    });
  }

  /** Sets a tag (sent at once). */
  async setTag(runId: string, key: string, value: string | number | boolean): Promise<void> {
    validateKey('tag', key);
    await this.gql(SET_TAG, {
      runId: checkId('runId', runId),
      key,
      value: validateValue('tag', key, value),
    });
  }

  async deleteTag(runId: string, key: string): Promise<void> {
    await this.gql(DELETE_TAG, { runId: checkId('runId', runId), key: validateKey('tag', key) });
  }

  /**
   * Queues one metric point and returns at once (no I/O on this line); it is sent in the
   * background with others of its batch. Bad input (key, step, timestamp) throws
   * INVALID_ARGUMENT here; what the server refuses is reported by the next `flush()`.
   */
  logMetric(runId: string, key: string, value: number, opts: LogMetricOptions = {}): void {
    if (typeof runId !== 'string' || runId === '') checkId('runId', runId);
    if (!this.validMetricKeys.has(key)) {
      validateKey('metric', key);
      if (this.validMetricKeys.size >= 10_000) this.validMetricKeys.clear();
      this.validMetricKeys.add(key);
    }
    if (typeof value !== 'number')
      throw invalidArgument(`metric "${key}" value must be a number, got ${typeof value}`, {
        key,
      });
    const step = opts.step === undefined ? 0 : checkInteger('step', opts.step);
    const timestamp =
      opts.timestamp === undefined ? Date.now() : checkInteger('timestamp', opts.timestamp);
    this.batcher.add({ runId, key, value, step, timestamp });
  }

  /** Metrics, params and tags of one run in one synchronous request (read-your-writes). */
  async logBatch(runId: string, batch: LogBatchInput): Promise<void> {
    const now = Date.now();
    const metrics = batch.metrics?.map((m) => ({
      key: validateKey('metric', m.key),
      value: encodeMetricValue(m.value),
      step: m.step === undefined ? 0 : checkInteger('step', m.step),
      timestamp: m.timestamp === undefined ? now : checkInteger('timestamp', m.timestamp),
    }));
    await this.gql(LOG_BATCH, {
      runId: checkId('runId', runId),
      metrics,
      params: toKeyValues(batch.params, 'param'),
      tags: toKeyValues(batch.tags, 'tag'),
      sync: true,
      idempotencyKey: uuid(),
    });
  }

  /**
   * Resolves when every metric point queued before the call is acknowledged and queryable;
   * rejects with a BatchLoggingError (its `code` the first server error's) when some were not
   * recorded since the last flush.
   */
  flush(): Promise<void> {
    return this.batcher.flush();
  }

  /** Flushes and stops accepting metric points. */
  close(): Promise<void> {
    return this.batcher.close();
  }

  /** Counters of the metric batcher. */
  batchStats(): BatcherStats {
    return this.batcher.stats();
  }

  /** Sends queued points at once, the request started before returning (the browser client's
   * page-hide flush overrides it with keepalive requests); here: a plain synchronous batch. */
  protected sendMetricsNow(runId: string, points: QueuedPoint[]): Promise<void> {
    const keys = new Map<string, string>();
    let body = metricsHead(runId, true);
    for (let i = 0; i < points.length; i++)
      body += `${i > 0 ? ',' : ''}${metricJson(points[i]!, keys)}`;
    return this.transport.executeBody(encoder.encode(body + METRICS_TAIL), {
      retryTimeoutMs: this.batchRetryTimeoutMs,
      background: true,
    });
  }

  private async sendMetrics(
    runId: string,
    points: QueuedPoint[],
    sync: boolean,
    shouldStop: () => boolean,
  ): Promise<void> {
    const body = await metricsBody(runId, points, sync);
    await this.transport.executeBody(body, {
      retryTimeoutMs: this.batchRetryTimeoutMs,
      background: true,
      shouldStop,
    });
  }

  /** The points of one metric, by step (downsampled beyond `maxPoints`). */
  async getMetricHistory(
    runId: string,
    key: string,
    opts: MetricHistoryOptions = {},
  ): Promise<MetricPoint[]> {
    const data = await this.gql<{
      run: { metricHistory: { step: number; timestamp: number; value: unknown }[] } | null;
    }>(METRIC_HISTORY, {
      id: checkId('runId', runId),
      key: validateKey('metric', key),
      maxPoints: opts.maxPoints ?? 100_000,
      startStep: opts.startStep,
      endStep: opts.endStep,
    });
    if (!data.run) throw new NotFoundError(`Run ${runId} not found`, 'NOT_FOUND', { runId });
    return data.run.metricHistory.map((p) => ({
      step: p.step,
      timestamp: p.timestamp,
      value: decodeMetricValue(p.value),
    }));
  }

  /** One page of runs of the experiments matching `filter`, sorted by `orderBy`. */
  async searchRuns(opts: SearchRunsOptions): Promise<SearchRunsResult> {
    if (!Array.isArray(opts.experimentIds) || opts.experimentIds.length === 0)
      throw invalidArgument('searchRuns needs experimentIds (at least one)', {
        field: 'experimentIds',
      });
    const data = await this.gql<{
      runs: {
        nodes: RawRun[];
        pageInfo: { hasNextPage: boolean; endCursor: string | null };
        totalCount: number;
      };
    }>(SEARCH_RUNS, {
      experimentIds: opts.experimentIds,
      filter: opts.filter,
      orderBy: opts.orderBy,
      first: opts.maxResults,
      after: opts.pageToken,
      lifecycleStage: opts.lifecycleStage,
    });
    const { nodes, pageInfo, totalCount } = data.runs;
    return {
      runs: nodes.map(toRun),
      nextPageToken: pageInfo.hasNextPage ? pageInfo.endCursor : null,
      totalCount,
    };
  }

  // --------------------------------------------------------------------------- artifacts

  /** The direct children of `path` ("" = the root) of a run's artifacts: directories first,
   * then files, each by name. */
  async listArtifacts(runId: string, path = ''): Promise<ArtifactEntry[]> {
    if (path !== '') validateArtifactPath(path);
    const data = await this.gql<{ run: { artifacts: ArtifactEntry[] } | null }>(LIST_ARTIFACTS, {
      id: checkId('runId', runId),
      path,
    });
    if (!data.run) throw new NotFoundError(`Run ${runId} not found`, 'NOT_FOUND', { runId });
    return data.run.artifacts;
  }

  /** One artifact file's bytes, in memory (checked against the server's length and sha256). */
  downloadArtifactBytes(runId: string, path: string): Promise<Uint8Array<ArrayBuffer>> {
    return this.webArtifacts.downloadBytes(checkId('runId', runId), path);
  }

  /** The same as a Blob (typed with the server's `content-type`). */
  downloadArtifactBlob(runId: string, path: string): Promise<Blob> {
    return this.webArtifacts.downloadBlob(checkId('runId', runId), path);
  }

  // ---------------------------------------------------------------------- model registry

  async createRegisteredModel(
    name: string,
    opts: { description?: string; tags?: Record<string, string> } = {},
  ): Promise<RegisteredModel> {
    const data = await this.gql<{ createRegisteredModel: RawRegisteredModel }>(
      CREATE_REGISTERED_MODEL,
      {
        name: checkId('name', name),
        description: opts.description,
        tags: toKeyValues(opts.tags, 'tag'),
      },
    );
    return toRegisteredModel(data.createRegisteredModel);
  }

  /** The registered model; NOT_FOUND when none has that name. */
  async getRegisteredModel(name: string): Promise<RegisteredModel> {
    const data = await this.gql<{ registeredModel: RawRegisteredModel | null }>(REGISTERED_MODEL, {
      name: checkId('name', name),
    });
    if (!data.registeredModel)
      throw new NotFoundError(`Registered model "${name}" not found`, 'NOT_FOUND', { name });
    return toRegisteredModel(data.registeredModel);
  }

  async createModelVersion(opts: CreateModelVersionOptions): Promise<ModelVersion> {
    const data = await this.gql<{ createModelVersion: RawModelVersion }>(CREATE_MODEL_VERSION, {
      name: checkId('name', opts.name),
      source: checkId('source', opts.source),
      runId: opts.runId,
      description: opts.description,
      tags: toKeyValues(opts.tags, 'tag'),
      createModelIfMissing: opts.createModelIfMissing ?? false,
    });
    return toModelVersion(data.createModelVersion);
  }

  /** The model version; NOT_FOUND when there is none. */
  async getModelVersion(name: string, version: number): Promise<ModelVersion> {
    const data = await this.gql<{ modelVersion: RawModelVersion | null }>(MODEL_VERSION, {
      name: checkId('name', name),
      version: checkInteger('version', version),
    });
    if (!data.modelVersion)
      throw new NotFoundError(`Version ${version} of model "${name}" not found`, 'NOT_FOUND', {
        name,
        version,
      });
    return toModelVersion(data.modelVersion);
  }

  /** Points `alias` at `version` (moving it from another version); resolves to that version. */
  async setModelAlias(name: string, alias: string, version: number): Promise<ModelVersion> {
    const data = await this.gql<{ setModelAlias: RawModelVersion }>(SET_MODEL_ALIAS, {
      name: checkId('name', name),
      alias: checkId('alias', alias),
      version: checkInteger('version', version),
    });
    return toModelVersion(data.setModelAlias);
  }

  async deleteModelAlias(name: string, alias: string): Promise<void> {
    await this.gql(DELETE_MODEL_ALIAS, { name: checkId('name', name), alias });
  }

  /** The version `models:/<name>/<version>` or `models:/<name>@<alias>` points at. */
  async resolveModelUri(uri: string): Promise<ModelVersion> {
    parseModelUri(uri);
    const data = await this.gql<{ resolveModelUri: RawModelVersion }>(RESOLVE_MODEL_URI, { uri });
    return toModelVersion(data.resolveModelUri);
  }

  // ----------------------------------------------------------------------------- prompts

  /** `loadPrompt` (cached, stale-while-revalidate) against this client's server. */
  loadPrompt(
    nameOrUri: string,
    opts: Omit<LoadPromptOptions, 'trackingUri' | 'workspace' | 'apiKey'> = {},
  ): Promise<PromptVersion> {
    return loadPrompt(nameOrUri, {
      ...opts,
      allowMissing: false,
      trackingUri: this.trackingUri,
      workspace: this.workspace,
      apiKey: this.apiKey,
    });
  }

  async createPromptVersion(
    opts: CreatePromptVersionOptions,
  ): Promise<{ name: string; version: number; template: string | null }> {
    const data = await this.gql<{
      createPromptVersion: { name: string; version: number; template: string | null };
    }>(CREATE_PROMPT_VERSION, {
      name: checkId('name', opts.name),
      template: opts.template,
      messages: opts.messages,
      commitMessage: opts.commitMessage,
      modelConfig: opts.modelConfig,
      tags: toKeyValues(opts.tags, 'tag'),
      createPromptIfMissing: opts.createPromptIfMissing ?? false,
    });
    return data.createPromptVersion;
  }
}
