import type { Transaction } from 'kysely';
import type { DB } from '@cairn/db';
import type { CairnEvent, EventType } from '@cairn/events';

/**
 * A projection materialises events into read-model tables. `apply` receives the transaction
 * (never a pool): its writes commit together with the projection's guard positions and
 * checkpoint, or not at all. It is handed only events it has not applied yet, in stream order
 * per stream, already decoded.
 */
export interface Projection {
  /** kebab-case, unique; with the version it names the checkpoint and the consumer group. */
  readonly name: string;
  readonly version: number;
  readonly handles: readonly EventType[];
  /** Tables this projection owns exclusively: a rebuild empties them. */
  readonly tables: readonly (keyof DB)[];
  apply(trx: Transaction<DB>, events: readonly CairnEvent[]): Promise<void>;
}

// The checkpoint name is shared with the API (it waits on the traces checkpoint): @cairn/read-models.
export { checkpointName } from '@cairn/read-models';

export function consumerGroup(projection: Projection): string {
  return `projector.${projection.name}.v${projection.version}`;
}
