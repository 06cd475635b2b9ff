import { sql, type Kysely } from 'kysely';
import { LOG_START, readAllAfter, type DB, type LogPosition } from '@cairn/db';
import { ALL_EVENT_TYPES } from '@cairn/events';
import { applyBatch, isTransientError } from './apply-batch.ts';
import { checkpointName, type Projection } from './projection.ts';
import type { Logger } from './logger.ts';
import { PollingLoop } from './polling-loop.ts';

export interface TailerOptions {
  batchSize?: number;
  /** How long to sleep when the log has nothing new and nobody wakes the tailer. */
  idleMs?: number;
  logger: Logger;
}

const SKIP_INTERVAL_MS = 200;

function isAfter(a: LogPosition, b: LogPosition): boolean {
  const at = BigInt(a.transactionId);
  const bt = BigInt(b.transactionId);
  return at !== bt ? at > bt : a.globalPosition > b.globalPosition;
}

/**
 * Postgres transport: tails the event log for one projection, below the visibility boundary
 * (see readAllAfter), writing its checkpoint with its read models. Several tailers of one
 * projection may run (replicas): batches serialise on an advisory lock and guards drop repeats.
 */
export class LogTailer {
  private readonly loop: PollingLoop;
  private readonly types: string[];
  private lastSkip = 0;

  constructor(
    private readonly db: Kysely<DB>,
    readonly projection: Projection,
    private readonly opts: TailerOptions,
  ) {
    this.types = [...projection.handles];
    this.loop = new PollingLoop(
      () => this.step(),
      opts.logger,
      (error, retryInMs) =>
        `projection ${projection.name}: ${isTransientError(error) ? 'database unavailable' : 'batch failed'}, retrying in ${retryInMs} ms`,
    );
  }

  start(): void {
    this.loop.start();
  }

  /** New events were appended: look now instead of at the next poll. */
  wake(): void {
    this.loop.wake();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }

  /**
   * One batch; answers how long to sleep (the idle time when the log had nothing new).
   *
   * The checkpoint also moves past events of other types: without that, a projection that
   * handles few types (experiments, artifacts, …) would re-scan every metric batch appended since
   * its last own event at each step, and so would its lag query (/readyz). A batch shorter than
   * the limit holds every event of this projection's types below the read's visibility boundary,
   * which is at or above `boundary` (taken before the read; xmin never goes back), so the
   * checkpoint may move to `boundary`: every transaction below it has ended.
   */
  private async step(): Promise<number> {
    const limit = this.opts.batchSize ?? 500;
    // The checkpoint and the boundary in one round trip.
    const { rows } = await sql<{ xmin: string; tx: string | null; position: number | null }>`
      SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin,
             c.transaction_id::text AS tx, c.global_position AS position
      FROM (SELECT 1) AS one
      LEFT JOIN log_checkpoints c ON c.reader = ${checkpointName(this.projection)}`.execute(
      this.db,
    );
    const row = rows[0]!;
    const checkpoint: LogPosition =
      row.tx === null ? LOG_START : { transactionId: row.tx, globalPosition: row.position ?? 0 };
    const boundary: LogPosition = { transactionId: row.xmin, globalPosition: 0 };
    // Events of types unknown to this build are read too: every projection dead-letters them.
    const batch = await readAllAfter(this.db, checkpoint, limit, {
      types: this.types,
      orNotIn: ALL_EVENT_TYPES,
    });
    const last = batch.at(-1);
    const complete = batch.length < limit;
    if (last) {
      const lastPosition = {
        transactionId: last.transactionId,
        globalPosition: last.globalPosition,
      };
      await applyBatch(this.db, this.projection, batch, {
        checkpoint: complete && isAfter(boundary, lastPosition) ? boundary : lastPosition,
      });
      return 0;
    }
    // Nothing of ours: skip the other events at most a few times a second, in one statement that
    // does not wait for its WAL flush (losing it in a crash only means scanning them again) and
    // never moves the checkpoint back.
    const now = Date.now();
    if (isAfter(boundary, checkpoint) && now - this.lastSkip >= SKIP_INTERVAL_MS) {
      this.lastSkip = now;
      await sql`
        INSERT INTO log_checkpoints (reader, transaction_id, global_position)
        SELECT ${checkpointName(this.projection)}, ${boundary.transactionId}::xid8, ${boundary.globalPosition}::int8
        FROM (SELECT set_config('synchronous_commit', 'off', true)) AS no_flush_wait
        ON CONFLICT (reader) DO UPDATE
          SET transaction_id = excluded.transaction_id, global_position = excluded.global_position,
              updated_at = now()
          WHERE (log_checkpoints.transaction_id, log_checkpoints.global_position)
              < (excluded.transaction_id, excluded.global_position)`.execute(this.db);
    }
    return this.opts.idleMs ?? 100;
  }
}
