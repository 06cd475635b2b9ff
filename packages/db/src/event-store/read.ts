import { sql, type Kysely, type Selectable } from 'kysely';
import type { StoredEventEnvelope } from '@cairn/events';
import type { DB, EventsTable } from '../types.ts';
import { revealPersonalData } from './personal-data.ts';

type EventRow = Omit<Selectable<EventsTable>, 'transaction_id'> & { transaction_id: string };

function selectEvents(db: Kysely<DB>) {
  return db
    .selectFrom('events')
    .select([
      'global_position',
      sql<string>`transaction_id::text`.as('transaction_id'),
      'event_id',
      'workspace_id',
      'stream_id',
      'stream_position',
      'type',
      'schema_version',
      'data',
      'actor',
      'correlation_id',
      'causation_id',
      'occurred_at',
      'recorded_at',
    ]);
}

export function toEnvelope(row: EventRow): StoredEventEnvelope {
  return {
    id: row.event_id,
    type: row.type,
    schemaVersion: row.schema_version,
    workspaceId: row.workspace_id,
    streamId: row.stream_id,
    streamPosition: row.stream_position,
    globalPosition: row.global_position,
    transactionId: row.transaction_id,
    occurredAt: row.occurred_at.toISOString(),
    recordedAt: row.recorded_at.toISOString(),
    actor: row.actor,
    correlationId: row.correlation_id,
    causationId: row.causation_id,
    data: row.data,
  };
}

export interface StreamRead {
  /** 0 when the stream does not exist. */
  version: number;
  events: StoredEventEnvelope[];
}

/**
 * Reads one stream in order. `excludeTypes` leaves out high-volume facts that do not change the
 * aggregate's decision state (metric batches of a run), so loading a run stays cheap.
 */
export async function readStream(
  db: Kysely<DB>,
  workspaceId: string,
  streamId: string,
  opts: { excludeTypes?: readonly string[] } = {},
): Promise<StreamRead> {
  const exclude = opts.excludeTypes ?? [];
  // A single exclusion is written as `<>` so that the partial index events_stream_state
  // (WHERE type <> 'RunMetricsLogged') serves the read.
  const typeFilter =
    exclude.length === 0
      ? sql``
      : exclude.length === 1
        ? sql`AND e.type <> ${exclude[0]!}`
        : sql`AND e.type NOT IN (${sql.join(exclude)})`;
  // The stream's version and its events in one statement (one snapshot, one round trip): a
  // stream without events to return still gives one row, with the event columns null.
  const { rows } = await sql<{ version: number } & Partial<EventRow>>`
    SELECT s.version, e.global_position, e.transaction_id::text AS transaction_id, e.event_id,
           e.workspace_id, e.stream_id, e.stream_position, e.type, e.schema_version, e.data,
           e.actor, e.correlation_id, e.causation_id, e.occurred_at, e.recorded_at
    FROM streams s
    LEFT JOIN LATERAL (
      SELECT * FROM events e
      WHERE e.workspace_id = s.workspace_id AND e.stream_id = s.stream_id
        AND e.stream_position <= s.version ${typeFilter}
    ) e ON true
    WHERE s.workspace_id = ${workspaceId} AND s.stream_id = ${streamId}
    ORDER BY e.stream_position`.execute(db);
  const first = rows[0];
  if (!first) return { version: 0, events: [] };
  const events = rows
    .filter((row) => row.event_id !== null && row.event_id !== undefined)
    .map((row) => toEnvelope(row as EventRow));
  // Deciders see plain personal data (or the erased placeholder), never sealed values.
  return { version: first.version, events: await revealPersonalData(db, events) };
}

/** Where a log reader stands: the last (transaction id, global position) it has consumed. */
export interface LogPosition {
  transactionId: string;
  globalPosition: number;
}

export const LOG_START: LogPosition = { transactionId: '0', globalPosition: 0 };

export function compareLogPositions(a: LogPosition, b: LogPosition): number {
  const ta = BigInt(a.transactionId);
  const tb = BigInt(b.transactionId);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.globalPosition - b.globalPosition;
}

/**
 * Reads the global log after `after`, in (transaction id, global position) order, and only
 * below the visibility boundary: events of transactions older than the oldest transaction still
 * in progress. A transaction that is still open may hold a smaller global position than events
 * already committed; reading "position > checkpoint" would skip it forever once it commits.
 * Every transaction below xmin has ended, so nothing can appear later behind the checkpoint.
 */
export async function readAllAfter(
  db: Kysely<DB>,
  after: LogPosition,
  limit: number,
  opts: {
    /** Only these types... */
    types?: readonly string[];
    /** ...plus any type not in this list (types unknown to the reader's build). */
    orNotIn?: readonly string[];
  } = {},
): Promise<StoredEventEnvelope[]> {
  let query = selectEvents(db);
  const { types, orNotIn } = opts;
  if (types) {
    query = query.where((eb) =>
      orNotIn
        ? eb.or([eb('type', 'in', [...types]), eb('type', 'not in', [...orNotIn])])
        : eb('type', 'in', [...types]),
    );
  }
  const rows = await query
    .where(
      sql<boolean>`(transaction_id, global_position) > (${after.transactionId}::xid8, ${after.globalPosition}::bigint)`,
    )
    .where(sql<boolean>`transaction_id < pg_snapshot_xmin(pg_current_snapshot())`)
    // Order by the xid8 column itself: the selected alias is its text form, and text order
    // puts 1000 before 999.
    .orderBy(sql`events.transaction_id`)
    .orderBy(sql`events.global_position`)
    .limit(limit)
    .execute();
  return rows.map(toEnvelope);
}

export async function loadLogCheckpoint(db: Kysely<DB>, reader: string): Promise<LogPosition> {
  const row = await db
    .selectFrom('log_checkpoints')
    .select([sql<string>`transaction_id::text`.as('transaction_id'), 'global_position'])
    .where('reader', '=', reader)
    .executeTakeFirst();
  return row
    ? { transactionId: row.transaction_id, globalPosition: row.global_position }
    : LOG_START;
}

export async function saveLogCheckpoint(
  db: Kysely<DB>,
  reader: string,
  position: LogPosition,
): Promise<void> {
  await db
    .insertInto('log_checkpoints')
    .values({
      reader,
      transaction_id: sql<string>`${position.transactionId}::xid8`,
      global_position: position.globalPosition,
    })
    .onConflict((oc) =>
      oc.column('reader').doUpdateSet({
        transaction_id: sql<string>`${position.transactionId}::xid8`,
        global_position: position.globalPosition,
        updated_at: sql`now()`,
      }),
    )
    .execute();
}

/** How far a log reader is behind: events not yet read (capped) and age of the oldest. */
export async function logLag(
  db: Kysely<DB>,
  after: LogPosition,
  types?: readonly string[],
  cap = 1_000_000,
): Promise<{ events: number; seconds: number }> {
  const typeFilter = types ? sql`AND type = ANY(${[...types]}::text[])` : sql``;
  const result = await sql<{ events: number; oldest: Date | null }>`
    SELECT count(*)::int8 AS events, min(recorded_at) AS oldest FROM (
      SELECT recorded_at FROM events
      WHERE (transaction_id, global_position) > (${after.transactionId}::xid8, ${after.globalPosition}::bigint)
      ${typeFilter}
      LIMIT ${cap}
    ) pending`.execute(db);
  const row = result.rows[0];
  const oldest = row?.oldest;
  return {
    events: row?.events ?? 0,
    seconds: oldest ? Math.max(0, (Date.now() - oldest.getTime()) / 1000) : 0,
  };
}
