import { sql, type Kysely } from 'kysely';
import { revealPersonalData, type DB } from '@cairn/db';
import { currentSchemas, type Domain, type EventOrigin } from '@cairn/events';
import { invalidArgument } from '../errors.ts';

/** The audit log's bounds (docs/governance.md). */
export const AUDIT_LIMITS = { maxPage: 500, maxTypes: 100, maxText: 500 } as const;

export interface AuditFilter {
  actor?: string | null;
  types?: readonly string[] | null;
  domain?: string | null;
  streamId?: string | null;
  /** Epoch ms, inclusive. */
  from?: number | null;
  /** Epoch ms, exclusive. */
  to?: number | null;
}

export interface AuditRow {
  globalPosition: number;
  eventId: string;
  type: string;
  schemaVersion: number;
  domain: string | null;
  streamId: string;
  streamPosition: number;
  actor: string;
  correlationId: string;
  causationId: string | null;
  occurredAt: Date;
  recordedAt: Date;
  data: unknown;
  /** Where the change came from (migration 0024); null for events appended before it. */
  origin: EventOrigin | null;
}

const DOMAIN_OF = new Map<string, Domain>(
  Object.entries(currentSchemas).map(([type, entry]) => [type, entry.domain]),
);
const DOMAINS = new Set<string>(DOMAIN_OF.values());

function checkText(name: string, value: string): string {
  if (value.length === 0 || value.length > AUDIT_LIMITS.maxText)
    throw invalidArgument(`filter.${name} must be 1 to ${AUDIT_LIMITS.maxText} characters`, {
      argument: `filter.${name}`,
    });
  return value;
}

/** The event types a filter asks for (its `types`, narrowed to its `domain`), or null for all. */
function typesOf(filter: AuditFilter): string[] | null {
  let types: string[] | null = null;
  if (filter.types) {
    if (filter.types.length === 0 || filter.types.length > AUDIT_LIMITS.maxTypes)
      throw invalidArgument(`filter.types takes 1 to ${AUDIT_LIMITS.maxTypes} event types`, {
        argument: 'filter.types',
      });
    for (const t of filter.types)
      if (!DOMAIN_OF.has(t))
        throw invalidArgument(`Unknown event type "${t.slice(0, 80)}"`, {
          argument: 'filter.types',
        });
    types = [...filter.types];
  }
  if (filter.domain !== null && filter.domain !== undefined) {
    if (!DOMAINS.has(filter.domain))
      throw invalidArgument(
        `Unknown domain "${filter.domain.slice(0, 80)}": one of ${[...DOMAINS].sort().join(', ')}`,
        { argument: 'filter.domain' },
      );
    const inDomain = [...DOMAIN_OF].filter(([, d]) => d === filter.domain).map(([t]) => t);
    types = types ? types.filter((t) => inDomain.includes(t)) : inDomain;
  }
  return types;
}

function checkTime(name: string, value: number | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  if (!Number.isSafeInteger(value) || value < 0 || value > 253402300799999)
    throw invalidArgument(`filter.${name} is not a valid time`, { argument: `filter.${name}` });
  return value;
}

/**
 * One page of the workspace's event log, newest first (by global position), below `before`
 * (the previous page's last position). Reads `first + 1` rows to know whether more follow.
 */
function filtered(db: Kysely<DB>, workspaceId: string, filter: AuditFilter) {
  const types = typesOf(filter);
  if (types && types.length === 0) return null;
  const from = checkTime('from', filter.from);
  const to = checkTime('to', filter.to);
  let query = db.selectFrom('events').where('workspace_id', '=', workspaceId);
  if (types) query = query.where('type', 'in', types);
  if (filter.actor) query = query.where('actor', '=', checkText('actor', filter.actor));
  if (filter.streamId)
    query = query.where('stream_id', '=', checkText('streamId', filter.streamId));
  if (from !== null) query = query.where('recorded_at', '>=', new Date(from));
  if (to !== null) query = query.where('recorded_at', '<', new Date(to));
  return query;
}

/**
 * One page of the workspace's event log, newest first (by global position), below `before`
 * (the previous page's last position). Reads `first + 1` rows to know whether more follow.
 */
export async function readAuditLog(
  db: Kysely<DB>,
  workspaceId: string,
  filter: AuditFilter,
  first: number,
  before: number | null,
): Promise<{ rows: AuditRow[]; hasMore: boolean }> {
  let query = filtered(db, workspaceId, filter);
  if (!query) return { rows: [], hasMore: false };
  if (before !== null) query = query.where('global_position', '<', before);
  const rows = await query
    .select([
      'global_position',
      'event_id',
      'type',
      'schema_version',
      'stream_id',
      'stream_position',
      'actor',
      'correlation_id',
      'causation_id',
      'occurred_at',
      'recorded_at',
      'data',
      sql<EventOrigin | null>`origin`.as('origin'),
    ])
    .orderBy(sql`global_position`, 'desc')
    .limit(first + 1)
    .execute();
  // Personal fields are shown opened, or as the erased placeholder (docs/governance.md, "Erasure").
  const page = await revealPersonalData(db, rows.slice(0, first));
  return {
    hasMore: rows.length > first,
    rows: page.map((r) => ({
      globalPosition: r.global_position,
      eventId: r.event_id,
      type: r.type,
      schemaVersion: r.schema_version,
      domain: DOMAIN_OF.get(r.type) ?? null,
      streamId: r.stream_id,
      streamPosition: r.stream_position,
      actor: r.actor,
      correlationId: r.correlation_id,
      causationId: r.causation_id,
      occurredAt: r.occurred_at,
      recordedAt: r.recorded_at,
      data: r.data,
      origin: r.origin,
    })),
  };
}

/** How many events match the filter (only when totalCount is asked for). */
export async function countAuditLog(
  db: Kysely<DB>,
  workspaceId: string,
  filter: AuditFilter,
): Promise<number> {
  const query = filtered(db, workspaceId, filter);
  if (!query) return 0;
  const row = await query.select(sql<number>`count(*)::int8`.as('n')).executeTakeFirst();
  return Number(row?.n ?? 0);
}

const SUMMARY_FIELDS = ['name', 'key', 'value', 'version', 'alias', 'stage', 'status', 'url'];

/**
 * A readable line for an event: who, what (the type in words), on which stream, and the data
 * fields people look for (name, key, value, version, alias, stage, status, url), each shortened.
 */
export function summarize(row: Pick<AuditRow, 'type' | 'actor' | 'streamId' | 'data'>): string {
  const what = row.type.replace(/([a-z])([A-Z])/gu, '$1 $2').toLowerCase();
  const data = (row.data ?? {}) as Record<string, unknown>;
  const details = SUMMARY_FIELDS.flatMap((field) => {
    const v = data[field];
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') return [];
    const text = String(v);
    return [`${field}=${text.length > 60 ? `${text.slice(0, 57)}…` : text}`];
  });
  return `${row.actor}: ${what} (${row.streamId})${details.length ? ` ${details.join(', ')}` : ''}`;
}

/** The key id of an actor `key:<id>`, else null. */
export function keyIdOf(actor: string): string | null {
  return actor.startsWith('key:') ? actor.slice(4) : null;
}

const lowerFirst = (s: string) => s.slice(0, 1).toLowerCase() + s.slice(1);

/**
 * The before and after of a change, where the event states both: a `previousX` field gives
 * `x` before (and the event's `x` after: ModelAliasSet's version, RegisteredModelRenamed's name,
 * a member's role), a `fromX`/`toX` pair gives `x` (a stage transition, a deployment's version).
 * Null when the event states only the new state (its data is the change).
 */
export function changeOf(
  data: unknown,
): { before: Record<string, unknown>; after: Record<string, unknown> } | null {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return null;
  const d = data as Record<string, unknown>;
  const before: Record<string, unknown> = {};
  const after: Record<string, unknown> = {};
  for (const key of Object.keys(d)) {
    const previous = /^previous([A-Z]\w*)$/u.exec(key);
    if (previous) {
      const name = lowerFirst(previous[1]!);
      before[name] = d[key];
      after[name] = d[name] ?? null;
      continue;
    }
    const from = /^from([A-Z]\w*)$/u.exec(key);
    if (from && `to${from[1]!}` in d) {
      const name = lowerFirst(from[1]!);
      before[name] = d[key];
      after[name] = d[`to${from[1]!}`];
    }
  }
  return Object.keys(before).length > 0 ? { before, after } : null;
}
