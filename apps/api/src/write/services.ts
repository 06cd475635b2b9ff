import type { Kysely } from 'kysely';
import type { DB } from '@cairn/db';
import type { WriteDeps } from './command-handler.ts';
import type { ChangeListener } from './projection-waiter.ts';

/** What every command service needs: the store, the clock/ids, and the read-your-writes wait. */
export interface ServiceDeps extends WriteDeps {
  db: Kysely<DB>;
  changes: ChangeListener;
  /** Bound on a mutation's wait for its own effect in the read model. */
  readYourWritesTimeoutMs: number;
}
