import type { Kysely } from 'kysely';
import { loadLogCheckpoint, readAllAfter, type DB } from '@cairn/db';
import { ALL_EVENT_TYPES } from '@cairn/events';
import { applyBatch, isTransientError } from './apply-batch.ts';
import { checkpointName, type Projection } from './projection.ts';
import type { Logger } from './logger.ts';

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
  private stopped = false;
  private wakeUp: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private readonly types: string[];

  constructor(
    private readonly db: Kysely<DB>,
    readonly projection: Projection,
    private readonly opts: TailerOptions,
  ) {
    this.types = [...projection.handles];
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** New events were appended: look now instead of at the next poll. */
  wake(): void {
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.loop;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
  }

  private async run(): Promise<void> {
    const batchSize = this.opts.batchSize ?? 500;
    const idleMs = this.opts.idleMs ?? 100;
    let failures = 0;
    while (!this.stopped) {
      try {
        const checkpoint = await loadLogCheckpoint(this.db, checkpointName(this.projection));
        // Events of types unknown to this build are read too: every projection dead-letters them.
        const batch = await readAllAfter(this.db, checkpoint, batchSize, {
          types: this.types,
          orNotIn: ALL_EVENT_TYPES,
        });
        const last = batch.at(-1);
        if (!last) {
          failures = 0;
          await this.sleep(idleMs);
          continue;
        }
        await applyBatch(this.db, this.projection, batch, {
          checkpoint: { transactionId: last.transactionId, globalPosition: last.globalPosition },
        });
        failures = 0;
      } catch (error) {
        if (this.stopped) break;
        failures += 1;
        const delay = Math.min(5000, 100 * 2 ** Math.min(failures, 6));
        this.opts.logger.error(
          `projection ${this.projection.name}: ${isTransientError(error) ? 'database unavailable' : 'batch failed'}, retrying in ${delay} ms`,
          error,
        );
        await this.sleep(delay);
      }
    }
  }
}
