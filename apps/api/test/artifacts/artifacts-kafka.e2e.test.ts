/**
 * Artifacts in scale mode, on a real broker: the upload's RunArtifactLogged goes through the
 * Postgres log, the relay publishes it to `runs.events.v1`, and the `artifacts` projection's
 * consumer group builds the listing that the upload's answer waited for.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, randomWorkspaceId, type TestDatabase } from '@cairn/testing';
import { startKafkaBroker, type KafkaBroker } from '@cairn/testing/kafka-broker';
import { startApiHarness, type ApiHarness } from '../helpers/api-harness.ts';
import { artifactClient, sha256 } from './artifact-suite.ts';

let testDb: TestDatabase;
let broker: KafkaBroker;
let api: ApiHarness;

beforeAll(async () => {
  [testDb, broker] = await Promise.all([createTestDatabase(), startKafkaBroker()]);
  api = await startApiHarness({
    databaseUrl: testDb.url,
    transport: 'kafka',
    kafkaBrokers: broker.brokers,
    kafkaConfig: { logger: () => undefined },
    readYourWritesTimeoutMs: 20_000,
  });
}, 180_000);

afterAll(async () => {
  await api?.stop();
  await broker?.stop();
  await testDb?.drop();
}, 60_000);

it('lists an uploaded artifact as soon as the upload answers (artifacts consumer group)', async () => {
  const c = artifactClient(() => api, randomWorkspaceId());
  const runId = await c.newRun();
  const data = randomBytes(50_000);
  const put = await c.put(runId, 'model/model.pkl', data);
  expect(put).toEqual({
    status: 201,
    body: { path: 'model/model.pkl', size: data.length, sha256: sha256(data) },
  });
  const listed = await c.list(runId, 'model');
  expect(listed.map((e) => [e.path, e.size, e.sha256])).toEqual([
    ['model/model.pkl', data.length, sha256(data)],
  ]);
  const checkpoint = await api.db
    .selectFrom('projection_stream_positions')
    .select('position')
    .where('workspace_id', '=', c.workspace)
    .where('projection', '=', 'artifacts')
    .where('stream_id', '=', `run-${runId}`)
    .executeTakeFirst();
  expect(checkpoint?.position).toBeGreaterThan(1);
  expect(api.errors).toEqual([]);
});
