import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, randomWorkspaceId } from '@cairn/testing';
import { startApiHarness, type ApiHarness } from './helpers/api-harness.ts';

let api: ApiHarness;
let dropDb: () => Promise<void>;
const queries: string[] = [];
let counting = false;

beforeAll(async () => {
  const database = await createTestDatabase();
  dropDb = database.drop;
  api = await startApiHarness({
    databaseUrl: database.url,
    onQuery: (sql) => {
      // The idle projector polls the log through the same handle: not the query's SQL.
      if (counting && !/log_checkpoints|from "events"/.test(sql)) queries.push(sql);
    },
  });
});

afterAll(async () => {
  await api?.stop();
  await dropDb?.();
});

const PAGE = `query($e:String!, $n:Int!){runs(experimentIds:[$e], first:$n){totalCount nodes{id name params{key value} tags{key value} latestMetrics{key value} experiment{name}}}}`;

describe('DataLoaders', () => {
  it('serve runs(first: N) with params, tags and latest metrics in a constant number of SQL queries', async () => {
    const w = { 'x-cairn-workspace': randomWorkspaceId() };
    const exp = await api.gql<{ createExperiment: { id: string } }>(
      'mutation{createExperiment(name:"loaders"){id}}',
      {},
      w,
    );
    const experimentId = exp.data!.createExperiment.id;
    for (let i = 0; i < 120; i++) {
      const run = await api.gql<{ createRun: { id: string } }>(
        'mutation($e:String!){createRun(experimentId:$e){id}}',
        { e: experimentId },
        w,
      );
      await api.gql(
        'mutation($r:String!,$i:String!){logBatch(runId:$r, params:[{key:"i",value:$i}], tags:[{key:"t",value:$i}], metrics:[{key:"m",value:1}], sync:false){id}}',
        { r: run.data!.createRun.id, i: String(i) },
        w,
      );
    }
    // Let the projector catch up, so that only the query's own SQL is counted.
    for (;;) {
      const ready = await api.getJson<{ projections: { events: number }[] }>('/readyz');
      if (ready.body.projections.every((p) => p.events === 0)) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const counts: number[] = [];
    for (const n of [5, 50, 100]) {
      queries.length = 0;
      counting = true;
      const page = await api.gql<{ runs: { nodes: { params: unknown[]; tags: unknown[] }[] } }>(
        PAGE,
        { e: experimentId, n },
        w,
      );
      counting = false;
      expect(page.errors).toBeUndefined();
      expect(page.data!.runs.nodes).toHaveLength(n);
      counts.push(queries.length);
    }
    // Page of 5, 50 or 100 runs: the same number of round trips (page, count, one per loader).
    expect(counts[0]).toBe(counts[1]);
    expect(counts[1]).toBe(counts[2]);
    expect(counts[2]).toBeLessThanOrEqual(8);
  });
});
