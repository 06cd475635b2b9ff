import type { KV } from '../runs/runs.queries.ts';
import { TRACE_LIMITS } from '../tracing/trace.decider.ts';
import {
  deleteTraceTag,
  deleteTraces,
  setTraceMetadata,
  setTraceTag,
} from '../tracing/trace.commands.ts';
import { parseTraceFilter, parseTraceOrderBy, type TraceFilter } from '../tracing/trace-search.ts';
import {
  getSpans,
  getTraceKeyValues,
  getTracesByIds,
  getTraceStates,
  listTraces,
  type SpanRow,
  type TraceRow,
} from '../tracing/traces.queries.ts';
import { loadExperiment } from './experiments.handlers.ts';
import type { MlflowContext, MlflowRoute } from './mlflow-route.ts';
import { doesNotExist, invalidParameter, MlflowError, toMlflowError } from './mlflow.errors.ts';
import {
  messageList,
  optionalInt,
  optionalString,
  requireString,
  stringList,
  type Message,
} from './mlflow-input.ts';
import { decodePageToken, encodePageToken } from './mlflow-paging.ts';

/**
 * MLflow's traces endpoints (docs/mlflow-compatibility.md, "Traces") over Cairn's tracing. The
 * client (3.x) sends the spans over OTLP to `/v1/traces` (Cairn's own ingest; the
 * `X-Mlflow-Experiment-Id` header is accepted and not needed) and then the trace info to
 * `POST /api/3.0/mlflow/traces` (StartTraceV3): its tags and metadata are stored with the
 * ordinary trace commands, the experiment as the metadata key EXPERIMENT_KEY. Everything read
 * back (trace info, spans, search) comes from the `traces` read models.
 *
 * Ids: MLflow's trace id is `tr-` and the OTel trace id in hex, which is Cairn's trace id.
 */
export const EXPERIMENT_KEY = 'mlflow.experimentId';
const SPANS_LOCATION_TAG = 'mlflow.trace.spansLocation';
const PREVIEW_CHARS = 1000;
/** MLflow's default and largest page of a trace search (mlflow/tracing/constant.py). */
const SEARCH_DEFAULT = 100;
const SEARCH_MAX = 500;
/** How long StartTraceV3 waits for the spans the client sent just before to be projected. */
const SPANS_WAIT_MS = 10_000;

const TRACE_ID = /^tr-([0-9a-f]{32})$/;

export const toMlflowTraceId = (cairnTraceId: string) => `tr-${cairnTraceId}`;

function cairnTraceId(mlflowId: string): string {
  const m = TRACE_ID.exec(mlflowId);
  if (!m) throw doesNotExist(`Trace with ID '${mlflowId}' not found.`);
  return m[1]!;
}

const experimentFilter = (experimentIds: readonly string[]): TraceFilter => ({
  type: 'in',
  target: { kind: 'metadata', key: EXPERIMENT_KEY },
  negated: false,
  values: [...experimentIds],
  position: 0,
});

const preview = (value: unknown): string => {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > PREVIEW_CHARS ? text.slice(0, PREVIEW_CHARS - 3) + '...' : text;
};

function traceState(row: TraceRow): string {
  if (row.status === 'ERROR') return 'ERROR';
  return row.end_ns === null ? 'IN_PROGRESS' : 'OK';
}

/** MLflow's `TraceInfoV3` (proto-JSON). */
function traceInfoMessage(row: TraceRow, tags: KV[], metadata: KV[]) {
  const meta: Record<string, string> = {};
  let experimentId: string | null = null;
  for (const { key, value } of metadata) {
    if (key === EXPERIMENT_KEY) experimentId = value;
    else meta[key] = value;
  }
  const tagMap: Record<string, string> = {};
  for (const { key, value } of tags) tagMap[key] = value;
  // The spans are in Cairn's trace store: the client reads them with GetTrace/BatchGetTraces.
  tagMap[SPANS_LOCATION_TAG] = 'TRACKING_STORE';
  const durationMs = row.duration_ms ?? 0;
  return {
    trace_id: toMlflowTraceId(row.trace_id),
    trace_location:
      experimentId === null
        ? { type: 'TRACE_LOCATION_TYPE_UNSPECIFIED' }
        : { type: 'MLFLOW_EXPERIMENT', mlflow_experiment: { experiment_id: experimentId } },
    request_preview: meta['mlflow.traceInputs'] ?? preview(row.inputs),
    response_preview: meta['mlflow.traceOutputs'] ?? preview(row.outputs),
    request_time: new Date(row.start_time).toISOString(),
    execution_duration: `${(Math.max(0, durationMs) / 1000).toFixed(6)}s`,
    state: traceState(row),
    trace_metadata: meta,
    tags: tagMap,
    assessments: [],
  };
}

async function traceInfos(ctx: MlflowContext, rows: readonly TraceRow[]) {
  const ids = rows.map((r) => r.trace_id);
  const [tags, metadata] = await Promise.all([
    getTraceKeyValues(ctx.deps.db, 'trace_tags_effective', ctx.workspaceId, ids),
    getTraceKeyValues(ctx.deps.db, 'trace_metadata_effective', ctx.workspaceId, ids),
  ]);
  return rows.map((r) =>
    traceInfoMessage(r, tags.get(r.trace_id) ?? [], metadata.get(r.trace_id) ?? []),
  );
}

async function loadTrace(ctx: MlflowContext, mlflowId: string): Promise<TraceRow> {
  const [row] = await getTracesByIds(ctx.deps.db, ctx.workspaceId, [cairnTraceId(mlflowId)]);
  if (!row) throw doesNotExist(`Trace with ID '${mlflowId}' not found.`);
  return row;
}

// ---------------------------------------------------------------- spans as OTLP proto-JSON

const hexToBase64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');

/** An attribute value as OTLP's `AnyValue` (proto-JSON). */
function anyValue(value: unknown): Record<string, unknown> {
  if (value === null || value === undefined) return {};
  if (typeof value === 'string') return { string_value: value };
  if (typeof value === 'boolean') return { bool_value: value };
  if (typeof value === 'number')
    return Number.isInteger(value) ? { int_value: String(value) } : { double_value: value };
  if (typeof value === 'bigint') return { int_value: value.toString() };
  if (Array.isArray(value)) return { array_value: { values: value.map(anyValue) } };
  if (typeof value === 'object')
    return {
      kvlist_value: {
        values: Object.entries(value as Record<string, unknown>).map(([key, v]) => ({
          key,
          value: anyValue(v),
        })),
      },
    };
  return { string_value: JSON.stringify(value) ?? '' };
}

const keyValueList = (attributes: Record<string, unknown> | null | undefined) =>
  Object.entries(attributes ?? {}).map(([key, value]) => ({ key, value: anyValue(value) }));

/** A stored span as OTLP's `Span` (proto-JSON, as MLflow's `Trace.spans` carries it). */
function otelSpan(span: SpanRow) {
  const events = Array.isArray(span.events) ? (span.events as Record<string, unknown>[]) : [];
  return {
    trace_id: hexToBase64(span.trace_id),
    span_id: hexToBase64(span.span_id),
    ...(span.parent_span_id ? { parent_span_id: hexToBase64(span.parent_span_id) } : {}),
    name: span.name,
    kind: `SPAN_KIND_${span.kind}`,
    start_time_unix_nano: span.start_ns,
    end_time_unix_nano: span.end_ns ?? '0',
    attributes: keyValueList(span.attributes),
    events: events.map((e) => ({
      name: typeof e.name === 'string' ? e.name : '',
      time_unix_nano: typeof e.timeUnixNano === 'string' ? e.timeUnixNano : '0',
      attributes: keyValueList(e.attributes as Record<string, unknown> | undefined),
    })),
    status: {
      code: `STATUS_CODE_${span.status_code}`,
      ...(span.status_message ? { message: span.status_message } : {}),
    },
  };
}

async function fullTraces(ctx: MlflowContext, rows: readonly TraceRow[]) {
  const [infos, spans] = await Promise.all([
    traceInfos(ctx, rows),
    getSpans(
      ctx.deps.db,
      ctx.workspaceId,
      rows.map((r) => r.trace_id),
    ),
  ]);
  return rows.map((r, i) => ({
    trace_info: infos[i],
    spans: (spans.get(r.trace_id) ?? []).map(otelSpan),
  }));
}

// ---------------------------------------------------------------- handlers

function experimentIdOf(info: Message): string {
  const location = info.trace_location;
  if (location && typeof location === 'object' && !Array.isArray(location)) {
    const exp = (location as Message).mlflow_experiment;
    if (exp && typeof exp === 'object' && !Array.isArray(exp))
      return requireString(exp as Message, 'experiment_id');
  }
  throw invalidParameter(
    "Missing value for required parameter 'trace.trace_info.trace_location.mlflow_experiment.experiment_id': Cairn stores traces in MLflow experiments only",
  );
}

function stringMap(info: Message, field: string): [string, string][] {
  const v = info[field];
  if (v === undefined || v === null) return [];
  if (typeof v !== 'object' || Array.isArray(v))
    throw invalidParameter(`Invalid value for parameter '${field}': expected a map of strings`);
  return Object.entries(v as Record<string, unknown>).map(([key, value]) => {
    if (typeof value !== 'string')
      throw invalidParameter(
        `Invalid value for parameter '${field}.${key}': expected a string, got ${JSON.stringify(value)}`,
      );
    return [key, value];
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitForSpans(ctx: MlflowContext, traceId: string, mlflowId: string) {
  const deadline = Date.now() + SPANS_WAIT_MS;
  for (;;) {
    if ((await getTraceStates(ctx.deps.db, ctx.workspaceId, [traceId])).has(traceId)) return;
    if (Date.now() >= deadline)
      throw doesNotExist(
        `No span of trace '${mlflowId}' has arrived: Cairn takes the spans over OTLP (POST /v1/traces) before the trace info`,
      );
    await sleep(50);
  }
}

/** StartTraceV3: the trace info of a trace whose spans came over OTLP. */
async function startTrace(ctx: MlflowContext, body: Message) {
  const trace = body.trace;
  const info =
    trace && typeof trace === 'object' && !Array.isArray(trace)
      ? (trace as Message).trace_info
      : undefined;
  if (!info || typeof info !== 'object' || Array.isArray(info))
    throw invalidParameter("Missing value for required parameter 'trace.trace_info'.");
  const message = info as Message;
  const mlflowId = requireString(message, 'trace_id');
  const traceId = cairnTraceId(mlflowId);
  const experiment = await loadExperiment(ctx, experimentIdOf(message));
  const tags = stringMap(message, 'tags').filter(([key]) => key !== SPANS_LOCATION_TAG);
  const metadata = stringMap(message, 'trace_metadata').filter(([key]) => key !== EXPERIMENT_KEY);
  await waitForSpans(ctx, traceId, mlflowId);
  const clip = (value: string, max: number) => (value.length > max ? value.slice(0, max) : value);
  await setTraceMetadata(ctx.deps, ctx.caller, traceId, EXPERIMENT_KEY, experiment.experiment_id);
  for (const [key, value] of metadata)
    await setTraceMetadata(
      ctx.deps,
      ctx.caller,
      traceId,
      key,
      clip(value, TRACE_LIMITS.metadataValue),
    );
  for (const [key, value] of tags)
    await setTraceTag(ctx.deps, ctx.caller, traceId, key, clip(value, TRACE_LIMITS.tagValue));
  const [stored] = await traceInfos(ctx, [await loadTrace(ctx, mlflowId)]);
  return { trace: { trace_info: stored } };
}

async function getTraceInfo(ctx: MlflowContext) {
  const [info] = await traceInfos(ctx, [await loadTrace(ctx, ctx.params.trace_id!)]);
  return { trace: { trace_info: info } };
}

async function getTrace(ctx: MlflowContext, body: Message) {
  const [trace] = await fullTraces(ctx, [await loadTrace(ctx, requireString(body, 'trace_id'))]);
  return { trace };
}

const MAX_BATCH = 100;

async function tracesByIds(ctx: MlflowContext, body: Message): Promise<TraceRow[]> {
  const ids = stringList(body, 'trace_ids');
  if (ids.length > MAX_BATCH)
    throw invalidParameter(`At most ${MAX_BATCH} trace_ids per request, got ${ids.length}`);
  const wanted = ids.flatMap((id) => {
    const m = TRACE_ID.exec(id);
    return m ? [m[1]!] : [];
  });
  const experiments = stringList(body, 'experiment_ids');
  const rows = await getTracesByIds(
    ctx.deps.db,
    ctx.workspaceId,
    wanted,
    experiments.length > 0 ? experimentFilter(experiments) : null,
  );
  const order = new Map(wanted.map((id, i) => [id, i]));
  return rows.sort((a, b) => order.get(a.trace_id)! - order.get(b.trace_id)!);
}

async function batchGetTraces(ctx: MlflowContext, body: Message) {
  return { traces: await fullTraces(ctx, await tracesByIds(ctx, body)) };
}

async function batchGetTraceInfos(ctx: MlflowContext, body: Message) {
  return { trace_infos: await traceInfos(ctx, await tracesByIds(ctx, body)) };
}

/**
 * MLflow's trace filter names (`attributes.status`, `trace.timestamp_ms`,
 * `request_metadata.k`, `execution_time_ms`) in Cairn's trace search grammar. Only identifiers
 * outside quotes are rewritten.
 */
export function mlflowTraceFilter(filter: string): string {
  return filter.replace(
    /('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|\b(?:(?:attributes|attribute|attr|trace)\.)?(execution_time_ms|timestamp_ms|status|name|run_id|trace_id)\b|\brequest_metadata\./giu,
    (match, quoted: string | undefined, field: string | undefined) => {
      if (quoted !== undefined) return quoted;
      if (field === undefined) return 'metadata.';
      if (/^(?:tags|metadata|span)\./iu.test(match)) return match;
      return field.toLowerCase() === 'execution_time_ms' ? 'duration_ms' : field;
    },
  );
}

async function searchTraces(ctx: MlflowContext, body: Message) {
  const experimentIds = messageList(body, 'locations').map((location) => {
    const exp = location.mlflow_experiment;
    if (!exp || typeof exp !== 'object' || Array.isArray(exp))
      throw invalidParameter(
        'Cairn searches traces in MLflow experiments only: every location needs mlflow_experiment.experiment_id',
      );
    return requireString(exp as Message, 'experiment_id');
  });
  if (experimentIds.length === 0)
    throw invalidParameter("Missing value for required parameter 'locations'.");
  const resolved = await Promise.all(
    experimentIds.map(async (id) => (await loadExperiment(ctx, id)).experiment_id),
  );
  const max = optionalInt(body, 'max_results') ?? SEARCH_DEFAULT;
  if (max < 1 || max > SEARCH_MAX)
    throw invalidParameter(
      `Invalid value ${max} for parameter 'max_results': it must be at least 1 and at most ${SEARCH_MAX}`,
    );
  const text = optionalString(body, 'filter');
  let filter: TraceFilter = experimentFilter(resolved);
  let order;
  try {
    const parsed = text ? parseTraceFilter(mlflowTraceFilter(text)) : null;
    if (parsed) filter = { type: 'and', operands: [filter, parsed] };
    order = parseTraceOrderBy(
      stringList(body, 'order_by').map((o) =>
        o
          .replace(/^\s*(?:attributes|attribute|attr|trace)\./iu, '')
          .replace(/^\s*execution_time_ms\b/iu, 'duration_ms'),
      ),
    );
  } catch (error) {
    const known = toMlflowError(error);
    if (known) throw new MlflowError('INVALID_PARAMETER_VALUE', known.message);
    throw error;
  }
  const token = decodePageToken(body, 'traces');
  if (token !== null && (typeof token !== 'object' || token === null))
    throw invalidParameter('Invalid page token');
  const after = token === null ? null : (token as { after?: unknown }).after;
  const page = await listTraces(ctx.deps.db, ctx.workspaceId, {
    filter,
    order,
    first: max,
    after: typeof after === 'string' ? after : null,
  });
  const rows = page.edges.map((e) => e.node);
  const last = page.edges.at(-1);
  return {
    traces: await traceInfos(ctx, rows),
    ...(page.hasNextPage && last
      ? { next_page_token: encodePageToken('traces', { after: last.cursor }) }
      : {}),
  };
}

/** DeleteTraces: by ids, or the oldest up to `max_traces` before `max_timestamp_millis`. */
async function deleteTracesHandler(ctx: MlflowContext, body: Message) {
  const experiment = await loadExperiment(ctx, requireString(body, 'experiment_id'));
  const ids = stringList(body, 'request_ids');
  const maxTimestamp = optionalInt(body, 'max_timestamp_millis');
  const maxTraces = optionalInt(body, 'max_traces');
  const scope = experimentFilter([experiment.experiment_id]);
  let targets: string[];
  if (ids.length > 0) {
    if (maxTimestamp !== null || maxTraces !== null)
      throw invalidParameter(
        'Either `max_timestamp_millis` or `request_ids` must be specified, not both',
      );
    const wanted = ids.flatMap((id) => {
      const m = TRACE_ID.exec(id);
      return m ? [m[1]!] : [];
    });
    targets = (await getTracesByIds(ctx.deps.db, ctx.workspaceId, wanted, scope)).map(
      (r) => r.trace_id,
    );
  } else {
    if (maxTimestamp === null)
      throw invalidParameter('Either `max_timestamp_millis` or `request_ids` must be specified');
    const limit = Math.min(maxTraces ?? TRACE_LIMITS.deleteTraces, TRACE_LIMITS.deleteTraces);
    if (limit < 1) throw invalidParameter('`max_traces` must be a positive integer');
    const page = await listTraces(ctx.deps.db, ctx.workspaceId, {
      filter: {
        type: 'and',
        operands: [
          scope,
          {
            type: 'compare',
            target: { kind: 'field', name: 'timestamp_ms' },
            op: '<=',
            value: maxTimestamp,
            position: 0,
          },
        ],
      },
      order: parseTraceOrderBy(['timestamp_ms ASC']),
      first: limit,
      after: null,
    });
    targets = page.edges.map((e) => e.node.trace_id);
  }
  return { traces_deleted: await deleteTraces(ctx.deps, ctx.caller, targets) };
}

async function setTag(ctx: MlflowContext, body: Message) {
  const row = await loadTrace(ctx, ctx.params.trace_id!);
  await setTraceTag(
    ctx.deps,
    ctx.caller,
    row.trace_id,
    requireString(body, 'key'),
    optionalString(body, 'value') ?? '',
  );
  return {};
}

async function deleteTag(ctx: MlflowContext, body: Message) {
  const row = await loadTrace(ctx, ctx.params.trace_id!);
  await deleteTraceTag(ctx.deps, ctx.caller, row.trace_id, requireString(body, 'key'));
  return {};
}

/** MLflow traces endpoints (docs/mlflow-compatibility.md). Literal paths before `{trace_id}`. */
export const traceRoutes: MlflowRoute[] = [
  { method: 'POST', path: '/mlflow/traces', handler: startTrace },
  { method: 'POST', path: '/mlflow/traces/search', handler: searchTraces },
  { method: 'GET', path: '/mlflow/traces/get', handler: getTrace },
  { method: 'GET', path: '/mlflow/traces/batchGet', handler: batchGetTraces },
  { method: 'POST', path: '/mlflow/traces/batchGetInfos', handler: batchGetTraceInfos },
  { method: 'POST', path: '/mlflow/traces/delete-traces', handler: deleteTracesHandler },
  { method: 'PATCH', path: '/mlflow/traces/{trace_id}/tags', handler: setTag },
  { method: 'DELETE', path: '/mlflow/traces/{trace_id}/tags', handler: deleteTag },
  { method: 'GET', path: '/mlflow/traces/{trace_id}', handler: getTraceInfo },
];
