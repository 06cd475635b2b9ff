/**
 * The registry in scale mode, on a real broker and a real Postgres: mutations append to the
 * Postgres log, the relay publishes them to `registry.events.v1`, the registry projection's
 * consumer group applies them, and the mutations' read-your-writes answers come from those
 * Kafka-fed read models. Concurrent version creation, alias rollback and rebuild equality hold
 * there too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registryProjection, rebuildProjection } from '@cairn/projector';
import {
  createTestDatabase,
  diffDumps,
  dumpReadModels,
  randomWorkspaceId,
  type TestDatabase,
} from '@cairn/testing';
import { startKafkaBroker, type KafkaBroker } from '@cairn/testing/kafka-broker';
import { startApiHarness, type ApiHarness, type GqlResponse } from './helpers/api-harness.ts';

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

function ok<T>(response: GqlResponse<T>): T {
  expect(response.errors).toBeUndefined();
  return response.data!;
}

describe('model registry over Kafka', () => {
  it('allocates concurrent versions, rolls back an alias and rebuilds identically', async () => {
    const workspace = randomWorkspaceId();
    const h = { 'x-cairn-workspace': workspace };
    ok(await api.gql('mutation{createRegisteredModel(name:"k"){id}}', {}, h));
    const created = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        api.gql<{ createModelVersion: { version: number } }>(
          'mutation($s:String!){createModelVersion(name:"k", source:$s){version}}',
          { s: `s3://bucket/k/${i}` },
          h,
        ),
      ),
    );
    expect(created.map((r) => ok(r).createModelVersion.version).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    ok(
      await api.gql(
        'mutation{setModelAlias(name:"k", alias:"champion", version:20){version}}',
        {},
        h,
      ),
    );
    const rolledBack = ok(
      await api.gql<{ setModelAlias: { version: number; aliases: string[] } }>(
        'mutation{setModelAlias(name:"k", alias:"champion", version:19){version aliases}}',
        {},
        h,
      ),
    ).setModelAlias;
    expect(rolledBack).toEqual({ version: 19, aliases: ['champion'] });
    const model = ok(
      await api.gql<{
        registeredModel: {
          versions: { totalCount: number };
          history: { kind: string; alias: string | null; previousVersion: number | null }[];
        };
        resolveModelUri: { version: number };
      }>(
        'query{registeredModel(name:"k"){versions{totalCount} history(first:1){kind alias previousVersion}} resolveModelUri(uri:"models:/k@champion"){version}}',
        {},
        h,
      ),
    );
    expect(model.registeredModel.versions.totalCount).toBe(20);
    expect(model.registeredModel.history).toEqual([
      { kind: 'ALIAS_SET', alias: 'champion', previousVersion: 20 },
    ]);
    expect(model.resolveModelUri.version).toBe(19);

    const live = await dumpReadModels(api.db, [workspace]);
    await rebuildProjection(api.db, registryProjection);
    const rebuilt = await dumpReadModels(api.db, [workspace]);
    expect(diffDumps(live, rebuilt, ['kafka-fed', 'rebuilt'])).toEqual([]);
  }, 180_000);
});
