import type pg from 'pg';
import type { Kysely } from 'kysely';
import type { DB } from '@cairn/db';
import type { KafkaTransport } from '@cairn/kafka';
import type { Logger } from '@cairn/logging';
import type { WebhookHostPolicy } from '@cairn/net-policy';

/**
 * What the API needs of the read side, as a port: the API does not import the projector app
 * (issue 19, docs/architecture.md "Layers"). `apps/projector` implements it
 * (`projectorRuntime`, runtime.ts) and the composition (`apps/cli`, test harnesses) passes it to
 * `startCairnApp`.
 */
export interface ProjectorRuntime {
  /** Starts the projections (and the webhook sender, the audit sealer) in this process. */
  startProjector(opts: ProjectorStartOptions): Promise<BackgroundComponent>;
  /** Starts the Kafka relay (active when it holds the relay lock, standby otherwise). */
  startRelay(opts: RelayStartOptions): BackgroundComponent;
  /**
   * `/readyz` and start-up, postgres transport: each projection's lag against the log (all of
   * them, or those named).
   */
  projectionLags(db: Kysely<DB>, names?: readonly string[]): Promise<ProjectionLagReport[]>;
  /** `/readyz`, Kafka transport: the relay's lag against the log and each consumer group's. */
  kafkaLags(
    db: Kysely<DB>,
    kafka: KafkaTransport,
  ): Promise<{ relay: { events: number; seconds: number }; projections: ProjectionLagReport[] }>;
  /** The `log_checkpoints` reader of a projection's log tailer (local mode), or null if unknown. */
  checkpointOf(projection: string): string | null;
}

/** A long-running component: woken after appends in this process, stopped at shutdown. */
export interface BackgroundComponent {
  wake(): void;
  stop(): Promise<void>;
}

export interface ProjectionLagReport {
  projection: string;
  events: number;
  seconds?: number;
}

export interface WebhookRetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  jitter: number;
}

export interface ProjectorStartOptions {
  db: Kysely<DB>;
  transport: { kind: 'postgres' } | { kind: 'kafka'; kafka: KafkaTransport };
  /** Postgres transport: run the log tailers in a worker thread with their own pool here. */
  threadDatabaseUrl?: string;
  logger: Logger;
  webhooks: {
    secretKey: Buffer;
    pool: pg.Pool;
    hostPolicy: WebhookHostPolicy;
    retry?: Partial<WebhookRetryPolicy>;
    timeoutMs?: number;
    idlePollMs?: number;
    deliveryRetentionMs?: number;
  };
}

export interface RelayStartOptions {
  db: Kysely<DB>;
  pool: pg.Pool;
  kafka: KafkaTransport;
  logger: Logger;
}
