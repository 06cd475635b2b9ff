import { sql, type Kysely } from 'kysely';
import type { DB } from '@cairn/db';
import type { KafkaTransport } from '@cairn/kafka';
import type { ProjectorRuntime } from '../projector-port.ts';
import type { ReadinessReport } from './server.ts';

/**
 * `/readyz`: the database answers, and how far the projections are behind — on the postgres
 * transport their lag against the log; on Kafka the relay's lag against the log plus each
 * consumer group's lag (-1 when the broker cannot be asked). The lags come through the
 * projector port (the API does not import the projector).
 */
export function createReadiness(
  db: Kysely<DB>,
  kafka: KafkaTransport | null,
  projector: Pick<ProjectorRuntime, 'projectionLags' | 'kafkaLags'>,
): () => Promise<ReadinessReport> {
  return async () => {
    await sql`SELECT 1`.execute(db);
    if (!kafka) {
      return {
        ready: true,
        database: 'ok',
        transport: 'postgres',
        projections: await projector.projectionLags(db),
      };
    }
    const { relay, projections } = await projector.kafkaLags(db, kafka);
    return { ready: true, database: 'ok', transport: 'kafka', relay, projections };
  };
}
