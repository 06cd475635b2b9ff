/**
 * Webhooks in scale mode, on a real broker, a real Postgres and a real HTTP receiver: the
 * webhook and registry mutations append to the log, the relay publishes `webhooks.events.v1`
 * and `registry.events.v1`, the `webhooks` projection's consumer group queues the deliveries,
 * and the sender POSTs them signed. A rebuild afterwards sends nothing again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSecretKey, rebuildProjection, webhooksProjection } from '@cairn/projector';
import { createTestDatabase, randomWorkspaceId, type TestDatabase } from '@cairn/testing';
import { startKafkaBroker, type KafkaBroker } from '@cairn/testing/kafka-broker';
import { startApiHarness, type ApiHarness, type GqlResponse } from './helpers/api-harness.ts';
import { eventually, expectSigned, Receiver } from './helpers/webhook-receiver.ts';

let testDb: TestDatabase;
let broker: KafkaBroker;
let api: ApiHarness;
let receiver: Receiver;

beforeAll(async () => {
  [testDb, broker] = await Promise.all([createTestDatabase(), startKafkaBroker()]);
  receiver = new Receiver();
  await receiver.start();
  api = await startApiHarness({
    databaseUrl: testDb.url,
    transport: 'kafka',
    kafkaBrokers: broker.brokers,
    kafkaConfig: { logger: () => undefined },
    readYourWritesTimeoutMs: 20_000,
    webhooks: { secretKey: generateSecretKey(), retry: { baseDelayMs: 200 } },
  });
}, 180_000);

afterAll(async () => {
  await api?.stop();
  await receiver?.stop();
  await broker?.stop();
  await testDb?.drop();
}, 60_000);

function ok<T>(response: GqlResponse<T>): T {
  expect(response.errors).toBeUndefined();
  return response.data!;
}

describe('webhooks over Kafka', () => {
  it('delivers signed registry events through the Kafka-fed dispatcher, once', async () => {
    const h = { 'x-cairn-workspace': randomWorkspaceId() };
    const created = ok(
      await api.gql<{
        createWebhook: { secret: string; webhook: { id: string; active: boolean } };
      }>(
        `mutation($url:String!){ createWebhook(url:$url, events:[REGISTERED_MODEL_CREATED,
          MODEL_VERSION_CREATED, MODEL_VERSION_STAGE_TRANSITIONED, MODEL_ALIAS_SET]){
          secret webhook { id active } } }`,
        { url: receiver.url('/kafka') },
        h,
      ),
    ).createWebhook;
    // read-your-writes through the Kafka-fed projection
    expect(created.webhook.active).toBe(true);

    ok(await api.gql('mutation{ createRegisteredModel(name:"kafka-m"){ id } }', {}, h));
    ok(
      await api.gql(
        'mutation{ createModelVersion(name:"kafka-m", source:"s3://bucket/m/1"){ version } }',
        {},
        h,
      ),
    );
    ok(
      await api.gql(
        'mutation{ transitionModelVersionStage(name:"kafka-m", version:1, stage:STAGING){ stage } }',
        {},
        h,
      ),
    );
    ok(
      await api.gql(
        'mutation{ setModelAlias(name:"kafka-m", alias:"champion", version:1){ version } }',
        {},
        h,
      ),
    );
    const got = await eventually(
      () => receiver.on('/kafka'),
      (r) => r.length >= 4,
      60_000,
    );
    expect(got).toHaveLength(4);
    for (const request of got) expectSigned(request, created.secret);
    expect(got.map((r) => r.headers['x-cairn-event']).sort()).toEqual([
      'MODEL_ALIAS_SET',
      'MODEL_VERSION_CREATED',
      'MODEL_VERSION_STAGE_TRANSITIONED',
      'REGISTERED_MODEL_CREATED',
    ]);

    const before = await api.db.selectFrom('webhook_deliveries').selectAll().execute();
    expect(before).toHaveLength(4);
    await rebuildProjection(api.db, webhooksProjection);
    // a later event still arrives exactly once; nothing earlier is sent again
    ok(
      await api.gql(
        'mutation{ deleteModelAlias(name:"kafka-m", alias:"champion"){ name } }',
        {},
        h,
      ),
    );
    ok(
      await api.gql(
        'mutation{ setModelAlias(name:"kafka-m", alias:"prod", version:1){ version } }',
        {},
        h,
      ),
    );
    await eventually(
      () => receiver.on('/kafka'),
      (r) => r.length >= 5,
      60_000,
    );
    const deliveries = await eventually(
      () => api.db.selectFrom('webhook_deliveries').selectAll().execute(),
      (d) => d.length === 5 && d.every((x) => x.status === 'SUCCEEDED'),
      60_000,
    );
    expect(deliveries).toHaveLength(5);
    expect(receiver.on('/kafka')).toHaveLength(5);
  });
});
