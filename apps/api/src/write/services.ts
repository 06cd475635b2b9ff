import type { Kysely } from 'kysely';
import type { DB } from '@cairn/db';
import type { SecretBox } from '@cairn/secrets';
import type { WebhookHostPolicy } from '@cairn/net-policy';
import type { StorageQuota } from '../auth/quotas.ts';
import type { WriteDeps } from './command-handler.ts';
import type { ChangeListener } from './projection-waiter.ts';
import type { HistoricalReader } from '../governance/time-travel.ts';

/** What every command service needs: the store, the clock/ids, and the read-your-writes wait. */
export interface ServiceDeps extends WriteDeps {
  db: Kysely<DB>;
  changes: ChangeListener;
  /** Bound on a mutation's wait for its own effect in the read model. */
  readYourWritesTimeoutMs: number;
  /** Webhook secrets and target policy; absent, the webhook mutations answer UNAVAILABLE. */
  webhooks?: WebhookDeps;
  /**
   * The log checkpoint of the traces projection's tailer (local mode), from the projector port;
   * absent or null (Kafka): a missing trace is waited for the full deadline.
   */
  tracesCheckpoint?: string | null;
  /** Artifact bytes per workspace (auth/quotas.ts); absent: no quota. */
  storage?: StorageQuota;
  /** Replays streams for `asOf` reads (docs/governance.md, "Time travel"); absent: UNAVAILABLE. */
  history?: HistoricalReader;
}

export interface WebhookDeps {
  /** Seals signing secrets with the server key before they go into events. */
  secrets: SecretBox;
  hostPolicy: WebhookHostPolicy;
}
