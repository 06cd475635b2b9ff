import { sql } from 'kysely';
import { builder } from '../graphql/builder.ts';
import { connectionType } from '../graphql/connection.ts';
import { pageSize } from '../graphql/scalars.ts';
import { TokenUsageRef, TraceConnection, tokensOf } from './trace.graphql.ts';
import { parseTraceFilter, parseTraceOrderBy, type TraceOrder } from './trace-search.ts';
import { listSessions, listTraces } from './traces.queries.ts';

/** A session's traces, oldest first (the traces_session index: session, start time). */
const OLDEST_FIRST: TraceOrder = (() => {
  const newest = parseTraceOrderBy([]);
  return {
    signature: 'session oldest first',
    columns: newest.columns.map((c) => ({ ...c, direction: 'asc' as const })),
  };
})();

const SessionRef = builder.objectType('Session', {
  fields: (t) => ({
    id: t.exposeID('session_id'),
    userId: t.exposeString('user_id', { nullable: true }),
    traceCount: t.exposeInt('trace_count'),
    firstTraceAt: t.field({ type: 'Timestamp', resolve: (s) => s.first_trace_at.getTime() }),
    lastTraceAt: t.field({ type: 'Timestamp', resolve: (s) => s.last_trace_at.getTime() }),
    tokenUsage: t.field({ type: TokenUsageRef, resolve: (s) => tokensOf(s) }),
    cost: t.exposeFloat('cost_usd', { nullable: true }),
    traces: t.field({
      type: TraceConnection,
      description: 'Oldest first.',
      args: { first: t.arg.int({ defaultValue: 100 }), after: t.arg.string() },
      resolve: async (s, args, ctx) => {
        const page = await listTraces(ctx.deps.db, ctx.workspaceId, {
          filter: null,
          order: OLDEST_FIRST,
          first: pageSize(args.first ?? 100),
          after: args.after ?? null,
          where: sql`t.session_id = ${s.session_id}`,
        });
        return {
          edges: page.edges,
          pageInfo: {
            hasNextPage: page.hasNextPage,
            endCursor: page.edges.at(-1)?.cursor ?? null,
          },
          totalCount: s.trace_count,
        };
      },
    }),
  }),
});

const SessionConnection = connectionType('Session', SessionRef);

builder.queryFields((t) => ({
  sessions: t.field({
    type: SessionConnection,
    description:
      'Sessions (traces sharing a session id), latest activity first. `filter` (the trace grammar) keeps the sessions with at least one matching trace.',
    args: {
      filter: t.arg.string(),
      first: t.arg.int({ defaultValue: 50 }),
      after: t.arg.string(),
    },
    resolve: async (_r, args, ctx) => {
      const page = await listSessions(ctx.deps.db, ctx.workspaceId, {
        filter: parseTraceFilter(args.filter),
        first: pageSize(args.first ?? 50),
        after: args.after ?? null,
      });
      return {
        edges: page.edges,
        pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.edges.at(-1)?.cursor ?? null },
        totalCount: page.totalCount,
      };
    },
  }),
  session: t.field({
    type: SessionRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_r, { id }, ctx) => ctx.loaders.tracing.session.load(String(id)),
  }),
}));
