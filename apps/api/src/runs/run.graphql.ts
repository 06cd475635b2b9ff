import type { GraphQLResolveInfo } from 'graphql';
import { decodeEvent, runStatus, runStreamId, type EventOf } from '@cairn/events';
import { runRowFromStarted } from '@cairn/read-models';
import { invalidArgument, notFound } from '../errors.ts';
import { AS_OF_DESCRIPTION, liveOrAsOf, streamsWhere } from '../governance/time-travel.ts';
import { ExperimentRef, LifecycleStage, toLifecycle } from '../experiments/experiment.graphql.ts';
import { builder } from '../graphql/builder.ts';
import type { GraphQLContext } from '../graphql/context.ts';
import { connectionType } from '../graphql/connection.ts';
import { selectsOnlyId } from '../graphql/selection.ts';
import { KeyValueInput, KeyValueRef, pageSize } from '../graphql/scalars.ts';
import {
  createRun,
  deleteRun,
  deleteTag,
  logBatch,
  restoreRun,
  updateRun,
} from './run.commands.ts';
import { getMetricHistory, getMetricKeys, listRuns, type RunRow } from './runs.queries.ts';
import { parseRunFilter, parseRunOrderBy } from './search/run-search.parser.ts';

export const RunStatus = builder.enumType('RunStatus', { values: runStatus.options });

const MetricRef = builder.objectType('Metric', {
  fields: (t) => ({
    key: t.exposeString('key'),
    value: t.field({ type: 'MetricValue', resolve: (m) => m.value }),
    step: t.field({ type: 'Long', resolve: (m) => m.step }),
    timestamp: t.field({ type: 'Timestamp', resolve: (m) => m.timestamp }),
  }),
});

const MetricPointRef = builder.objectType('MetricPoint', {
  fields: (t) => ({
    step: t.field({ type: 'Long', resolve: (p) => p.step }),
    timestamp: t.field({ type: 'Timestamp', resolve: (p) => p.timestamp }),
    value: t.field({ type: 'MetricValue', resolve: (p) => p.value }),
  }),
});

const RunSource = builder
  .objectRef<{ gitCommit: string | null; entryPoint: string | null; sourceType: string | null }>(
    'RunSource',
  )
  .implement({
    fields: (t) => ({
      gitCommit: t.exposeString('gitCommit', { nullable: true }),
      entryPoint: t.exposeString('entryPoint', { nullable: true }),
      sourceType: t.exposeString('sourceType', { nullable: true }),
    }),
  });

export const MAX_HISTORY_POINTS = 100_000;

export const RunRef = builder.objectType('Run', {
  fields: (t) => ({
    id: t.exposeString('run_id'),
    name: t.exposeString('name'),
    experimentId: t.exposeString('experiment_id'),
    experiment: t.field({
      type: ExperimentRef,
      nullable: true,
      resolve: (r, _a, ctx) => ctx.loaders.experiment.load(r.experiment_id),
    }),
    status: t.field({ type: RunStatus, resolve: (r) => runStatus.parse(r.status) }),
    startTime: t.field({ type: 'Timestamp', resolve: (r) => r.start_time }),
    endTime: t.field({ type: 'Timestamp', nullable: true, resolve: (r) => r.end_time }),
    lifecycleStage: t.field({
      type: LifecycleStage,
      resolve: (r) => toLifecycle(r.lifecycle_stage),
    }),
    source: t.field({
      type: RunSource,
      resolve: (r) => ({
        gitCommit: r.source_git_commit,
        entryPoint: r.source_entry_point,
        sourceType: r.source_type,
      }),
    }),
    params: t.field({
      type: [KeyValueRef],
      resolve: (r, _a, ctx) => ctx.loaders.params.load(r.run_id),
    }),
    tags: t.field({
      type: [KeyValueRef],
      resolve: (r, _a, ctx) => ctx.loaders.tags.load(r.run_id),
    }),
    latestMetrics: t.field({
      type: [MetricRef],
      resolve: (r, _a, ctx) => ctx.loaders.latestMetrics.load(r.run_id),
    }),
    metricKeys: t.stringList({
      resolve: (r, _a, ctx) => getMetricKeys(ctx.deps.db, ctx.workspaceId, r.run_id),
    }),
    metricHistory: t.field({
      type: [MetricPointRef],
      args: {
        key: t.arg.string({ required: true }),
        maxPoints: t.arg.int({ defaultValue: 1000 }),
        startStep: t.arg({ type: 'Long' }),
        endStep: t.arg({ type: 'Long' }),
      },
      resolve: (r, args, ctx) => {
        const maxPoints = args.maxPoints ?? 1000;
        if (maxPoints < 3 || maxPoints > MAX_HISTORY_POINTS) {
          throw invalidArgument(`maxPoints must be between 3 and ${MAX_HISTORY_POINTS}`);
        }
        return getMetricHistory(ctx.deps.db, ctx.workspaceId, {
          runId: r.run_id,
          key: args.key,
          maxPoints,
          startStep: args.startStep ?? null,
          endStep: args.endStep ?? null,
        });
      },
    }),
    parentRun: t.field({
      type: 'Run',
      nullable: true,
      resolve: (r, _a, ctx) => (r.parent_run_id ? ctx.loaders.run.load(r.parent_run_id) : null),
    }),
    childRuns: t.field({
      type: ['Run'],
      resolve: async (r, _a, ctx) => {
        const ids = await ctx.loaders.childRunIds.load(r.run_id);
        const rows = await ctx.loaders.run.loadMany(ids);
        return rows.filter((x): x is RunRow => x !== null && !(x instanceof Error));
      },
    }),
  }),
});

const RunConnection = connectionType('Run', RunRef);

builder.queryFields((t) => ({
  run: t.field({
    type: RunRef,
    nullable: true,
    args: {
      id: t.arg.string({ required: true }),
      asOf: t.arg({ type: 'DateTime', description: AS_OF_DESCRIPTION }),
    },
    resolve: (_r, { id, asOf }, ctx) =>
      liveOrAsOf(
        ctx,
        asOf,
        { projections: ['runs'], streams: () => ({ ids: [runStreamId(id)] }), empty: null },
        (c) => c.loaders.run.load(id),
      ),
  }),
  runs: t.field({
    type: RunConnection,
    description:
      "Searches runs (docs/search.md). `filter`: MLflow search syntax plus OR, NOT and parentheses, e.g. `metrics.loss < 0.1 AND (params.optimizer = 'adam' OR tags.team = 'vision')`. `orderBy`: entries like `metrics.loss ASC`; runs lacking the key sort last; ties by start time (newest first), then run id. Keyset cursors: pages stay stable while runs are added.",
    args: {
      experimentIds: t.arg.stringList({ required: true }),
      filter: t.arg.string(),
      orderBy: t.arg.stringList(),
      lifecycleStage: t.arg({ type: LifecycleStage }),
      first: t.arg.int(),
      after: t.arg.string(),
      asOf: t.arg({ type: 'DateTime', description: AS_OF_DESCRIPTION }),
    },
    resolve: (_r, args, ctx) =>
      liveOrAsOf(
        ctx,
        args.asOf,
        {
          projections: ['runs'],
          // Every run stream of these experiments up to asOf (bounded by MAX_HISTORY_EVENTS).
          streams: async (at) => {
            const ids = await streamsWhere(
              ctx.deps.db,
              ctx.workspaceId,
              'run-',
              'experimentId',
              args.experimentIds,
              at,
            );
            return ids && { ids };
          },
          empty: {
            edges: [],
            pageInfo: { hasNextPage: false, endCursor: null },
            totalCount: () => Promise.resolve(0),
          },
        },
        (c) => searchRuns(c, args),
      ),
  }),
}));

async function searchRuns(
  ctx: GraphQLContext,
  args: {
    experimentIds: string[];
    filter?: string | null;
    orderBy?: string[] | null;
    lifecycleStage?: 'ACTIVE' | 'DELETED' | null;
    first?: number | null;
    after?: string | null;
  },
) {
  const first = pageSize(args.first);
  const { edges, hasNextPage, totalCount } = await listRuns(ctx.deps.db, ctx.workspaceId, {
    experimentIds: args.experimentIds,
    lifecycleStage: (args.lifecycleStage ?? 'ACTIVE') === 'DELETED' ? 'deleted' : 'active',
    filter: parseRunFilter(args.filter),
    orderBy: parseRunOrderBy(args.orderBy),
    first,
    after: args.after ?? null,
  });
  return {
    edges,
    pageInfo: { hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
    totalCount,
  };
}

const MetricInput = builder.inputType('MetricInput', {
  fields: (t) => ({
    key: t.string({ required: true }),
    value: t.field({ type: 'MetricValue', required: true }),
    step: t.field({ type: 'Long', required: false }),
    timestamp: t.field({ type: 'Timestamp', required: false }),
  }),
});

const RunSourceInput = builder.inputType('RunSourceInput', {
  fields: (t) => ({ gitCommit: t.string(), entryPoint: t.string(), sourceType: t.string() }),
});

/**
 * The run for a mutation's answer. An answer that selects nothing but `id` (the SDKs' and the
 * benchmarks' `{ id }`) needs no read: the id is known, the row is not loaded.
 */
async function reload(
  ctx: GraphQLContext,
  runId: string,
  info?: GraphQLResolveInfo,
): Promise<RunRow> {
  if (info && selectsOnlyId(info)) return { run_id: runId } as RunRow;
  for (const loader of [
    ctx.loaders.run,
    ctx.loaders.params,
    ctx.loaders.tags,
    ctx.loaders.latestMetrics,
  ])
    loader.clear(runId);
  const row = await ctx.loaders.run.load(runId);
  if (!row) throw notFound('Run', runId);
  return row;
}

function toMetrics(
  metrics: readonly {
    key: string;
    value: number;
    step?: number | null;
    timestamp?: number | null;
  }[],
  now: number,
) {
  return metrics.map((m) => ({
    key: m.key,
    value: m.value,
    step: m.step ?? 0,
    timestamp: m.timestamp ?? now,
  }));
}

const IDEMPOTENCY_KEY = /^[A-Za-z0-9._:-]{1,128}$/u;

function checkIdempotencyKey(key: string | null | undefined): string | null {
  if (key === null || key === undefined) return null;
  if (!IDEMPOTENCY_KEY.test(key))
    throw invalidArgument('idempotencyKey: use 1–128 letters, digits, ".", "_", ":" or "-"', {
      argument: 'idempotencyKey',
    });
  return key;
}

builder.mutationFields((t) => ({
  createRun: t.field({
    type: RunRef,
    args: {
      experimentId: t.arg.string({ required: true }),
      name: t.arg.string(),
      startTime: t.arg({ type: 'Timestamp' }),
      parentRunId: t.arg.string(),
      tags: t.arg({ type: [KeyValueInput] }),
      source: t.arg({ type: RunSourceInput }),
    },
    resolve: async (_r, args, ctx, info) => {
      const { runId, events } = await createRun(ctx.deps, ctx.caller, {
        experimentId: args.experimentId,
        name: args.name ?? null,
        startTime: args.startTime ?? null,
        parentRunId: args.parentRunId ?? null,
        tags: args.tags ?? [],
        source: {
          gitCommit: args.source?.gitCommit ?? null,
          entryPoint: args.source?.entryPoint ?? null,
          sourceType: args.source?.sourceType ?? null,
        },
      });
      if (selectsOnlyId(info)) return { run_id: runId } as RunRow;
      // Past the read-your-writes deadline, answer with the committed creation itself.
      const started = decodeEvent(events[0]!) as EventOf<'RunStarted'>;
      return (await ctx.loaders.run.load(runId)) ?? runRowFromStarted(started);
    },
  }),
  updateRun: t.field({
    type: RunRef,
    args: {
      runId: t.arg.string({ required: true }),
      status: t.arg({ type: RunStatus }),
      endTime: t.arg({ type: 'Timestamp' }),
      name: t.arg.string(),
    },
    resolve: async (_r, args, ctx, info) => {
      await updateRun(ctx.deps, ctx.caller, args.runId, {
        status: args.status ?? null,
        endTime: args.endTime ?? null,
        name: args.name ?? null,
      });
      return reload(ctx, args.runId, info);
    },
  }),
  deleteRun: t.field({
    type: RunRef,
    args: { runId: t.arg.string({ required: true }) },
    resolve: async (_r, { runId }, ctx) => (
      await deleteRun(ctx.deps, ctx.caller, runId),
      reload(ctx, runId)
    ),
  }),
  restoreRun: t.field({
    type: RunRef,
    args: { runId: t.arg.string({ required: true }) },
    resolve: async (_r, { runId }, ctx) => (
      await restoreRun(ctx.deps, ctx.caller, runId),
      reload(ctx, runId)
    ),
  }),
  logBatch: t.field({
    type: RunRef,
    description:
      'Logs metrics, params and tags in one call (at most 50,000 points, 1,000 params, 1,000 tags). Waits until the run read model includes them, unless sync is false (bulk ingest: the write is durable when this returns, and queryable shortly after).',
    args: {
      runId: t.arg.string({ required: true }),
      metrics: t.arg({ type: [MetricInput] }),
      params: t.arg({ type: [KeyValueInput] }),
      tags: t.arg({ type: [KeyValueInput] }),
      sync: t.arg.boolean({ defaultValue: true }),
      idempotencyKey: t.arg.string({
        description:
          'Makes a retry safe: a call with a key this run has seen stores nothing more and answers as the first did (1–128 letters, digits, ".", "_", ":" or "-"; SDKs send a fresh one per batch and the same one on each retry of it).',
      }),
    },
    resolve: async (_r, args, ctx, info) => {
      const idempotencyKey = checkIdempotencyKey(args.idempotencyKey);
      await logBatch(
        ctx.deps,
        ctx.caller,
        args.runId,
        {
          metrics: toMetrics(args.metrics ?? [], ctx.deps.decideContext.now().getTime()),
          params: args.params ?? [],
          tags: args.tags ?? [],
        },
        { wait: args.sync !== false, idempotencyKey },
      );
      return reload(ctx, args.runId, info);
    },
  }),
  logMetric: t.field({
    type: RunRef,
    args: {
      runId: t.arg.string({ required: true }),
      key: t.arg.string({ required: true }),
      value: t.arg({ type: 'MetricValue', required: true }),
      step: t.arg({ type: 'Long' }),
      timestamp: t.arg({ type: 'Timestamp' }),
    },
    resolve: async (_r, args, ctx, info) => {
      const metrics = toMetrics([args], ctx.deps.decideContext.now().getTime());
      await logBatch(ctx.deps, ctx.caller, args.runId, { metrics, params: [], tags: [] });
      return reload(ctx, args.runId, info);
    },
  }),
  logParam: t.field({
    type: RunRef,
    args: {
      runId: t.arg.string({ required: true }),
      key: t.arg.string({ required: true }),
      value: t.arg.string({ required: true }),
    },
    resolve: async (_r, { runId, key, value }, ctx, info) => {
      await logBatch(ctx.deps, ctx.caller, runId, {
        metrics: [],
        params: [{ key, value }],
        tags: [],
      });
      return reload(ctx, runId, info);
    },
  }),
  setTag: t.field({
    type: RunRef,
    args: {
      runId: t.arg.string({ required: true }),
      key: t.arg.string({ required: true }),
      value: t.arg.string({ required: true }),
    },
    resolve: async (_r, { runId, key, value }, ctx, info) => {
      await logBatch(ctx.deps, ctx.caller, runId, {
        metrics: [],
        params: [],
        tags: [{ key, value }],
      });
      return reload(ctx, runId, info);
    },
  }),
  deleteTag: t.field({
    type: RunRef,
    args: { runId: t.arg.string({ required: true }), key: t.arg.string({ required: true }) },
    resolve: async (_r, { runId, key }, ctx) => (
      await deleteTag(ctx.deps, ctx.caller, runId, key),
      reload(ctx, runId)
    ),
  }),
}));
