import type { Kysely } from 'kysely';
import { loadLogCheckpoint, readAllAfter, type DB } from '@cairn/db';
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

/**
 * Postgres transport: tails the event log for one projection, below the visibility boundary
 * (see readAllAfter), writing its checkpoint with its read models. Several tailers of one
 * projection may run (replicas): batches serialise on an advisory lock and guards drop repeats.
 */
export class LogTailer {
  private readonly loop: PollingLoop;
  private readonly types: string[];

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

  /** One batch; answers how long to sleep (the idle time when the log had nothing new). */
  private async step(): Promise<number> {
    const checkpoint = await loadLogCheckpoint(this.db, checkpointName(this.projection));
    // Events of types unknown to this build are read too: every projection dead-letters them.
    const batch = await readAllAfter(this.db, checkpoint, this.opts.batchSize ?? 500, {
      types: this.types,
      orNotIn: ALL_EVENT_TYPES,
    });
    const last = batch.at(-1);
    if (!last) return this.opts.idleMs ?? 100;
    await applyBatch(this.db, this.projection, batch, {
      checkpoint: { transactionId: last.transactionId, globalPosition: last.globalPosition },
    });
    return 0;
  }
}
