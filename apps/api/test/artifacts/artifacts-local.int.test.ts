import { afterAll, beforeAll, expect, it } from 'vitest';
import { allProjections, rebuildProjection } from '@cairn/projector';
import {
  createTestDatabase,
  diffDumps,
  dumpReadModels,
  randomWorkspaceId,
  rebuildAll,
} from '@cairn/testing';
import { startApiHarness, type ApiHarness } from '../helpers/api-harness.ts';
import { artifactClient, artifactSuite, SUITE_MAX_UPLOAD_BYTES } from './artifact-suite.ts';

let api: ApiHarness;
let dropDb: () => Promise<void>;
const queries: string[] = [];

beforeAll(async () => {
  const database = await createTestDatabase();
  dropDb = database.drop;
  api = await startApiHarness({
    databaseUrl: database.url,
    maxUploadBytes: SUITE_MAX_UPLOAD_BYTES,
    onQuery: (text) => queries.push(text),
  });
});

afterAll(async () => {
  await api?.stop();
  await dropDb?.();
});

artifactSuite('local filesystem', () => api);

it('lists the artifacts of many runs with one query (per-request loader)', async () => {
  const c = artifactClient(() => api, randomWorkspaceId());
  const runIds = [await c.newRun(), await c.newRun(), await c.newRun()];
  await c.put(runIds[0]!, 'a/x.txt', Buffer.from('0'));
  await c.put(runIds[1]!, 'b.txt', Buffer.from('1'));
  const { experimentId } = (
    await api.gql<{ run: { experimentId: string } }>(
      'query($id:String!){run(id:$id){experimentId}}',
      { id: runIds[0] },
      c.headers,
    )
  ).data!.run;
  const experimentIds = [experimentId];
  for (const id of runIds.slice(1)) {
    const r = await api.gql<{ run: { experimentId: string } }>(
      'query($id:String!){run(id:$id){experimentId}}',
      { id },
      c.headers,
    );
    experimentIds.push(r.data!.run.experimentId);
  }
  queries.length = 0;
  const response = await api.gql<{
    runs: { edges: { node: { id: string; artifacts: { path: string; isDir: boolean }[] } }[] };
  }>(
    'query($e:[String!]!){runs(experimentIds:$e){edges{node{id artifacts{path isDir}}}}}',
    { e: experimentIds },
    c.headers,
  );
  expect(response.errors).toBeUndefined();
  const byRun = new Map(response.data!.runs.edges.map((e) => [e.node.id, e.node.artifacts]));
  expect(byRun.get(runIds[0]!)).toEqual([{ path: 'a', isDir: true }]);
  expect(byRun.get(runIds[1]!)).toEqual([{ path: 'b.txt', isDir: false }]);
  expect(byRun.get(runIds[2]!)).toEqual([]);
  expect(queries.filter((q) => q.includes('run_artifacts'))).toHaveLength(1);
});

it('rebuilds run_artifacts identical to the live projection', async () => {
  // Runs after the suite (same file, in order): every artifact it logged, replaced or refused.
  const live = await dumpReadModels(api.db);
  expect(live.run_artifacts!.length).toBeGreaterThan(10);
  await rebuildAll(
    api.db,
    allProjections.filter((p) => p.name === 'artifacts'),
    rebuildProjection,
  );
  const rebuilt = await dumpReadModels(api.db);
  expect(diffDumps(live, rebuilt)).toEqual([]);
  expect(api.errors).toEqual([]);
});
