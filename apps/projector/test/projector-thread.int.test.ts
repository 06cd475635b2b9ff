import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type DbHandle } from '@cairn/db';
import { runStreamId } from '@cairn/events';
import {
  aRunMetricsLogged,
  aRunStarted,
  appendEvents,
  createTestDatabase,
  randomWorkspaceId,
  type TestDatabase,
} from '@cairn/testing';
import { allProjections, startProjectorThread } from '../src/index.ts';
import { capturingLogger } from './capturing-logger.ts';

let testDb: TestDatabase;
let handle: DbHandle;

beforeAll(async () => {
  testDb = await createTestDatabase();
  handle = createDb(testDb.url, { maxConnections: 4, applicationName: 'projector-thread-test' });
});

afterAll(async () => {
  await handle?.destroy();
  await testDb?.drop();
});

async function pointCount(ws: string, runId: string): Promise<number> {
  const row = await handle.db
    .selectFrom('metric_points')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('workspace_id', '=', ws)
    .where('run_id', '=', runId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function points(from: number, n: number) {
  return Array.from({ length: n }, (_, i) => ({
    key: 'loss',
    value: 1 / (from + i + 1),
    step: from + i,
  }));
}

describe('projector thread (local mode)', () => {
  it('projects in a worker thread, comes back after the thread dies, and stops cleanly', async () => {
    const logger = capturingLogger();
    const thread = await startProjectorThread({
      databaseUrl: testDb.url,
      projections: allProjections.map((p) => p.name),
      logger,
    });
    try {
      const first = thread.currentWorker();
      expect(first).not.toBeNull();
      const ws = randomWorkspaceId();
      const started = aRunStarted();
      const runId = started.data.runId;
      await appendEvents(handle.db, ws, runStreamId(runId), 'run', [
        started,
        aRunMetricsLogged({ runId, metrics: points(0, 500) }),
      ]);
      thread.wake();
      await until(
        'the first batch in the read model',
        async () => (await pointCount(ws, runId)) === 500,
      );

      // The thread dies (as on an uncaught error): it is started again and resumes from the
      // checkpoints; events appended meanwhile are projected once.
      await first!.terminate();
      await appendEvents(handle.db, ws, runStreamId(runId), 'run', [
        aRunMetricsLogged({ runId, metrics: points(500, 300) }),
      ]);
      await until('a new thread', () => {
        const w = thread.currentWorker();
        return w !== null && w !== first;
      });
      await until(
        'the second batch in the read model',
        async () => (await pointCount(ws, runId)) === 800,
      );
      expect(logger.errors.some((e) => /projector thread exited/.test(e))).toBe(true);
      const run = await handle.db
        .selectFrom('runs')
        .select('name')
        .where('workspace_id', '=', ws)
        .where('run_id', '=', runId)
        .executeTakeFirst();
      expect(run?.name).toBe(started.data.name);
    } finally {
      await thread.stop();
    }
    expect(thread.currentWorker()).toBeNull();
    // Nothing is restarted after stop.
    await sleep(1_500);
    expect(thread.currentWorker()).toBeNull();
    expect(logger.errors.filter((e) => !/projector thread exited/.test(e))).toEqual([]);
  });

  it('logs why it cannot reach the database and keeps retrying', async () => {
    const logger = capturingLogger();
    const thread = await startProjectorThread({
      databaseUrl: 'postgresql://nobody:wrong@127.0.0.1:1/none',
      projections: ['runs'],
      logger,
    });
    // The tailers retry an unreachable database (as in-thread); the reason is logged.
    try {
      await until('a logged connection error', () => logger.errors.length > 0);
      expect(logger.errors[0]).toMatch(/projection runs: database unavailable/);
    } finally {
      await thread.stop();
    }
  });
});
