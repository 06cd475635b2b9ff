import { SPAN_TYPES, spanKind, spanStatusCode } from '@cairn/events';
import { invalidArgument } from '../errors.ts';
import { builder } from '../graphql/builder.ts';
import { connectionType } from '../graphql/connection.ts';
import type { GraphQLContext } from '../graphql/context.ts';
import { KeyValueRef, pageSize } from '../graphql/scalars.ts';
import { RunRef } from '../runs/run.graphql.ts';
import {
  deleteTraceMetadata,
  deleteTraceTag,
  deleteTraces,
  setTraceMetadata,
  setTraceTag,
} from './trace.commands.ts';
import { parseTraceFilter, parseTraceOrderBy } from './trace-search.ts';
import { clearTraces } from './tracing.loaders.ts';
import { getTraceStats, listTraces, type SpanRow, type TraceRow } from './traces.queries.ts';

export const SpanTypeEnum = builder.enumType('SpanType', { values: SPAN_TYPES });
export const SpanKindEnum = builder.enumType('SpanKind', { values: spanKind.options });
export const TraceStatusEnum = builder.enumType('TraceStatus', { values: spanStatusCode.options });

const TRACE_ID = /^[0-9a-f]{32}$/u;

/** A trace id argument: 32 lowercase hex characters, else INVALID_ARGUMENT. */
export function checkTraceId(id: string, argument = 'id'): string {
  if (!TRACE_ID.test(id))
    throw invalidArgument(`Invalid trace id "${id.slice(0, 64)}": 32 lowercase hex characters`, {
      argument,
    });
  return id;
}

interface Tokens {
  inputTokens: number | null;
  outputTokens: number | null;
  totalTokens: number | null;
  cachedTokens: number | null;
  reasoningTokens: number | null;
}

const TokenUsageRef = builder.objectRef<Tokens>('TokenUsage').implement({
  fields: (t) => ({
    inputTokens: t.exposeInt('inputTokens', { nullable: true }),
    outputTokens: t.exposeInt('outputTokens', { nullable: true }),
    totalTokens: t.exposeInt('totalTokens', { nullable: true }),
    cachedTokens: t.exposeInt('cachedTokens', { nullable: true }),
    reasoningTokens: t.exposeInt('reasoningTokens', { nullable: true }),
  }),
});

export const tokensOf = (r: {
  input_tokens: number | null;
  output_tokens: number | null;
  total_tokens: number | null;
  cached_tokens: number | null;
  reasoning_tokens: number | null;
}): Tokens => ({
  inputTokens: r.input_tokens,
  outputTokens: r.output_tokens,
  totalTokens: r.total_tokens,
  cachedTokens: r.cached_tokens,
  reasoningTokens: r.reasoning_tokens,
});

export { TokenUsageRef };

const SpanEventRef = builder
  .objectRef<{ name: string; timeUnixNano: string; attributes: unknown }>('SpanEvent')
  .implement({
    fields: (t) => ({
      name: t.exposeString('name'),
      timeUnixNano: t.exposeString('timeUnixNano'),
      attributes: t.field({ type: 'JSON', resolve: (e) => e.attributes ?? {} }),
    }),
  });

const SpanLinkRef = builder
  .objectRef<{ traceId: string; spanId: string; attributes: unknown }>('SpanLink')
  .implement({
    fields: (t) => ({
      traceId: t.exposeString('traceId'),
      spanId: t.exposeString('spanId'),
      attributes: t.field({ type: 'JSON', resolve: (l) => l.attributes ?? {} }),
    }),
  });

const SpanStatusRef = builder
  .objectRef<{ code: string; message: string | null }>('SpanStatus')
  .implement({
    fields: (t) => ({
      code: t.field({ type: TraceStatusEnum, resolve: (s) => spanStatusCode.parse(s.code) }),
      message: t.exposeString('message', { nullable: true }),
    }),
  });

/** `end_ns` 0 means the exporter sent no end. */
const endNs = (ns: string | null) => (ns === null || ns === '0' ? null : ns);

export const SpanRef = builder.objectType('Span', {
  fields: (t) => ({
    id: t.exposeID('span_id'),
    traceId: t.exposeID('trace_id'),
    parentId: t.exposeID('parent_span_id', { nullable: true }),
    name: t.exposeString('name'),
    kind: t.field({ type: SpanKindEnum, resolve: (s) => spanKind.parse(s.kind) }),
    spanType: t.field({
      type: SpanTypeEnum,
      resolve: (s) =>
        (SPAN_TYPES as readonly string[]).includes(s.span_type)
          ? (s.span_type as (typeof SPAN_TYPES)[number])
          : 'UNKNOWN',
    }),
    startTimeUnixNano: t.exposeString('start_ns'),
    endTimeUnixNano: t.string({ nullable: true, resolve: (s) => endNs(s.end_ns) }),
    startTime: t.field({ type: 'Timestamp', resolve: (s) => s.start_time.getTime() }),
    durationMs: t.exposeFloat('duration_ms', { nullable: true }),
    status: t.field({
      type: SpanStatusRef,
      resolve: (s) => ({ code: s.status_code, message: s.status_message }),
    }),
    inputs: t.field({ type: 'JSON', nullable: true, resolve: (s) => s.inputs }),
    outputs: t.field({ type: 'JSON', nullable: true, resolve: (s) => s.outputs }),
    attributes: t.field({ type: 'JSON', resolve: (s) => s.attributes }),
    events: t.field({
      type: [SpanEventRef],
      resolve: (s) => s.events as { name: string; timeUnixNano: string; attributes: unknown }[],
    }),
    links: t.field({
      type: [SpanLinkRef],
      resolve: (s) => s.links as { traceId: string; spanId: string; attributes: unknown }[],
    }),
    resource: t.field({ type: 'JSON', resolve: (s) => s.resource }),
    scope: t.field({ type: 'JSON', nullable: true, resolve: (s) => s.scope }),
    model: t.exposeString('model', { nullable: true }),
    provider: t.exposeString('provider', { nullable: true }),
    tokenUsage: t.field({
      type: TokenUsageRef,
      nullable: true,
      resolve: (s: SpanRow) =>
        s.input_tokens === null && s.output_tokens === null && s.total_tokens === null
          ? null
          : tokensOf(s),
    }),
    cost: t.exposeFloat('cost_usd', { nullable: true }),
  }),
});

export const TraceRef = builder.objectType('Trace', {
  fields: (t) => ({
    id: t.exposeID('trace_id', { description: 'The 32-hex trace id.' }),
    name: t.exposeString('name', {
      description: 'The root span\'s name ("" until the root arrives).',
    }),
    status: t.field({ type: TraceStatusEnum, resolve: (r) => spanStatusCode.parse(r.status) }),
    startTime: t.field({ type: 'Timestamp', resolve: (r) => r.start_time.getTime() }),
    endTime: t.field({
      type: 'Timestamp',
      nullable: true,
      resolve: (r) => r.end_time?.getTime() ?? null,
    }),
    startTimeUnixNano: t.exposeString('start_ns'),
    endTimeUnixNano: t.string({ nullable: true, resolve: (r) => endNs(r.end_ns) }),
    durationMs: t.exposeFloat('duration_ms', { nullable: true }),
    inputs: t.field({ type: 'JSON', nullable: true, resolve: (r) => r.inputs }),
    outputs: t.field({ type: 'JSON', nullable: true, resolve: (r) => r.outputs }),
    sessionId: t.exposeString('session_id', { nullable: true }),
    userId: t.exposeString('user_id', { nullable: true }),
    environment: t.exposeString('environment', { nullable: true }),
    tags: t.field({
      type: [KeyValueRef],
      resolve: (r, _a, ctx) => ctx.loaders.tracing.tags.load(r.trace_id),
    }),
    metadata: t.field({
      type: [KeyValueRef],
      resolve: (r, _a, ctx) => ctx.loaders.tracing.metadata.load(r.trace_id),
    }),
    runId: t.exposeString('run_id', { nullable: true }),
    run: t.field({
      type: RunRef,
      nullable: true,
      resolve: (r, _a, ctx) => (r.run_id ? ctx.loaders.run.load(r.run_id) : null),
    }),
    modelVersion: t.exposeString('model_version', {
      nullable: true,
      description: '"name/3"',
    }),
    promptVersions: t.stringList({ resolve: (r) => r.prompt_versions }),
    spanCount: t.exposeInt('span_count'),
    errorCount: t.exposeInt('error_count'),
    tokenUsage: t.field({ type: TokenUsageRef, resolve: (r) => tokensOf(r) }),
    cost: t.exposeFloat('cost_usd', {
      nullable: true,
      description: 'USD; null when no span could be priced.',
    }),
    spans: t.field({
      type: [SpanRef],
      description: 'Flat, ordered by start time then span id.',
      resolve: (r, _a, ctx) => ctx.loaders.tracing.spans.load(r.trace_id),
    }),
  }),
});

export const TraceConnection = connectionType('Trace', TraceRef);

export const TraceStatsGroupByEnum = builder.enumType('TraceStatsGroupBy', {
  values: ['NONE', 'MODEL', 'DAY', 'HOUR', 'USER', 'SESSION'] as const,
});

const TraceStatsBucketRef = builder.objectType('TraceStatsBucket', {
  fields: (t) => ({
    key: t.exposeString('key', {
      nullable: true,
      description: 'The model, ISO day/hour start (UTC), user or session; null for NONE.',
    }),
    count: t.exposeInt('count', { description: 'Traces (spans for MODEL).' }),
    errorCount: t.exposeInt('error_count'),
    errorRate: t.float({ resolve: (b) => (b.count === 0 ? 0 : b.error_count / b.count) }),
    latencyP50Ms: t.exposeFloat('p50', { nullable: true }),
    latencyP95Ms: t.exposeFloat('p95', { nullable: true }),
    latencyP99Ms: t.exposeFloat('p99', { nullable: true }),
    inputTokens: t.field({ type: 'Long', resolve: (b) => b.input_tokens }),
    outputTokens: t.field({ type: 'Long', resolve: (b) => b.output_tokens }),
    totalTokens: t.field({ type: 'Long', resolve: (b) => b.total_tokens }),
    cost: t.exposeFloat('cost', { nullable: true }),
  }),
});

builder.queryFields((t) => ({
  traces: t.field({
    type: TraceConnection,
    description:
      'Searches traces (docs/tracing.md, "Trace search grammar"), newest first unless `orderBy` says otherwise (`timestamp_ms`, `duration_ms`, `total_tokens`, `cost`, `name`, each with ASC/DESC). Keyset cursors.',
    args: {
      filter: t.arg.string(),
      orderBy: t.arg.stringList(),
      first: t.arg.int({ defaultValue: 50 }),
      after: t.arg.string(),
    },
    resolve: async (_r, args, ctx) => {
      const first = pageSize(args.first ?? 50);
      const page = await listTraces(ctx.deps.db, ctx.workspaceId, {
        filter: parseTraceFilter(args.filter),
        order: parseTraceOrderBy(args.orderBy),
        first,
        after: args.after ?? null,
      });
      return {
        edges: page.edges,
        pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.edges.at(-1)?.cursor ?? null },
        totalCount: page.totalCount,
      };
    },
  }),
  trace: t.field({
    type: TraceRef,
    nullable: true,
    description: 'A trace by its 32-hex id; null when unknown or deleted.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_r, { id }, ctx) => ctx.loaders.tracing.trace.load(checkTraceId(String(id))),
  }),
  traceStats: t.field({
    type: [TraceStatsBucketRef],
    description:
      'Aggregates over the traces matching `filter`: count, errors, latency percentiles, tokens and cost, per model (over LLM spans), day, hour (UTC), user or session (at most 1,000 buckets).',
    args: {
      filter: t.arg.string(),
      groupBy: t.arg({ type: TraceStatsGroupByEnum, defaultValue: 'NONE' }),
    },
    resolve: (_r, args, ctx) =>
      getTraceStats(
        ctx.deps.db,
        ctx.workspaceId,
        parseTraceFilter(args.filter),
        args.groupBy ?? 'NONE',
      ),
  }),
}));

async function reload(ctx: GraphQLContext, traceId: string): Promise<TraceRow> {
  clearTraces(ctx.loaders.tracing, [traceId]);
  const row = await ctx.loaders.tracing.trace.load(traceId);
  if (!row) throw invalidArgument(`Trace ${traceId} is not visible`, { id: traceId });
  return row;
}

builder.mutationFields((t) => ({
  setTraceTag: t.field({
    type: TraceRef,
    args: {
      traceId: t.arg.id({ required: true }),
      key: t.arg.string({ required: true }),
      value: t.arg.string({ required: true }),
    },
    resolve: async (_r, args, ctx) => {
      const traceId = checkTraceId(String(args.traceId), 'traceId');
      await setTraceTag(ctx.deps, ctx.caller, traceId, args.key, args.value);
      return reload(ctx, traceId);
    },
  }),
  deleteTraceTag: t.field({
    type: TraceRef,
    args: { traceId: t.arg.id({ required: true }), key: t.arg.string({ required: true }) },
    resolve: async (_r, args, ctx) => {
      const traceId = checkTraceId(String(args.traceId), 'traceId');
      await deleteTraceTag(ctx.deps, ctx.caller, traceId, args.key);
      return reload(ctx, traceId);
    },
  }),
  deleteTraceMetadata: t.field({
    type: TraceRef,
    description:
      'Removes a metadata key (also one that came from span attributes); deleting an absent key changes nothing.',
    args: { traceId: t.arg.id({ required: true }), key: t.arg.string({ required: true }) },
    resolve: async (_r, args, ctx) => {
      const traceId = checkTraceId(String(args.traceId), 'traceId');
      await deleteTraceMetadata(ctx.deps, ctx.caller, traceId, args.key);
      return reload(ctx, traceId);
    },
  }),
  setTraceMetadata: t.field({
    type: TraceRef,
    args: {
      traceId: t.arg.id({ required: true }),
      key: t.arg.string({ required: true }),
      value: t.arg.string({ required: true }),
    },
    resolve: async (_r, args, ctx) => {
      const traceId = checkTraceId(String(args.traceId), 'traceId');
      await setTraceMetadata(ctx.deps, ctx.caller, traceId, args.key, args.value);
      return reload(ctx, traceId);
    },
  }),
  deleteTraces: t.int({
    description: 'Deletes traces (at most 1,000 ids); answers how many were deleted by this call.',
    args: { traceIds: t.arg.idList({ required: true }) },
    resolve: async (_r, args, ctx) => {
      const ids = args.traceIds.map((id) => checkTraceId(String(id), 'traceIds'));
      const n = await deleteTraces(ctx.deps, ctx.caller, ids);
      clearTraces(ctx.loaders.tracing, ids);
      return n;
    },
  }),
}));
