import { sql, type Kysely } from 'kysely';
import { loadLogCheckpoint, readAllAfter, type DB, type LogPosition } from '@cairn/db';
import { ALL_EVENT_TYPES } from '@cairn/events';
import { advanceCheckpoint, applyBatch, isTransientError } from './apply-batch.ts';
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
    const checkpoint = await loadLogCheckpoint(this.db, checkpointName(this.projection));
    const { rows } = await sql<{ xmin: string }>`
      SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin`.execute(this.db);
    const boundary: LogPosition = { transactionId: rows[0]!.xmin, globalPosition: 0 };
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
    // Nothing of ours: skip the other events at most a few times a second, in a transaction that
    // does not wait for its WAL flush (losing it in a crash only means scanning them again).
    const now = Date.now();
    if (isAfter(boundary, checkpoint) && now - this.lastSkip >= SKIP_INTERVAL_MS) {
      this.lastSkip = now;
      await this.db.transaction().execute(async (trx) => {
        await sql`SET LOCAL synchronous_commit = off`.execute(trx);
        await advanceCheckpoint(trx, checkpointName(this.projection), boundary);
      });
    }
    return this.opts.idleMs ?? 100;
  }
}
