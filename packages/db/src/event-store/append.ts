import { sql, type Kysely, type Transaction } from 'kysely';
import type { EventMetadata, NewEvent, StoredEventEnvelope } from '@cairn/events';
import type { DB } from '../types.ts';
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
}

export interface AppendResult {
  /** Version of the stream after the append. */
  version: number;
  events: StoredEventEnvelope[];
}

/** Appends in its own transaction. */
export function appendToStream(db: Kysely<DB>, request: AppendRequest): Promise<AppendResult> {
  return db.transaction().execute((trx) => appendInTransaction(trx, request));
}

/**
 * Appends events to one stream with optimistic concurrency. The streams row is the lock point:
 * the version check and bump happen in one UPDATE, so of two concurrent appends with the same
 * expected version exactly one wins and the other gets StreamVersionConflictError.
 */
export async function appendInTransaction(
  trx: Transaction<DB>,
  request: AppendRequest,
): Promise<AppendResult> {
  const { workspaceId, streamId, expectedVersion, events } = request;
  if (events.length === 0) throw new Error('appendToStream needs at least one event');
  const count = events.length;

  let version: number;
  if (expectedVersion === 'no_stream') {
    const inserted = await trx
      .insertInto('streams')
      .values({
        workspace_id: workspaceId,
        stream_id: streamId,
        stream_type: request.streamType,
        version: count,
      })
      .onConflict((oc) => oc.doNothing())
      .returning('version')
      .executeTakeFirst();
    if (!inserted) throw new StreamVersionConflictError(streamId, expectedVersion);
    version = inserted.version;
  } else if (expectedVersion === 'any') {
    const upserted = await trx
      .insertInto('streams')
      .values({
        workspace_id: workspaceId,
        stream_id: streamId,
        stream_type: request.streamType,
        version: count,
      })
      .onConflict((oc) =>
        oc
          .columns(['workspace_id', 'stream_id'])
          .doUpdateSet({ version: sql<number>`streams.version + ${count}` }),
      )
      .returning('version')
      .executeTakeFirstOrThrow();
    version = upserted.version;
  } else {
    const updated = await trx
      .updateTable('streams')
      .set({ version: sql<number>`version + ${count}` })
      .where('workspace_id', '=', workspaceId)
      .where('stream_id', '=', streamId)
      .where('version', '=', expectedVersion)
      .returning('version')
      .executeTakeFirst();
    if (!updated) throw new StreamVersionConflictError(streamId, expectedVersion);
    version = updated.version;
  }

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

  const firstPosition = version - count + 1;
  const rows = await trx
    .insertInto('events')
    .values(
      events.map((event, i) => ({
        event_id: event.id,
        workspace_id: workspaceId,
        stream_id: streamId,
        stream_position: firstPosition + i,
        type: event.type,
        schema_version: event.schemaVersion,
        data: JSON.stringify(event.data),
        actor: request.metadata.actor,
        correlation_id: request.metadata.correlationId,
        causation_id: request.metadata.causationId,
        occurred_at: event.occurredAt,
      })),
    )
    .returning([
      'global_position',
      sql<string>`transaction_id::text`.as('transaction_id'),
      'recorded_at',
      'stream_position',
    ])
    .execute();

  return {
    version,
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
        ...request.metadata,
      };
    }),
  };
}
