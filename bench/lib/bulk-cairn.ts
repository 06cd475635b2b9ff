import { appendInTransaction, createDb } from '@cairn/db';
import { metricColumns, newEntityId, runStreamId, uuidv7 } from '@cairn/events';
import type { KV, Point } from './data.ts';
import { mapConcurrent } from './load.ts';

/**
 * Loads runs straight into Cairn's event log with the event store's own append (the same events
 * createRun + logBatch would append: RunStarted, RunParamsLogged, RunMetricsLogged), many runs per
 * transaction, for data sets too big to create through the API in reasonable time. The running
 * server's projector then projects them like any other events; the caller waits for lag 0.
 * Loading only: every measurement goes through the GraphQL API.
 */
export async function bulkLoadCairnRuns(
  databaseUrl: string,
  experimentId: string,
  indices: readonly number[],
  gen: (i: number) => { tags: KV[]; params: KV[]; metrics: Point[] },
  startTime: (i: number) => number,
): Promise<void> {
  const { db, destroy } = createDb(databaseUrl, {
    maxConnections: 4,
    applicationName: 'cairn-bench-loader',
  });
  const metadata = { actor: 'bench-loader', correlationId: uuidv7(), causationId: null };
  const chunks: number[][] = [];
  for (let c = 0; c < indices.length; c += 250) chunks.push(indices.slice(c, c + 250));
  try {
    await mapConcurrent(chunks, 3, (chunk) =>
      db.transaction().execute(async (trx) => {
        for (const i of chunk) {
          const runId = newEntityId();
          const g = gen(i);
          const occurredAt = new Date().toISOString();
          await appendInTransaction(trx, {
            workspaceId: 'default',
            streamId: runStreamId(runId),
            streamType: 'run',
            expectedVersion: 'no_stream',
            metadata,
            events: [
              {
                id: uuidv7(),
                type: 'RunStarted',
                schemaVersion: 1,
                occurredAt,
                data: {
                  runId,
                  experimentId,
                  name: `run-${i}`,
                  status: 'RUNNING',
                  startTime: startTime(i),
                  parentRunId: null,
                  tags: g.tags,
                  source: { gitCommit: null, entryPoint: null, sourceType: null },
                },
              },
              {
                id: uuidv7(),
                type: 'RunParamsLogged',
                schemaVersion: 1,
                occurredAt,
                data: { runId, params: g.params },
              },
              {
                id: uuidv7(),
                type: 'RunMetricsLogged',
                schemaVersion: 2,
                occurredAt,
                data: metricColumns(runId, g.metrics),
              },
            ],
          });
        }
      }),
    );
  } finally {
    await destroy();
  }
}
