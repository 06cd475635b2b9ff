import { TRACES_CHANGED_NOTICE } from '@cairn/change-notices';
import { builder } from '../graphql/builder.ts';
import type { GraphQLContext } from '../graphql/context.ts';
import { mapNotices } from '../runs/run.subscriptions.ts';
import { TraceRef } from './trace.graphql.ts';
import { parseTraceFilter } from './trace-search.ts';
import { clearTraces } from './tracing.loaders.ts';
import { getTracesByIds, type TraceRow } from './traces.queries.ts';

/** Trace ids re-read per push at most (a larger backlog is pushed in several lists). */
const MAX_PER_PUSH = 500;

/** Trace ids named by traces-projection notices, merged while the client is busy. */
function changedTraceIds(ctx: GraphQLContext): AsyncIterable<Set<string>> {
  return mapNotices<Set<string>>(
    ctx,
    (n) =>
      n.p === TRACES_CHANGED_NOTICE && n.s.length > 0 ? new Set(n.s.map(([id]) => id)) : null,
    (a, b) => new Set([...a, ...b]),
  );
}

builder.subscriptionFields((t) => ({
  tracesChanged: t.field({
    type: [TraceRef],
    description:
      'Pushes the traces (re-read, matching the filter) that changed since the last push; changes arriving while the client is busy are coalesced. Deleted traces are not pushed.',
    args: { filter: t.arg.string() },
    subscribe: (_r, args, ctx) => {
      const filter = parseTraceFilter(args.filter);
      const changed = changedTraceIds(ctx);
      return (async function* () {
        for await (const ids of changed) {
          const all = [...ids];
          for (let i = 0; i < all.length; i += MAX_PER_PUSH) {
            const batch = all.slice(i, i + MAX_PER_PUSH);
            // Fresh reads: nothing cached about these traces survives from an earlier push.
            clearTraces(ctx.loaders.tracing, batch);
            const rows = await getTracesByIds(ctx.deps.db, ctx.workspaceId, batch, filter);
            if (rows.length === 0) continue;
            rows.sort(
              (a, b) =>
                b.start_time.getTime() - a.start_time.getTime() ||
                (a.trace_id < b.trace_id ? 1 : -1),
            );
            yield rows;
          }
        }
      })();
    },
    resolve: (rows: TraceRow[]) => rows,
  }),

  tracesLeft: t.field({
    type: ['String'],
    description:
      'Pushes the ids of traces that changed and are now deleted or no longer match the filter (e.g. a tag removed), so a list fed by tracesChanged can drop them; changes arriving while the client is busy are coalesced. An id may name a trace the client never showed.',
    args: { filter: t.arg.string() },
    subscribe: (_r, args, ctx) => {
      const filter = parseTraceFilter(args.filter);
      const changed = changedTraceIds(ctx);
      return (async function* () {
        for await (const ids of changed) {
          const all = [...ids];
          for (let i = 0; i < all.length; i += MAX_PER_PUSH) {
            const batch = all.slice(i, i + MAX_PER_PUSH);
            const still = new Set(
              (await getTracesByIds(ctx.deps.db, ctx.workspaceId, batch, filter)).map(
                (r) => r.trace_id,
              ),
            );
            const left = batch.filter((id) => !still.has(id));
            if (left.length > 0) yield left;
          }
        }
      })();
    },
    resolve: (ids: string[]) => ids,
  }),
}));
