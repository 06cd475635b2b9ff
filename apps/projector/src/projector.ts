import type { Kysely } from 'kysely';
import { createDb, loadLogCheckpoint, logLag, type DB } from '@cairn/db';
import type { ConsumerHandle, KafkaTransport } from '@cairn/kafka';
import { startKafkaProjection } from './kafka-source.ts';
import type { Logger } from './logger.ts';
import { LogTailer } from './postgres-source.ts';
import { checkpointName, type Projection } from './projection.ts';
import { allProjections, findProjection } from './projections/index.ts';
import { startProjectorThread } from './projector-thread.ts';
import { WebhookSender, type WebhookSenderOptions } from './webhooks/webhook-sender.ts';
import { AuditSealer } from './audit/audit-chain.ts';

export type ProjectorTransport = { kind: 'postgres' } | { kind: 'kafka'; kafka: KafkaTransport };

export interface ProjectorOptions {
  db: Kysely<DB>;
  transport: ProjectorTransport;
  logger: Logger;
  projections?: readonly Projection[];
  batchSize?: number;
  /** Run the webhook sender next to the projections (`cairn server`, `cairn projector`). */
  webhooks?: Omit<WebhookSenderOptions, 'logger'>;
  /**
   * Postgres transport: run the log tailers in a worker thread with their own pool on this
   * database (`cairn server`, local mode; see projector-thread.ts). Needs projections from
   * `allProjections`. Absent: the tailers run on the caller's thread and `db`.
   */
  threadDatabaseUrl?: string;
  /** Seal the log's hash chain next to the projections (default true; docs/governance.md). */
  auditChain?: boolean;
}

export interface ProjectionLag {
  projection: string;
  events: number;
  seconds: number;
}

export interface RunningProjector {
  /** New events were appended in this process: tail the log now (postgres transport). */
  wake(): void;
  stop(): Promise<void>;
}

/** Runs every projection on the configured transport. The same projections run on both. */
export async function startProjector(opts: ProjectorOptions): Promise<RunningProjector> {
  const sender = opts.webhooks
    ? new WebhookSender(opts.db, { ...opts.webhooks, logger: opts.logger })
    : null;
  // With a projector thread (local mode) the sealer takes a connection of its own too, off the
  // API's pool.
  const sealerDb =
    opts.auditChain !== false && opts.transport.kind === 'postgres' && opts.threadDatabaseUrl
      ? createDb(opts.threadDatabaseUrl, { maxConnections: 1, applicationName: 'cairn-audit' })
      : null;
  const sealer =
    opts.auditChain === false
      ? null
      : new AuditSealer(sealerDb?.db ?? opts.db, { logger: opts.logger });
  const running = await startProjections(opts);
  sender?.start();
  sealer?.start();
  return {
    // The sealer is not woken per append: it polls, sealing whatever a burst appended at once.
    wake: () => running.wake(),
    stop: async () => {
      await sealer?.stop();
      await sealerDb?.destroy();
      await sender?.stop();
      await running.stop();
    },
  };
}

async function startProjections(opts: ProjectorOptions): Promise<RunningProjector> {
  const projections = opts.projections ?? allProjections;
  if (opts.transport.kind === 'postgres' && opts.threadDatabaseUrl) {
    const names = projections.map((p) => p.name);
    const unknown = projections.filter((p) => findProjection(p.name) !== p);
    if (unknown.length > 0)
      throw new Error(
        `startProjector: a projector thread runs projections of allProjections only, not ${unknown.map((p) => p.name).join(', ')}`,
      );
    return startProjectorThread({
      databaseUrl: opts.threadDatabaseUrl,
      projections: names,
      batchSize: opts.batchSize,
      logger: opts.logger,
    });
  }
  if (opts.transport.kind === 'postgres') {
    const tailers = projections.map(
      (p) => new LogTailer(opts.db, p, { logger: opts.logger, batchSize: opts.batchSize }),
    );
    for (const t of tailers) t.start();
    return {
      wake: () => {
        for (const t of tailers) t.wake();
      },
      stop: async () => {
        await Promise.all(tailers.map((t) => t.stop()));
      },
    };
  }
  const { kafka } = opts.transport;
  const handles: ConsumerHandle[] = [];
  for (const p of projections)
    handles.push(await startKafkaProjection(opts.db, kafka, p, opts.logger));
  return {
    wake: () => undefined,
    stop: async () => {
      await Promise.all(handles.map((h) => h.stop()));
    },
  };
}

/**
 * Lag of every projection against the Postgres log (postgres transport). For Kafka, the log lag
 * of the relay plus the consumer-group lag tell the story; see readiness in apps/api.
 */
export async function projectionLags(
  db: Kysely<DB>,
  projections: readonly Projection[] = allProjections,
): Promise<ProjectionLag[]> {
  return Promise.all(
    projections.map(async (p) => {
      const checkpoint = await loadLogCheckpoint(db, checkpointName(p));
      return { projection: p.name, ...(await logLag(db, checkpoint, p.handles)) };
    }),
  );
}
