import { sql, type Kysely } from 'kysely';
import { loadLogCheckpoint, logLag, type DB } from '@cairn/db';
import type { KafkaTransport } from '@cairn/kafka';
import {
  allProjections,
  consumerGroup,
  projectionLags,
  RELAY_CHECKPOINT,
  topicsOf,
} from '@cairn/projector';
import type { ReadinessReport } from './server.ts';

/**
 * `/readyz`: the database answers, and how far the projections are behind — on the postgres
 * transport their lag against the log; on Kafka the relay's lag against the log plus each
 * consumer group's lag (-1 when the broker cannot be asked).
 */
export function createReadiness(
  db: Kysely<DB>,
  kafka: KafkaTransport | null,
): () => Promise<ReadinessReport> {
  return async () => {
    await sql`SELECT 1`.execute(db);
    if (!kafka) {
      return {
        ready: true,
        database: 'ok',
        transport: 'postgres',
        projections: await projectionLags(db),
      };
    }
    const relay = await logLag(db, await loadLogCheckpoint(db, RELAY_CHECKPOINT));
    const projections = await Promise.all(
      allProjections.map(async (p) => ({
        projection: p.name,
        events: await kafka.lag(consumerGroup(p), topicsOf(p)).catch(() => -1),
      })),
    );
    return { ready: true, database: 'ok', transport: 'kafka', relay, projections };
  };
}
