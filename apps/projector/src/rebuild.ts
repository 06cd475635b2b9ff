import { sql, type Kysely } from 'kysely';
import { LOG_START, readAllAfter, type DB, type LogPosition } from '@cairn/db';
import { ALL_EVENT_TYPES } from '@cairn/events';
import { advanceCheckpoint, applyBatch } from './apply-batch.ts';
import { checkpointName, type Projection } from './projection.ts';

export interface RebuildProgress {
  projection: string;
  events: number;
}

/**
 * Rebuilds one projection from the event log in a single transaction: readers keep seeing the
 * old read model until the new one commits, and a live projector of the same projection waits
 * on the projection's lock meanwhile. Works for both transports: on Kafka, the records consumed
 * afterwards are already covered by the guards and are dropped.
 */
export async function rebuildProjection(
  db: Kysely<DB>,
  projection: Projection,
  opts: { batchSize?: number; onProgress?: (p: RebuildProgress) => void } = {},
): Promise<RebuildProgress> {
  const batchSize = opts.batchSize ?? 2000;
  return db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(hashtext(${checkpointName(projection)}))`.execute(trx);
    await sql`TRUNCATE ${sql.join(projection.tables.map((t) => sql.table(t)))} RESTART IDENTITY`.execute(
      trx,
    );
    await trx
      .deleteFrom('projection_stream_positions')
      .where('projection', '=', projection.name)
      .execute();
    await trx.deleteFrom('dead_letters').where('projection', '=', projection.name).execute();
    await trx
      .deleteFrom('log_checkpoints')
      .where('reader', '=', checkpointName(projection))
      .execute();
    let position: LogPosition = LOG_START;
    let count = 0;
    for (;;) {
      const events = await readAllAfter(trx, position, batchSize, {
        types: projection.handles,
        orNotIn: ALL_EVENT_TYPES,
      });
      const last = events.at(-1);
      if (!last) break;
      await applyBatch(trx, projection, events);
      position = { transactionId: last.transactionId, globalPosition: last.globalPosition };
      count += events.length;
      opts.onProgress?.({ projection: projection.name, events: count });
    }
    await advanceCheckpoint(trx, checkpointName(projection), position);
    return { projection: projection.name, events: count };
  });
}
