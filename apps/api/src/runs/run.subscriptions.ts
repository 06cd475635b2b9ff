import { runStreamId } from '@cairn/events';
import type { ChangeNotice } from '@cairn/change-notices';
import { invalidArgument } from '../errors.ts';
import { builder } from '../graphql/builder.ts';
import type { GraphQLContext } from '../graphql/context.ts';
import { LOG_NOTICE } from '../write/projection-waiter.ts';
import { RunRef } from './run.graphql.ts';
import {
  getAppliedPosition,
  getPointsLoggedBetween,
  getRunExperimentIds,
  type LoggedPoint,
  type RunRow,
} from './runs.queries.ts';

/**
 * Maps every change notice of the caller's workspace (null = not relevant) into an async
 * iterator. Values arriving while the consumer is busy are coalesced with `merge` (default:
 * keep the last), so a slow client gets fewer, fuller pushes instead of an unbounded queue.
 * Notices carry ids and positions only; resolvers re-read committed state.
 */
export function mapNotices<T>(
  ctx: GraphQLContext,
  map: (notice: ChangeNotice) => T | null,
  merge: (pending: T, next: T) => T = (_pending, next) => next,
): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator]() {
      let pending: { value: T } | null = null;
      let wake: (() => void) | null = null;
      let done = false;
      const unsubscribe = ctx.deps.changes.onChange((notice) => {
        if (notice.w !== ctx.workspaceId) return;
        const value = map(notice);
        if (value === null) return;
        pending = pending ? { value: merge(pending.value, value) } : { value };
        wake?.();
      });
      return {
        async next(): Promise<IteratorResult<T>> {
          while (!done && pending === null) await new Promise<void>((resolve) => (wake = resolve));
          wake = null;
          if (done || pending === null) return { done: true, value: undefined };
          const { value } = pending;
          pending = null;
          return { done: false, value };
        },
        return(): Promise<IteratorResult<T>> {
          done = true;
          unsubscribe();
          wake?.();
          return Promise.resolve({ done: true, value: undefined });
        },
      };
    },
  };
}

function clearRun(ctx: GraphQLContext, runId: string): void {
  for (const loader of [
    ctx.loaders.run,
    ctx.loaders.params,
    ctx.loaders.tags,
    ctx.loaders.latestMetrics,
  ])
    loader.clear(runId);
}

const LoggedPointRef = builder.objectRef<LoggedPoint>('LoggedMetricPoint').implement({
  fields: (t) => ({
    key: t.exposeString('key'),
    step: t.field({ type: 'Long', resolve: (p) => p.step }),
    timestamp: t.field({ type: 'Timestamp', resolve: (p) => p.timestamp }),
    value: t.field({ type: 'MetricValue', resolve: (p) => p.value }),
  }),
});

const MetricsLoggedRef = builder
  .objectRef<{ runId: string; points: LoggedPoint[] }>('MetricsLogged')
  .implement({
    fields: (t) => ({
      runId: t.exposeString('runId'),
      points: t.field({ type: [LoggedPointRef], resolve: (m) => m.points }),
    }),
  });

const RunsChangedRef = builder
  .objectRef<{ experimentId: string; runIds: string[] }>('RunsChanged')
  .implement({
    fields: (t) => ({
      experimentId: t.exposeString('experimentId'),
      runs: t.field({
        type: [RunRef],
        description: 'The runs of the experiment that were created or changed, as now committed.',
        resolve: async (p, _a, ctx) => {
          for (const id of p.runIds) clearRun(ctx, id);
          const rows = await ctx.loaders.run.loadMany(p.runIds);
          return rows.filter((r): r is RunRow => r !== null && !(r instanceof Error));
        },
      }),
    }),
  });

builder.subscriptionType({});

builder.subscriptionFields((t) => ({
  runChanged: t.field({
    type: RunRef,
    nullable: true,
    description:
      'Pushes the run, re-read from the read model, each time a change to it is projected.',
    args: { runId: t.arg.string({ required: true }) },
    subscribe: (_r, { runId }, ctx) => {
      const stream = runStreamId(runId);
      return mapNotices(ctx, (n) =>
        n.p === 'runs' && n.s.some(([s]) => s === stream) ? true : null,
      );
    },
    resolve: (_tick, { runId }, ctx) => {
      clearRun(ctx, runId);
      return ctx.loaders.run.load(runId);
    },
  }),

  runsChanged: t.field({
    type: RunsChangedRef,
    description:
      'Pushes the runs of an experiment that were created or changed (coalesced while the client is busy).',
    args: { experimentId: t.arg.string({ required: true }) },
    subscribe: (_r, { experimentId }, ctx) => {
      const changedRuns = mapNotices<Set<string>>(
        ctx,
        (n) => {
          if (n.p !== 'runs') return null;
          const ids = n.s
            .map(([s]) => s)
            .filter((s) => s.startsWith('run-'))
            .map((s) => s.slice(4));
          return ids.length > 0 ? new Set(ids) : null;
        },
        (a, b) => new Set([...a, ...b]),
      );
      return (async function* () {
        for await (const ids of changedRuns) {
          const experiments = await getRunExperimentIds(ctx.deps.db, ctx.workspaceId, [...ids]);
          const runIds = [...ids].filter((id) => experiments.get(id) === experimentId);
          if (runIds.length > 0) yield { experimentId, runIds };
        }
      })();
    },
    resolve: (payload) => payload,
  }),

  metricsLogged: t.field({
    type: MetricsLoggedRef,
    description:
      'Pushes the metric points newly logged to a run (optionally only some keys), in batches: every logged batch is delivered once, in order, as soon as it is durable in the event log (on the API instance that took the write; through the runs projection otherwise).',
    args: { runId: t.arg.string({ required: true }), keys: t.arg.stringList() },
    subscribe: (_r, { runId, keys }, ctx) => {
      if (keys && keys.length > 1000)
        throw invalidArgument('At most 1,000 keys per metricsLogged subscription');
      const stream = runStreamId(runId);
      const wanted = keys && keys.length > 0 ? new Set(keys) : null;
      const ticks = mapNotices(
        ctx,
        (n) => {
          // The points are read from the event log, so a committed append is enough.
          if (n.p !== 'runs' && n.p !== LOG_NOTICE) return null;
          const hit = n.s.find(([s]) => s === stream);
          return hit ? hit[1] : null;
        },
        Math.max,
      );
      // Listen first, then read where the projection stands: a batch projected in between is
      // either covered by the starting position or announced by a later notice.
      const iterator = ticks[Symbol.asyncIterator]();
      return (async function* () {
        try {
          let seen = await getAppliedPosition(ctx.deps.db, ctx.workspaceId, 'runs', stream);
          for (;;) {
            const next = await iterator.next();
            if (next.done) return;
            if (next.value <= seen) continue;
            const points = await getPointsLoggedBetween(
              ctx.deps.db,
              ctx.workspaceId,
              stream,
              seen,
              next.value,
              wanted,
            );
            seen = next.value;
            if (points.length > 0) yield { runId, points };
          }
        } finally {
          await iterator.return?.();
        }
      })();
    },
    resolve: (payload) => payload,
  }),
}));
