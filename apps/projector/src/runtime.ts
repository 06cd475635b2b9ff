import type pg from 'pg';
import type { Kysely } from 'kysely';
import { loadLogCheckpoint, logLag, type DB } from '@cairn/db';
import type { KafkaTransport } from '@cairn/kafka';
import type { Logger } from '@cairn/logging';
import { KafkaRelay, RELAY_CHECKPOINT } from './kafka-relay.ts';
import { topicsOf } from './kafka-source.ts';
import { checkpointName, consumerGroup } from './projection.ts';
import { allProjections, findProjection } from './projections/index.ts';
import { projectionLags, startProjector, type ProjectorOptions } from './projector.ts';

/**
 * The projector as the API's `ProjectorRuntime` port (apps/api/src/projector-port.ts) sees it.
 * The API never imports this package; the composition (`apps/cli`, test harnesses) passes this
 * object to `startCairnApp`, and TypeScript checks there that its shape fits the port.
 */
export const projectorRuntime = {
  startProjector: (opts: ProjectorOptions) => startProjector(opts),
  startRelay(opts: { db: Kysely<DB>; pool: pg.Pool; kafka: KafkaTransport; logger: Logger }) {
    const relay = new KafkaRelay(opts.db, opts.pool, opts.kafka, { logger: opts.logger });
    relay.start();
    return relay;
  },
  projectionLags: (db: Kysely<DB>, names?: readonly string[]) =>
    projectionLags(
      db,
      names
        ? names.map((name) => {
            const projection = findProjection(name);
            if (!projection) throw new Error(`projectionLags: no projection is named ${name}`);
            return projection;
          })
        : allProjections,
    ),
  async kafkaLags(db: Kysely<DB>, kafka: KafkaTransport) {
    const relay = await logLag(db, await loadLogCheckpoint(db, RELAY_CHECKPOINT));
    const projections = await Promise.all(
      allProjections.map(async (p) => ({
        projection: p.name,
        events: await kafka.lag(consumerGroup(p), topicsOf(p)).catch(() => -1),
      })),
    );
    return { relay, projections };
  },
  checkpointOf(name: string): string | null {
    const projection = findProjection(name);
    return projection ? checkpointName(projection) : null;
  },
};
