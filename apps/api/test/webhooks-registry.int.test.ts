/**
 * Acceptance (issue 6): the webhook receiver gets signed deliveries for create, transition and
 * alias events driven through the registry's own GraphQL mutations; while the receiver is down,
 * deliveries are retried and then succeed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSecretKey } from '@cairn/projector';
import { createTestDatabase, randomWorkspaceId } from '@cairn/testing';
import { startApiHarness, type ApiHarness, type GqlResponse } from './helpers/api-harness.ts';
import { eventually, expectSigned, Receiver } from './helpers/webhook-receiver.ts';

let api: ApiHarness;
let receiver: Receiver;
let dropDb: () => Promise<void>;

beforeAll(async () => {
  const database = await createTestDatabase();
  dropDb = database.drop;
  receiver = new Receiver();
  await receiver.start();
  api = await startApiHarness({
    databaseUrl: database.url,
    webhooks: {
      secretKey: generateSecretKey(),
      retry: { baseDelayMs: 200, jitter: 0.2, maxAttempts: 8 },
      timeoutMs: 2000,
    },
  });
});

afterAll(async () => {
  await api?.stop();
  await receiver?.stop();
  await dropDb?.();
});

function ok<T>(response: GqlResponse<T>): T {
  expect(response.errors).toBeUndefined();
  return response.data!;
}

interface Body {
  id: string;
  event: string;
  workspace: string;
  data: Record<string, unknown>;
}

describe('webhooks driven by the registry API', () => {
  it('delivers signed create, transition and alias events, and retries while the receiver is down', async () => {
    const w = { 'x-cairn-workspace': randomWorkspaceId() };
    const gql = <T>(query: string, variables: Record<string, unknown> = {}) =>
      api.gql<T>(query, variables, w).then(ok);

    const { createWebhook } = await gql<{
      createWebhook: { secret: string; webhook: { id: string } };
    }>(
      `mutation($url:String!){ createWebhook(url:$url, modelName:"m", events:[
        REGISTERED_MODEL_CREATED, MODEL_VERSION_CREATED, MODEL_VERSION_STAGE_TRANSITIONED,
        MODEL_ALIAS_SET, MODEL_ALIAS_DELETED]){ secret webhook { id } } }`,
      { url: receiver.url('/registry') },
    );
    const { secret } = createWebhook;
    const webhookId = createWebhook.webhook.id;

    // a run whose model the versions point at
    const { createExperiment } = await gql<{ createExperiment: { id: string } }>(
      'mutation{ createExperiment(name:"hooks"){ id } }',
    );
    const { createRun } = await gql<{ createRun: { id: string } }>(
      'mutation($e:String!){ createRun(experimentId:$e){ id } }',
      { e: createExperiment.id },
    );
    const source = `runs:/${createRun.id}/model`;

    await gql('mutation{ createRegisteredModel(name:"m"){ id } }');
    await gql('mutation{ createRegisteredModel(name:"other"){ id } }'); // filtered out
    for (let i = 0; i < 2; i++) {
      await gql(
        'mutation($s:String!,$r:String!){ createModelVersion(name:"m", source:$s, runId:$r){ version } }',
        {
          s: source,
          r: createRun.id,
        },
      );
    }
    await gql(
      'mutation{ transitionModelVersionStage(name:"m", version:1, stage:PRODUCTION){ stage } }',
    );
    await gql('mutation{ setModelAlias(name:"m", alias:"champion", version:2){ version } }');
    // rollback: one call
    await gql('mutation{ setModelAlias(name:"m", alias:"champion", version:1){ version } }');
    await gql('mutation{ deleteModelAlias(name:"m", alias:"champion"){ name } }');

    const got = await eventually(
      () => receiver.on('/registry'),
      (r) => r.length >= 7,
    );
    expect(got).toHaveLength(7);
    for (const request of got) expectSigned(request, secret);
    const bodies = got.map((r) => JSON.parse(r.body) as Body);
    const counts = new Map<string, number>();
    for (const b of bodies) counts.set(b.event, (counts.get(b.event) ?? 0) + 1);
    expect(Object.fromEntries(counts)).toEqual({
      REGISTERED_MODEL_CREATED: 1,
      MODEL_VERSION_CREATED: 2,
      MODEL_VERSION_STAGE_TRANSITIONED: 1,
      MODEL_ALIAS_SET: 2,
      MODEL_ALIAS_DELETED: 1,
    });
    expect(bodies.every((b) => b.data.name === 'm' && b.workspace === w['x-cairn-workspace'])).toBe(
      true,
    );
    expect(bodies.find((b) => b.event === 'MODEL_VERSION_STAGE_TRANSITIONED')!.data).toMatchObject({
      version: 1,
      fromStage: 'NONE',
      toStage: 'PRODUCTION',
    });
    const aliasSets = bodies.filter((b) => b.event === 'MODEL_ALIAS_SET').map((b) => b.data);
    expect(aliasSets).toContainEqual(
      expect.objectContaining({ alias: 'champion', version: 1, previousVersion: 2 }),
    );
    expect(
      bodies
        .filter((b) => b.event === 'MODEL_VERSION_CREATED')
        .map((b) => b.data.version)
        .sort(),
    ).toEqual([1, 2]);

    // receiver down: the delivery is retried, then succeeds once it is back
    const port = receiver.port;
    await receiver.stop();
    await gql('mutation{ setModelAlias(name:"m", alias:"champion", version:2){ version } }');
    const deliveries = async () =>
      (
        await gql<{
          webhook: {
            deliveries: {
              id: string;
              event: string;
              status: string;
              attempts: number;
              lastError: string | null;
              attemptLog: { statusCode: number | null; error: string | null }[];
            }[];
          };
        }>(
          'query($id:String!){ webhook(id:$id){ deliveries { id event status attempts lastError attemptLog { statusCode error } } } }',
          { id: webhookId },
        )
      ).webhook.deliveries;
    await eventually(deliveries, (d) => d[0]!.status === 'RETRYING' && d[0]!.attempts >= 2);
    await receiver.start(port);
    const [latest] = await eventually(deliveries, (d) => d[0]!.status === 'SUCCEEDED');
    expect(latest!.event).toBe('MODEL_ALIAS_SET');
    expect(
      latest!.attemptLog
        .slice(0, -1)
        .every((a) => a.statusCode === null && /ECONNREFUSED/.test(a.error ?? '')),
    ).toBe(true);
    expect(latest!.attemptLog.at(-1)).toEqual({ statusCode: 200, error: null });
    const last = receiver.on('/registry').at(-1)!;
    expectSigned(last, secret);
    expect(JSON.parse(last.body)).toMatchObject({
      id: latest!.id,
      event: 'MODEL_ALIAS_SET',
      data: { alias: 'champion', version: 2, previousVersion: null },
    });
    // every delivery of the log succeeded, each exactly once at the receiver
    const all = await deliveries();
    expect(all).toHaveLength(8);
    expect(all.every((d) => d.status === 'SUCCEEDED')).toBe(true);
    expect(new Set(receiver.on('/registry').map((r) => r.headers['x-cairn-delivery'])).size).toBe(
      8,
    );
  });
});
