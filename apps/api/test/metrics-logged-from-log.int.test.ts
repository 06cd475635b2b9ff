/**
 * metricsLogged pushes points as soon as their append is durable in the event log: the push does
 * not wait for the runs projection. Proven by holding the runs projection's lock (its tailer
 * cannot apply anything) while a batch is logged: the subscriber gets the points, the read model
 * does not have them yet; once the lock is released the projection catches up and nothing is
 * pushed twice.
 */
import { createClient } from 'graphql-ws';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createTestDatabase, randomWorkspaceId } from '@cairn/testing';
import { startApiHarness, type ApiHarness, type GqlResponse } from './helpers/api-harness.ts';

let api: ApiHarness;
let dropDb: () => Promise<void>;

beforeAll(async () => {
  const database = await createTestDatabase();
  dropDb = database.drop;
  api = await startApiHarness({ databaseUrl: database.url });
});

afterAll(async () => {
  await api?.stop();
  await dropDb?.();
});

function ok<T>(response: GqlResponse<T>): T {
  expect(response.errors).toBeUndefined();
  return response.data!;
}

describe('metricsLogged', () => {
  it('pushes from the event log before the runs projection has applied the batch', async () => {
    const w = randomWorkspaceId();
    const headers = { 'x-cairn-workspace': w };
    const e = ok(
      await api.gql<{ createExperiment: { id: string } }>(
        'mutation{createExperiment(name:"live"){id}}',
        {},
        headers,
      ),
    );
    const r = ok(
      await api.gql<{ createRun: { id: string } }>(
        'mutation($e:String!){createRun(experimentId:$e){id}}',
        { e: e.createExperiment.id },
        headers,
      ),
    );
    const runId = r.createRun.id;
    const client = createClient({
      url: `${api.url.replace('http', 'ws')}/graphql`,
      webSocketImpl: class extends WebSocket {
        constructor(address: string, protocols?: string | string[]) {
          super(address, protocols, { headers });
        }
      },
    });
    const pushes: { step: number; value: number }[][] = [];
    let arrived!: () => void;
    const first = new Promise<void>((resolve) => (arrived = resolve));
    const unsubscribe = client.subscribe<{
      metricsLogged: { points: { step: number; value: number }[] };
    }>(
      { query: `subscription{metricsLogged(runId:"${runId}"){points{step value}}}` },
      {
        next: (msg) => {
          pushes.push(msg.data?.metricsLogged.points ?? []);
          arrived();
        },
        error: (err) => {
          throw err;
        },
        complete: () => undefined,
      },
    );
    // Hold the runs projection's lock in a transaction of our own: its tailer blocks on it.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const holder = api.db.transaction().execute(async (trx) => {
      await sql`SELECT pg_advisory_xact_lock(hashtext('projection:runs.v1'))`.execute(trx);
      locked();
      await released;
    });
    try {
      await isLocked;
      await new Promise((resolve) => setTimeout(resolve, 300)); // subscription registered
      const sent = performance.now();
      ok(
        await api.gql(
          'mutation($r:String!){logBatch(runId:$r, sync:false, metrics:[{key:"loss",value:0.5,step:1},{key:"loss",value:0.25,step:2}]){id}}',
          { r: runId },
          headers,
        ),
      );
      await Promise.race([
        first,
        new Promise((_, reject) => setTimeout(() => reject(new Error('no push within 5 s')), 5000)),
      ]);
      expect(performance.now() - sent).toBeLessThan(1000);
      expect(pushes).toEqual([
        [
          { step: 1, value: 0.5 },
          { step: 2, value: 0.25 },
        ],
      ]);
      // The read model does not have the points yet: the push came from the log.
      const before = ok(
        await api.gql<{ run: { metricHistory: unknown[] } }>(
          'query($r:String!){run(id:$r){metricHistory(key:"loss"){step}}}',
          { r: runId },
          headers,
        ),
      );
      expect(before.run.metricHistory).toEqual([]);
    } finally {
      release();
      await holder;
    }
    // The projection catches up; its notice for the same batch pushes nothing again.
    for (let i = 0; i < 100; i++) {
      const d = ok(
        await api.gql<{ run: { metricHistory: unknown[] } }>(
          'query($r:String!){run(id:$r){metricHistory(key:"loss"){step}}}',
          { r: runId },
          headers,
        ),
      );
      if (d.run.metricHistory.length === 2) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(pushes).toHaveLength(1);
    unsubscribe();
    await client.dispose();
  });
});
