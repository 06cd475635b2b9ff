import pg from 'pg';
import type { StoredEventEnvelope } from '@cairn/events';
import { ConsumerConfigError, ConsumerStoppedError } from './consumer.errors.ts';
import type { BatchHandler, RunningSource, SourceFilter } from './consumer.ts';

export interface PostgresSourceOptions {
  name: string;
  filter: SourceFilter;
  startAt: 'beginning' | 'end';
  batchSize: number;
  idleMs: number;
  onError: (error: unknown) => void;
}

/** Where a consumer stands in the log: the last (transaction id, global position) it finished. */
export interface ConsumerCheckpoint {
  transactionId: string;
  globalPosition: number;
  filter: SourceFilter;
}

interface EventRow {
  global_position: string;
  transaction_id: string;
  event_id: string;
  workspace_id: string;
  stream_id: string;
  stream_position: number;
  type: string;
  schema_version: number;
  data: unknown;
  actor: string;
  correlation_id: string;
  causation_id: string | null;
  occurred_at: Date;
  recorded_at: Date;
}

function toEnvelope(row: EventRow): StoredEventEnvelope {
  return {
    id: row.event_id,
    type: row.type,
    schemaVersion: row.schema_version,
    workspaceId: row.workspace_id,
    streamId: row.stream_id,
    streamPosition: row.stream_position,
    globalPosition: Number(row.global_position),
    transactionId: row.transaction_id,
    occurredAt: row.occurred_at.toISOString(),
    recordedAt: row.recorded_at.toISOString(),
    actor: row.actor,
    correlationId: row.correlation_id,
    causationId: row.causation_id,
    data: row.data,
  };
}

interface Position {
  transactionId: string;
  globalPosition: number;
}

function isAfter(a: Position, b: Position): boolean {
  const at = BigInt(a.transactionId);
  const bt = BigInt(b.transactionId);
  return at !== bt ? at > bt : a.globalPosition > b.globalPosition;
}

function sameFilter(a: SourceFilter, b: SourceFilter): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The stored checkpoint of a consumer, or null if it never ran (for tools and tests). */
export async function loadConsumerCheckpoint(
  client: Pick<pg.Pool, 'query'>,
  name: string,
): Promise<ConsumerCheckpoint | null> {
  const { rows } = await client.query<{ tx: string; position: string; filter: SourceFilter }>(
    `SELECT transaction_id::text AS tx, global_position AS position, filter
     FROM consumer_checkpoints WHERE consumer = $1`,
    [name],
  );
  const row = rows[0];
  return row
    ? { transactionId: row.tx, globalPosition: Number(row.position), filter: row.filter }
    : null;
}

async function boundary(pool: pg.Pool): Promise<Position> {
  const { rows } = await pool.query<{ xmin: string }>(
    'SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin',
  );
  return { transactionId: rows[0]!.xmin, globalPosition: 0 };
}

async function initCheckpoint(pool: pg.Pool, opts: PostgresSourceOptions): Promise<Position> {
  const existing = await loadConsumerCheckpoint(pool, opts.name);
  if (!existing) {
    const start =
      opts.startAt === 'end' ? await boundary(pool) : { transactionId: '0', globalPosition: 0 };
    await pool.query(
      `INSERT INTO consumer_checkpoints (consumer, transaction_id, global_position, filter)
       VALUES ($1, $2::xid8, $3, $4::jsonb) ON CONFLICT (consumer) DO NOTHING`,
      [opts.name, start.transactionId, start.globalPosition, JSON.stringify(opts.filter)],
    );
    return initCheckpoint(pool, opts);
  }
  if (!sameFilter(existing.filter, opts.filter)) {
    // Its checkpoint may have moved past events the new filter wants: refuse, never skip them.
    throw new ConsumerConfigError(
      `consumer "${opts.name}" was started with the filter ${JSON.stringify(existing.filter)}, not ${JSON.stringify(opts.filter)}: use a new name (or delete its row in consumer_checkpoints to start over)`,
      'FAILED_PRECONDITION',
    );
  }
  return existing;
}

/** Never moves a checkpoint back (a second instance of the same consumer may run). */
async function saveCheckpoint(pool: pg.Pool, name: string, position: Position): Promise<void> {
  await pool.query(
    `UPDATE consumer_checkpoints
     SET transaction_id = $2::xid8, global_position = $3, updated_at = now()
     WHERE consumer = $1 AND (transaction_id, global_position) < ($2::xid8, $3::bigint)`,
    [name, position.transactionId, position.globalPosition],
  );
}

/**
 * Tails the Postgres event log for one consumer, below the visibility boundary (the rule of
 * `readAllAfter` in packages/db: a sequence value is taken before commit, so only transactions
 * older than the oldest one still open are read; nothing can appear behind the checkpoint later).
 * The checkpoint is written after the batch handler resolved: at least once.
 */
export async function startPostgresSource(
  url: string,
  opts: PostgresSourceOptions,
  onBatch: BatchHandler,
): Promise<RunningSource> {
  const pool = new pg.Pool({
    connectionString: url,
    max: 2,
    application_name: `cairn-consumer:${opts.name}`.slice(0, 63),
  });
  // An idle client's error (the server restarted) is not fatal: the next query reconnects.
  pool.on('error', () => undefined);
  let checkpoint: Position;
  try {
    checkpoint = await initCheckpoint(pool, opts);
  } catch (error) {
    await pool.end();
    throw error;
  }

  let stopped = false;
  let wakeUp: (() => void) | null = null;
  let lastSkip = 0;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        wakeUp = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      wakeUp = done;
    });

  const read = async (): Promise<StoredEventEnvelope[]> => {
    const params: unknown[] = [checkpoint.transactionId, checkpoint.globalPosition, opts.batchSize];
    let where = '';
    if (opts.filter.types) {
      params.push(opts.filter.types);
      where += ` AND type = ANY($${params.length}::text[])`;
    }
    if (opts.filter.workspaceId !== null) {
      params.push(opts.filter.workspaceId);
      where += ` AND workspace_id = $${params.length}`;
    }
    const { rows } = await pool.query<EventRow>(
      `SELECT global_position, transaction_id::text AS transaction_id, event_id, workspace_id,
              stream_id, stream_position, type, schema_version, data, actor, correlation_id,
              causation_id, occurred_at, recorded_at
       FROM events
       WHERE (transaction_id, global_position) > ($1::xid8, $2::bigint)
         AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())${where}
       ORDER BY transaction_id, global_position
       LIMIT $3`,
      params,
    );
    return rows.map(toEnvelope);
  };

  /** One batch; answers how long to sleep. */
  const step = async (): Promise<number> => {
    const below = await boundary(pool);
    const batch = await read();
    const last = batch.at(-1);
    if (last) {
      await onBatch(batch);
      const lastPosition = {
        transactionId: last.transactionId,
        globalPosition: last.globalPosition,
      };
      // A short batch holds every matching event below the boundary: the checkpoint may move to
      // it, past events of other types and workspaces (no re-scan of them at the next step).
      const next =
        batch.length < opts.batchSize && isAfter(below, lastPosition) ? below : lastPosition;
      await saveCheckpoint(pool, opts.name, next);
      checkpoint = next;
      return 0;
    }
    if (isAfter(below, checkpoint) && Date.now() - lastSkip >= 1000) {
      lastSkip = Date.now();
      await saveCheckpoint(pool, opts.name, below);
      checkpoint = below;
    }
    return opts.idleMs;
  };

  const loop = (async () => {
    let failures = 0;
    while (!stopped) {
      let pause: number;
      try {
        pause = await step();
        failures = 0;
      } catch (error) {
        if (stopped || error instanceof ConsumerStoppedError) break;
        failures += 1;
        pause = Math.min(5000, 100 * 2 ** Math.min(failures, 6));
        opts.onError(error);
      }
      if (!stopped) await sleep(pause);
    }
  })();

  return {
    async stop() {
      stopped = true;
      wakeUp?.();
      await loop;
      await pool.end();
    },
  };
}
