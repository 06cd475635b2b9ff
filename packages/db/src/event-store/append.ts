import { sql, type Kysely, type Transaction } from 'kysely';
import type { EventMetadata, NewEvent, StoredEventEnvelope } from '@cairn/events';
import type { DB } from '../types.ts';
import { mayHoldPersonalData, sealPersonalData } from './personal-data.ts';
import {
  StreamVersionConflictError,
  UniqueKeyTakenError,
  type ExpectedVersion,
} from './event-store.errors.ts';

export interface UniqueKeyChange {
  scope: string;
  key: string;
}

export interface AppendRequest {
  workspaceId: string;
  streamId: string;
  streamType: string;
  expectedVersion: ExpectedVersion;
  events: NewEvent[];
  metadata: EventMetadata;
  /** Unique keys this append claims for the stream; a key held by another stream fails it. */
  claimKeys?: UniqueKeyChange[];
  /** Unique keys this stream gives up (a rename releases the old name). */
  releaseKeys?: UniqueKeyChange[];
  /**
   * Refuse the append (StreamVersionConflictError, nothing written) when the newest of the
   * stream's events of the types `among` is of type `refused`: a state check in the append's
   * own statement, for appends made without reading the stream (`expectedVersion: 'exists'`),
   * e.g. metric points, which a deleted run must not take. `among` should name state events
   * only (the partial index `events_stream_state` serves the look-up). Honoured with `exists`
   * and a numeric expected version (an existing stream); ignored by `no_stream` and `any`.
   */
  unlessLatest?: { among: readonly string[]; refused: string };
}

export interface AppendResult {
  /** Version of the stream after the append. */
  version: number;
  events: StoredEventEnvelope[];
}

/**
 * Appends in its own transaction. Without unique keys to claim or release (nearly every append:
 * metric batches, params, status changes) that is the one statement of `insertEvents`, atomic on
 * its own: one round trip instead of BEGIN, the statement and COMMIT.
 */
export function appendToStream(db: Kysely<DB>, request: AppendRequest): Promise<AppendResult> {
  if ((request.claimKeys?.length ?? 0) > 0 || (request.releaseKeys?.length ?? 0) > 0)
    return db.transaction().execute((trx) => appendInTransaction(trx, request));
  return insertEvents(db, request);
}

/**
 * The version check and bump of the streams row and the insert of the events, in one
 * `WITH … INSERT` statement. The streams row is the lock point: of two concurrent appends with
 * the same expected version exactly one wins; the other finds no row to bump, inserts nothing
 * and gets StreamVersionConflictError.
 */
async function insertEvents(db: Kysely<DB>, request: AppendRequest): Promise<AppendResult> {
  const { workspaceId, streamId, expectedVersion, events, metadata } = request;
  if (events.length === 0) throw new Error('appendToStream needs at least one event');
  const count = events.length;
  const stream =
    expectedVersion === 'no_stream'
      ? sql`INSERT INTO streams (workspace_id, stream_id, stream_type, version)
            VALUES (${workspaceId}, ${streamId}, ${request.streamType}, ${count})
            ON CONFLICT DO NOTHING RETURNING version`
      : expectedVersion === 'any'
        ? sql`INSERT INTO streams (workspace_id, stream_id, stream_type, version)
              VALUES (${workspaceId}, ${streamId}, ${request.streamType}, ${count})
              ON CONFLICT (workspace_id, stream_id) DO UPDATE SET version = streams.version + ${count}
              RETURNING version`
        : expectedVersion === 'exists'
          ? sql`UPDATE streams SET version = version + ${count}
                WHERE workspace_id = ${workspaceId} AND stream_id = ${streamId}
                  ${unlessLatestClause(request)}
                RETURNING version`
          : sql`UPDATE streams SET version = version + ${count}
                WHERE workspace_id = ${workspaceId} AND stream_id = ${streamId}
                  AND version = ${expectedVersion} ${unlessLatestClause(request)}
                RETURNING version`;
  // Personal fields go to the log sealed with their subject's key (personal-data.ts); the
  // result below still carries the plain data the caller appended.
  const stored = mayHoldPersonalData(events)
    ? await sealPersonalData(db, workspaceId, events)
    : events.map((e) => e.data);
  const values = sql.join(
    events.map(
      (event, i) =>
        sql`(${event.id}::uuid, ${event.type}::text, ${event.schemaVersion}::int, ${JSON.stringify(stored[i])}::jsonb, ${event.occurredAt}::timestamptz, ${i + 1}::int)`,
    ),
  );
  const { rows } = await sql<{
    global_position: number;
    transaction_id: string;
    recorded_at: Date;
    stream_position: number;
  }>`
    WITH s AS (${stream})
    INSERT INTO events (event_id, workspace_id, stream_id, stream_position, type, schema_version,
                        data, actor, correlation_id, causation_id, occurred_at, origin)
    SELECT v.event_id, ${workspaceId}, ${streamId}, s.version - ${count}::int + v.ord, v.type,
           v.schema_version, v.data, ${metadata.actor}, ${metadata.correlationId},
           ${metadata.causationId}, v.occurred_at,
           ${metadata.origin ? JSON.stringify(metadata.origin) : null}::jsonb
    FROM s CROSS JOIN (VALUES ${values}) AS v(event_id, type, schema_version, data, occurred_at, ord)
    -- Global positions are drawn in this order: the log keeps the stream's order.
    ORDER BY v.ord
    RETURNING global_position, transaction_id::text AS transaction_id, recorded_at, stream_position`.execute(
    db,
  );
  // No stream row matched (version moved, or the stream exists for 'no_stream'): nothing written.
  if (rows.length === 0) throw new StreamVersionConflictError(streamId, expectedVersion);
  rows.sort((a, b) => a.stream_position - b.stream_position);
  return toResult(request, rows);
}

/**
 * `AND NOT (the newest event of the types is the refused one)`. The type list is spelled out as
 * equalities so that the planner can prove they imply `type <> 'RunMetricsLogged'` and read the
 * partial index `events_stream_state` instead of every metric batch of the stream.
 */
function unlessLatestClause(request: AppendRequest) {
  const guard = request.unlessLatest;
  if (!guard) return sql``;
  if (guard.among.length === 0) throw new Error('unlessLatest needs at least one type');
  const types = sql.join(
    guard.among.map((t) => sql`e.type = ${t}`),
    sql` OR `,
  );
  return sql`AND COALESCE((
    SELECT e.type = ${guard.refused} FROM events e
    WHERE e.workspace_id = ${request.workspaceId} AND e.stream_id = ${request.streamId}
      AND (${types})
    ORDER BY e.stream_position DESC LIMIT 1), false) = false`;
}

function toResult(
  request: AppendRequest,
  rows: readonly {
    global_position: number;
    transaction_id: string;
    recorded_at: Date;
    stream_position: number;
  }[],
): AppendResult {
  const { workspaceId, streamId, events } = request;
  return {
    version: rows.at(-1)!.stream_position,
    events: rows.map((row, i) => {
      const event = events[i]!;
      return {
        id: event.id,
        type: event.type,
        schemaVersion: event.schemaVersion,
        workspaceId,
        streamId,
        streamPosition: row.stream_position,
        globalPosition: row.global_position,
        transactionId: row.transaction_id,
        occurredAt: event.occurredAt,
        recordedAt: row.recorded_at.toISOString(),
        data: event.data,
        actor: request.metadata.actor,
        correlationId: request.metadata.correlationId,
        causationId: request.metadata.causationId,
      };
    }),
  };
}

/**
 * Appends events to one stream with optimistic concurrency inside the caller's transaction, and
 * releases and claims its unique keys there: the events first (a version conflict is reported
 * before a taken key), then the keys; a taken key fails the transaction, events included.
 */
export async function appendInTransaction(
  trx: Transaction<DB>,
  request: AppendRequest,
): Promise<AppendResult> {
  const { workspaceId, streamId } = request;
  const result = await insertEvents(trx, request);

  for (const released of request.releaseKeys ?? []) {
    await trx
      .deleteFrom('unique_keys')
      .where('workspace_id', '=', workspaceId)
      .where('scope', '=', released.scope)
      .where('key', '=', released.key)
      .where('stream_id', '=', streamId)
      .execute();
  }
  for (const claimed of request.claimKeys ?? []) {
    const row = await trx
      .insertInto('unique_keys')
      .values({
        workspace_id: workspaceId,
        scope: claimed.scope,
        key: claimed.key,
        stream_id: streamId,
      })
      .onConflict((oc) => oc.columns(['workspace_id', 'scope', 'key']).doNothing())
      .returning('stream_id')
      .executeTakeFirst();
    if (!row) {
      const holder = await trx
        .selectFrom('unique_keys')
        .select('stream_id')
        .where('workspace_id', '=', workspaceId)
        .where('scope', '=', claimed.scope)
        .where('key', '=', claimed.key)
        .executeTakeFirst();
      if (holder?.stream_id !== streamId) throw new UniqueKeyTakenError(claimed.scope, claimed.key);
    }
  }

  return result;
}
