import { afterAll, beforeAll, expect, it } from 'vitest';
import { allProjections, rebuildProjection } from '@cairn/projector';
import { createTestDatabase, diffDumps, dumpReadModels, rebuildAll } from '@cairn/testing';
import { startApiHarness, type ApiHarness } from '../helpers/api-harness.ts';
import { artifactSuite, SUITE_MAX_UPLOAD_BYTES } from './artifact-suite.ts';

let api: ApiHarness;
let dropDb: () => Promise<void>;

beforeAll(async () => {
  const database = await createTestDatabase();
  dropDb = database.drop;
  api = await startApiHarness({
    databaseUrl: database.url,
    maxUploadBytes: SUITE_MAX_UPLOAD_BYTES,
  });
});

afterAll(async () => {
  await api?.stop();
  await dropDb?.();
});

artifactSuite('local filesystem', () => api);

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
