import { builder } from '../graphql/builder.ts';
import { connectionType, type Connection } from '../graphql/connection.ts';
import { decodeCursor, encodeCursor, pageSize } from '../graphql/scalars.ts';
import type { EventOrigin } from '@cairn/events';
import {
  AUDIT_LIMITS,
  changeOf,
  countAuditLog,
  keyIdOf,
  readAuditLog,
  summarize,
  type AuditFilter,
  type AuditRow,
} from './audit.queries.ts';

const AuditOriginRef = builder.objectRef<EventOrigin>('AuditOrigin').implement({
  description:
    'Where a change came from (recorded since migration 0024; docs/governance.md "Origin").',
  fields: (t) => ({
    client: t.string({
      nullable: true,
      description:
        '`x-cairn-client` when the caller named itself, else the first product of its user agent.',
      resolve: (o) => o.client ?? null,
    }),
    address: t.string({
      nullable: true,
      description: 'The peer address of the connection (proxy headers are not trusted).',
      resolve: (o) => o.address ?? null,
    }),
    userAgent: t.string({ nullable: true, resolve: (o) => o.userAgent ?? null }),
  }),
});

export const AuditEntryRef = builder.objectRef<AuditRow>('AuditEntry').implement({
  description:
    'One event of the log: who (actor: `anonymous`, `key:<id>`, `user:<id>`, `system:<component>`), what (type, data), when, and the request it came from (correlationId).',
  fields: (t) => ({
    position: t.string({
      description: 'Global log position (a decimal string: it can exceed 2^31).',
      resolve: (r) => String(r.globalPosition),
    }),
    eventId: t.exposeString('eventId'),
    type: t.exposeString('type'),
    schemaVersion: t.exposeInt('schemaVersion'),
    domain: t.exposeString('domain', { nullable: true }),
    streamId: t.exposeString('streamId'),
    streamPosition: t.exposeInt('streamPosition'),
    actor: t.exposeString('actor'),
    keyId: t.string({
      nullable: true,
      description: 'The API key of the change (actor `key:<id>`), else null.',
      resolve: (r) => keyIdOf(r.actor),
    }),
    origin: t.field({
      type: AuditOriginRef,
      nullable: true,
      description: 'Client, address and user agent; null for events recorded before they were.',
      resolve: (r) => r.origin,
    }),
    correlationId: t.exposeString('correlationId'),
    causationId: t.exposeString('causationId', { nullable: true }),
    occurredAt: t.field({ type: 'Timestamp', resolve: (r) => r.occurredAt.getTime() }),
    recordedAt: t.field({ type: 'Timestamp', resolve: (r) => r.recordedAt.getTime() }),
    summary: t.string({ resolve: (r) => summarize(r) }),
    before: t.field({
      type: 'JSON',
      nullable: true,
      description:
        'What the change replaced, where the event states it (previous alias version, stage, name, role); else null.',
      resolve: (r) => changeOf(r.data)?.before ?? null,
    }),
    after: t.field({
      type: 'JSON',
      nullable: true,
      description: 'The new values of the fields in `before`; null when `before` is.',
      resolve: (r) => changeOf(r.data)?.after ?? null,
    }),
    data: t.field({
      type: 'JSON',
      description: 'The event data as stored.',
      resolve: (r) => r.data,
    }),
  }),
});

const AuditEntryConnection = connectionType('AuditEntry', AuditEntryRef);

export const AuditFilterRef = builder.inputType('AuditFilter', {
  fields: (t) => ({
    actor: t.string({ description: 'Exactly this actor, e.g. `key:ab12…` or `anonymous`.' }),
    types: t.stringList({ description: 'Event types, e.g. ["ModelAliasSet"] (at most 100).' }),
    domain: t.string({ description: 'experiments, runs, registry, tracing, prompts, …' }),
    streamId: t.string({ description: 'One object’s history, e.g. `registered-model-<id>`.' }),
    from: t.field({ type: 'Timestamp', description: 'Recorded at or after (epoch ms).' }),
    to: t.field({ type: 'Timestamp', description: 'Recorded before (epoch ms).' }),
  }),
});

/** The query layer's filter from the GraphQL input (absent fields: no condition). */
export function toAuditFilter(
  f:
    | {
        actor?: string | null;
        types?: readonly string[] | null;
        domain?: string | null;
        streamId?: string | null;
        from?: number | null;
        to?: number | null;
      }
    | null
    | undefined,
): AuditFilter {
  return {
    actor: f?.actor,
    types: f?.types,
    domain: f?.domain,
    streamId: f?.streamId,
    from: f?.from ?? null,
    to: f?.to ?? null,
  };
}

const isPosition = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;

builder.queryFields((t) => ({
  auditLog: t.field({
    type: AuditEntryConnection,
    description: `The workspace's event log as an audit trail, newest first, filtered and paged (keyset on the log position; at most ${AUDIT_LIMITS.maxPage} per page). docs/governance.md.`,
    args: {
      filter: t.arg({ type: AuditFilterRef }),
      first: t.arg.int(),
      after: t.arg.string(),
    },
    resolve: async (_r, args, ctx): Promise<Connection<AuditRow>> => {
      const first = pageSize(args.first, AUDIT_LIMITS.maxPage);
      const before = decodeCursor(args.after, isPosition);
      const filter = toAuditFilter(args.filter);
      const { rows, hasMore } = await readAuditLog(
        ctx.deps.db,
        ctx.workspaceId,
        filter,
        first,
        before,
      );
      const edges = rows.map((node) => ({ node, cursor: encodeCursor(node.globalPosition) }));
      return {
        edges,
        pageInfo: { hasNextPage: hasMore, endCursor: edges.at(-1)?.cursor ?? null },
        totalCount: () => countAuditLog(ctx.deps.db, ctx.workspaceId, filter),
      };
    },
  }),
}));
