/**
 * A log tailer moves its projection's checkpoint past events of other projections' types, so
 * that neither its next reads nor its lag query re-scan them (apps/projector/src/postgres-source.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, loadLogCheckpoint, logLag, type DbHandle } from '@cairn/db';
import { experimentStreamId, runStreamId } from '@cairn/events';
import {
  anExperimentCreated,
  appendEvents,
  aRunMetricsLogged,
  aRunStarted,
  createTestDatabase,
  randomWorkspaceId,
} from '@cairn/testing';
import {
  checkpointName,
  experimentsProjection,
  runsProjection,
  startProjector,
  type Logger,
} from '../src/index.ts';

let handle: DbHandle;
let dropDb: () => Promise<void>;

beforeAll(async () => {
  const database = await createTestDatabase();
  dropDb = database.drop;
  handle = createDb(database.url);
});

afterAll(async () => {
  await handle?.destroy();
  await dropDb?.();
});

const quiet: Logger = { info: () => undefined, error: () => undefined };

describe('log tailer', () => {
  it("moves a projection's checkpoint past the events it does not handle", async () => {
    const { db } = handle;
    const ws = randomWorkspaceId();
    const experiment = anExperimentCreated({ name: 'only-one' });
    await appendEvents(
      db,
      ws,
      experimentStreamId(experiment.data.experimentId),
      'experiment',
      [experiment],
      'no_stream',
    );
    const started = aRunStarted({ experimentId: experiment.data.experimentId });
    const stream = runStreamId(started.data.runId);
    await appendEvents(db, ws, stream, 'run', [started], 'no_stream');
    let last = 0;
    for (let i = 0; i < 40; i++) {
      const r = await appendEvents(db, ws, stream, 'run', [
        aRunMetricsLogged({
          runId: started.data.runId,
          metrics: [{ key: 'loss', value: i, step: i, timestamp: i }],
        }),
      ]);
      last = r.events.at(-1)!.globalPosition;
    }
    const { rows } = await sql<{ tx: string }>`
      SELECT transaction_id::text AS tx FROM events WHERE global_position = ${last}`.execute(db);
    const lastTx = BigInt(rows[0]!.tx);

    const projector = await startProjector({ db, transport: { kind: 'postgres' }, logger: quiet });
    try {
      // The experiments projection applied one event, long before the metric batches; its
      // checkpoint must still end up past the last of them (the boundary is only known to be
      // past it once a later transaction id exists: one more append provides it).
      await appendEvents(db, randomWorkspaceId(), runStreamId(aRunStarted().data.runId), 'run', [
        aRunStarted(),
      ]);
      let passed = false;
      for (let i = 0; i < 100 && !passed; i++) {
        const cp = await loadLogCheckpoint(db, checkpointName(experimentsProjection));
        passed = BigInt(cp.transactionId) > lastTx;
        if (!passed) await sleep(50);
      }
      expect(passed).toBe(true);
      // Nothing left to scan for it; and the runs projection did apply every batch.
      const cp = await loadLogCheckpoint(db, checkpointName(experimentsProjection));
      const { rows: pending } = await sql<{ n: number }>`
        SELECT count(*)::int AS n FROM events
        WHERE (transaction_id, global_position) > (${cp.transactionId}::xid8, ${cp.globalPosition}::int8)
          AND global_position <= ${last}`.execute(db);
      expect(pending[0]?.n).toBe(0);
      expect(await logLag(db, cp, experimentsProjection.handles).then((l) => l.events)).toBe(0);
      for (let i = 0; i < 100; i++) {
        const lag = await logLag(
          db,
          await loadLogCheckpoint(db, checkpointName(runsProjection)),
          runsProjection.handles,
        );
        if (lag.events === 0) break;
        await sleep(50);
      }
      const points = await db
        .selectFrom('metric_points')
        .select((eb) => eb.fn.countAll<string>().as('n'))
        .where('workspace_id', '=', ws)
        .executeTakeFirstOrThrow();
      expect(Number(points.n)).toBe(40);
    } finally {
      await projector.stop();
    }
  });
});
