import { sql, type Kysely, type Transaction } from 'kysely';
import type { DB, LogPosition } from '@cairn/db';
import { decodeEvent, isEventType, type CairnEvent, type StoredEventEnvelope } from '@cairn/events';
import { revealPersonalData } from '@cairn/db';
import { CHANGES_CHANNEL, encodeChangeNotices } from './change-notices.ts';
import { advanceCheckpoint, checkpointName } from '@cairn/read-models';
import type { Projection } from './projection.ts';

export interface BatchResult {
  applied: number;
  skipped: number;
  deadLettered: number;
}

/**
 * Errors that say nothing about the event (connection lost, server shutting down, deadlock,
 * out of resources): retry the batch later; never dead-letter an event for them.
 */
export function isTransientError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    return (
      /^(08|40|53|57|58)/.test(code) ||
      ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT'].includes(code)
    );
  }
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|connection .*closed|timeout exceeded when trying to connect/i.test(
    message,
  );
}

function isRelevant(projection: Projection, event: StoredEventEnvelope): boolean {
  // An event of a type this build does not know cannot be routed: every projection dead-letters
  // it instead of dropping it silently.
  return !isEventType(event.type) || projection.handles.includes(event.type);
}

function key(workspaceId: string, streamId: string): string {
  return `${workspaceId}\u0000${streamId}`;
}

async function loadGuards(
  trx: Transaction<DB>,
  projection: Projection,
  events: readonly StoredEventEnvelope[],
): Promise<Map<string, number>> {
  const pairs = new Map<string, [string, string]>();
  for (const e of events) pairs.set(key(e.workspaceId, e.streamId), [e.workspaceId, e.streamId]);
  const workspaces = [...pairs.values()].map(([w]) => w);
  const streams = [...pairs.values()].map(([, s]) => s);
  const rows = await sql<{ workspace_id: string; stream_id: string; position: number }>`
    SELECT g.workspace_id, g.stream_id, g.position
    FROM projection_stream_positions g
    JOIN unnest(${workspaces}::text[], ${streams}::text[]) AS k(workspace_id, stream_id)
      ON g.workspace_id = k.workspace_id AND g.stream_id = k.stream_id
    WHERE g.projection = ${projection.name}`.execute(trx);
  return new Map(rows.rows.map((r) => [key(r.workspace_id, r.stream_id), r.position]));
}

async function saveGuards(
  trx: Transaction<DB>,
  projection: Projection,
  positions: Map<string, { workspaceId: string; streamId: string; position: number }>,
): Promise<void> {
  if (positions.size === 0) return;
  const values = [...positions.values()];
  await sql`
    INSERT INTO projection_stream_positions (workspace_id, projection, stream_id, position)
    SELECT w, ${projection.name}, s, p
    FROM unnest(${values.map((v) => v.workspaceId)}::text[], ${values.map((v) => v.streamId)}::text[],
                ${values.map((v) => v.position)}::int[]) AS t(w, s, p)
    ON CONFLICT (workspace_id, projection, stream_id)
    DO UPDATE SET position = GREATEST(projection_stream_positions.position, excluded.position)`.execute(
    trx,
  );
}

// advanceCheckpoint moved to @cairn/read-models (the online evaluator in the API uses it too).
export { advanceCheckpoint };

async function deadLetter(
  trx: Transaction<DB>,
  projection: Projection,
  event: StoredEventEnvelope,
  error: unknown,
): Promise<void> {
  await trx
    .insertInto('dead_letters')
    .values({
      workspace_id: event.workspaceId,
      projection: projection.name,
      event_id: event.id,
      global_position: event.globalPosition,
      stream_id: event.streamId,
      stream_position: event.streamPosition,
      event_type: event.type,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    })
    .onConflict((oc) => oc.columns(['projection', 'event_id']).doNothing())
    .execute();
}

async function notifyChanges(
  trx: Transaction<DB>,
  projection: Projection,
  positions: Map<string, { workspaceId: string; streamId: string; position: number }>,
): Promise<void> {
  const byWorkspace = new Map<string, Map<string, number>>();
  for (const { workspaceId, streamId, position } of positions.values()) {
    let streams = byWorkspace.get(workspaceId);
    if (!streams) byWorkspace.set(workspaceId, (streams = new Map<string, number>()));
    streams.set(streamId, position);
  }
  for (const [workspaceId, streams] of byWorkspace) {
    for (const payload of encodeChangeNotices(projection.name, workspaceId, streams)) {
      await sql`SELECT pg_notify(${CHANGES_CHANNEL}, ${payload})`.execute(trx);
    }
  }
}

interface RunOnceOptions {
  /** Log position to record as this projection's checkpoint (postgres transport). */
  checkpoint?: LogPosition;
  /** Apply events one by one; an event whose apply fails is dead-lettered. */
  isolate?: boolean;
}

let savepointCounter = 0;

/**
 * Runs `fn` atomically: in a new transaction, or, when `db` is already a transaction (a rebuild),
 * in a savepoint of it.
 */
async function atomically<T>(db: Kysely<DB>, fn: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
  if (!db.isTransaction) return db.transaction().execute(fn);
  const trx = db as Transaction<DB>;
  const name = sql.id(`cairn_sp_${++savepointCounter}`);
  await sql`SAVEPOINT ${name}`.execute(trx);
  try {
    const result = await fn(trx);
    await sql`RELEASE SAVEPOINT ${name}`.execute(trx);
    return result;
  } catch (error) {
    await sql`ROLLBACK TO SAVEPOINT ${name}`.execute(trx);
    throw error;
  }
}

async function runInTransaction(
  db: Kysely<DB>,
  projection: Projection,
  events: readonly StoredEventEnvelope[],
  opts: RunOnceOptions,
  poison?: { event: StoredEventEnvelope; error: unknown },
): Promise<BatchResult> {
  return atomically(db, async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(hashtext(${checkpointName(projection)}))`.execute(trx);
    const guards = await loadGuards(trx, projection, events);
    const positions = new Map<
      string,
      { workspaceId: string; streamId: string; position: number }
    >();
    const decoded: CairnEvent[] = [];
    let skipped = 0;
    let deadLettered = 0;
    // Projections see personal fields opened (or erased placeholders); dead letters keep the
    // event as stored, sealed.
    const revealed = await revealPersonalData(trx, events);
    for (const [i, event] of events.entries()) {
      const k = key(event.workspaceId, event.streamId);
      const applied = Math.max(guards.get(k) ?? 0, positions.get(k)?.position ?? 0);
      if (event.streamPosition <= applied) {
        skipped += 1;
        continue;
      }
      positions.set(k, {
        workspaceId: event.workspaceId,
        streamId: event.streamId,
        position: event.streamPosition,
      });
      if (poison && poison.event.id === event.id) {
        await deadLetter(trx, projection, event, poison.error);
        deadLettered += 1;
        continue;
      }
      try {
        decoded.push(decodeEvent(revealed[i]!));
      } catch (error) {
        await deadLetter(trx, projection, event, error);
        deadLettered += 1;
      }
    }
    if (decoded.length > 0) await projection.apply(trx, decoded);
    await saveGuards(trx, projection, positions);
    if (opts.checkpoint) await advanceCheckpoint(trx, checkpointName(projection), opts.checkpoint);
    await notifyChanges(trx, projection, positions);
    return { applied: decoded.length, skipped, deadLettered };
  });
}

/**
 * Applies a batch of stored events to one projection in one transaction: guards against
 * redelivery, dead-letters what cannot be decoded, writes the read models, the guards, the
 * checkpoint and the change notices together. If the projection fails on the batch for a
 * non-transient reason, the events are retried one per transaction and the one that fails is
 * dead-lettered with its error, so one poison event never stops the projector.
 * `db` may be a transaction (rebuild): the batch then runs in savepoints of it.
 */
export async function applyBatch(
  db: Kysely<DB>,
  projection: Projection,
  batch: readonly StoredEventEnvelope[],
  opts: RunOnceOptions = {},
): Promise<BatchResult> {
  const events = batch.filter((e) => isRelevant(projection, e));
  if (events.length === 0) {
    if (opts.checkpoint) await advanceCheckpoint(db, checkpointName(projection), opts.checkpoint);
    return { applied: 0, skipped: 0, deadLettered: 0 };
  }
  if (!opts.isolate) {
    try {
      return await runInTransaction(db, projection, events, opts);
    } catch (error) {
      if (isTransientError(error)) throw error;
    }
  }
  const total: BatchResult = { applied: 0, skipped: 0, deadLettered: 0 };
  for (const [i, event] of events.entries()) {
    const checkpoint = i === events.length - 1 ? opts.checkpoint : undefined;
    let result: BatchResult;
    try {
      result = await runInTransaction(db, projection, [event], { checkpoint });
    } catch (error) {
      if (isTransientError(error)) throw error;
      result = await runInTransaction(db, projection, [event], { checkpoint }, { event, error });
    }
    total.applied += result.applied;
    total.skipped += result.skipped;
    total.deadLettered += result.deadLettered;
  }
  return total;
}
