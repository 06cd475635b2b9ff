/**
 * Webhooks against a real HTTP receiver (node:http, started here) and real Postgres: signed
 * deliveries, retries while the receiver is down, the delivery log, filters, deactivation and
 * deletion, workspace isolation, URL validation, sealed secrets, and rebuilds that send nothing
 * twice. Registry events are appended to the log directly here (the registry's own mutations
 * drive the acceptance test in webhooks-registry.int.test.ts).
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  newEntityId,
  registeredModelStreamId,
  type EventData,
  type EventType,
} from '@cairn/events';
import {
  generateSecretKey,
  rebuildProjection,
  silentLogger,
  WebhookSender,
  webhooksProjection,
} from '@cairn/projector';
import { aNewEvent, appendEvents, createTestDatabase, randomWorkspaceId } from '@cairn/testing';
import { startApiHarness, type ApiHarness, type GqlResponse } from './helpers/api-harness.ts';
import { eventually, expectSigned, Receiver } from './helpers/webhook-receiver.ts';

// ---------------------------------------------------------------------------------------------
// set-up

const RETRY = { baseDelayMs: 150, maxDelayMs: 5000, jitter: 0.1, maxAttempts: 5 };
let api: ApiHarness;
let receiver: Receiver;
let dropDb: () => Promise<void>;
const secretKey = generateSecretKey();
/** SQL statements the API's handle ran (the query-count test resets it). */
let statements: string[] = [];

beforeAll(async () => {
  const database = await createTestDatabase();
  dropDb = database.drop;
  receiver = new Receiver();
  await receiver.start();
  api = await startApiHarness({
    databaseUrl: database.url,
    onQuery: (text) => statements.push(text),
    webhooks: {
      secretKey,
      retry: RETRY,
      timeoutMs: 1000,
      // Far above every wait below: deliveries must arrive through the LISTEN wake-up.
      idlePollMs: 30_000,
    },
  });
});

afterAll(async () => {
  await api?.stop();
  await receiver?.stop();
  await dropDb?.();
});

const ws = (workspace: string) => ({ 'x-cairn-workspace': workspace });

function ok<T>(response: GqlResponse<T>): T {
  expect(response.errors).toBeUndefined();
  return response.data!;
}

const errorCode = (response: GqlResponse<unknown>) => response.errors?.[0]?.extensions?.code;

const WEBHOOK_FIELDS = 'id url events modelName description active createdAt';
const DELIVERY_FIELDS = `id webhookId eventId event status attempts lastStatusCode lastError
  nextAttemptAt createdAt deliveredAt payload attemptLog { attempt startedAt durationMs statusCode error }`;

interface Delivery {
  id: string;
  webhookId: string;
  eventId: string;
  event: string;
  status: string;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  nextAttemptAt: number | null;
  createdAt: number;
  deliveredAt: number | null;
  payload: string;
  attemptLog: {
    attempt: number;
    startedAt: number;
    durationMs: number;
    statusCode: number | null;
    error: string | null;
  }[];
}

const ALL_EVENTS = [
  'REGISTERED_MODEL_CREATED',
  'MODEL_VERSION_CREATED',
  'MODEL_VERSION_STAGE_TRANSITIONED',
  'MODEL_ALIAS_SET',
  'MODEL_ALIAS_DELETED',
];

async function createWebhook(
  workspace: string,
  args: { url: string; events?: string[]; modelName?: string; description?: string },
) {
  const data = ok(
    await api.gql<{ createWebhook: { secret: string; webhook: { id: string; url: string } } }>(
      `mutation($url:String!,$events:[WebhookEvent!]!,$model:String,$d:String){
        createWebhook(url:$url, events:$events, modelName:$model, description:$d){
          secret webhook { ${WEBHOOK_FIELDS} } } }`,
      {
        url: args.url,
        events: args.events ?? ALL_EVENTS,
        model: args.modelName ?? null,
        d: args.description ?? null,
      },
      ws(workspace),
    ),
  );
  return { id: data.createWebhook.webhook.id, secret: data.createWebhook.secret };
}

async function deliveries(workspace: string, webhookId: string): Promise<Delivery[]> {
  const data = ok(
    await api.gql<{ webhook: { deliveries: Delivery[] } | null }>(
      `query($id:String!){ webhook(id:$id){ deliveries(first: 100) { ${DELIVERY_FIELDS} } } }`,
      { id: webhookId },
      ws(workspace),
    ),
  );
  return data.webhook?.deliveries ?? [];
}

// ---------------------------------------------------------------------------------------------
// registry events, appended as the registry's command handler would

type RegistryType =
  | 'RegisteredModelCreated'
  | 'ModelVersionCreated'
  | 'ModelVersionStageTransitioned'
  | 'ModelAliasSet'
  | 'ModelAliasDeleted';

class Model {
  readonly modelId = newEntityId();
  constructor(
    readonly workspace: string,
    readonly name: string,
  ) {}

  async append<T extends RegistryType & EventType>(
    type: T,
    data: Omit<EventData<T>, 'modelId' | 'name'>,
  ): Promise<string> {
    const event = aNewEvent(type, {
      modelId: this.modelId,
      name: this.name,
      ...data,
    } as EventData<T>);
    await appendEvents(
      api.db,
      this.workspace,
      registeredModelStreamId(this.modelId),
      'registered-model',
      [event],
    );
    return event.id;
  }

  created = () => this.append('RegisteredModelCreated', { description: null, tags: [] });
  version = (version: number) =>
    this.append('ModelVersionCreated', {
      version,
      source: `runs:/${'b'.repeat(32)}/model`,
      runId: 'b'.repeat(32),
      description: null,
      tags: [],
      status: 'READY',
    });
  transitioned = (version: number) =>
    this.append('ModelVersionStageTransitioned', {
      version,
      fromStage: 'NONE',
      toStage: 'PRODUCTION',
      archivedVersions: [],
    });
  aliasSet = (alias: string, version: number, previousVersion: number | null = null) =>
    this.append('ModelAliasSet', { alias, version, previousVersion });
  aliasDeleted = (alias: string, version: number) =>
    this.append('ModelAliasDeleted', { alias, version });
}

// ---------------------------------------------------------------------------------------------

describe('webhooks', () => {
  it('delivers signed create, transition and alias events promptly', async () => {
    const w = randomWorkspaceId();
    const hook = await createWebhook(w, { url: receiver.url('/signed'), description: 'ci' });
    expect(hook.secret).toMatch(/^whsec_[\w-]{43}$/);
    const model = new Model(w, 'fraud');
    const appendedAt = Date.now();
    const ids = [
      await model.created(),
      await model.version(1),
      await model.transitioned(1),
      await model.aliasSet('champion', 1),
      await model.aliasDeleted('champion', 1),
    ];
    const got = await eventually(
      () => receiver.on('/signed'),
      (r) => r.length >= 5,
    );
    // Woken by the projection's notice, not by the 30 s idle poll.
    expect(Math.max(...got.map((r) => r.at)) - appendedAt).toBeLessThan(10_000);
    expect(got).toHaveLength(5);
    const bodies = got.map((r) => JSON.parse(r.body) as Record<string, unknown>);
    expect(bodies.map((b) => b.event).sort()).toEqual([...ALL_EVENTS].sort());
    for (const [i, request] of got.entries()) {
      const body = bodies[i]!;
      expectSigned(request, hook.secret);
      expect(request.headers['content-type']).toBe('application/json');
      expect(request.headers['x-cairn-event']).toBe(body.event);
      expect(request.headers['x-cairn-delivery']).toBe(body.id);
      expect(body.workspace).toBe(w);
      expect(ids).toContain(body.eventId);
      expect(typeof body.occurredAt).toBe('string');
      expect(body.data).toMatchObject({ modelId: model.modelId, name: 'fraud' });
    }
    const alias = bodies.find((b) => b.event === 'MODEL_ALIAS_SET')!;
    expect(alias.data).toEqual({
      modelId: model.modelId,
      name: 'fraud',
      alias: 'champion',
      version: 1,
      previousVersion: null,
    });
    const transition = bodies.find((b) => b.event === 'MODEL_VERSION_STAGE_TRANSITIONED')!;
    expect(transition.data).toMatchObject({ version: 1, fromStage: 'NONE', toStage: 'PRODUCTION' });

    const log = await eventually(
      () => deliveries(w, hook.id),
      (d) => d.length === 5 && d.every((x) => x.status === 'SUCCEEDED'),
    );
    for (const d of log) {
      expect(d).toMatchObject({
        webhookId: hook.id,
        attempts: 1,
        lastStatusCode: 200,
        lastError: null,
        nextAttemptAt: null,
      });
      expect(d.deliveredAt).toBeGreaterThanOrEqual(d.createdAt);
      expect(d.attemptLog).toHaveLength(1);
      expect(d.attemptLog[0]).toMatchObject({ attempt: 1, statusCode: 200, error: null });
      // the log holds exactly the bytes that were signed and sent
      expect(got.map((r) => r.body)).toContain(d.payload);
    }
  });

  it('retries with backoff while the receiver is down, then succeeds', async () => {
    const w = randomWorkspaceId();
    const down = new Receiver();
    await down.start();
    const port = down.port;
    await down.stop();
    const hook = await createWebhook(w, {
      url: `http://127.0.0.1:${port}/down`,
      events: ['MODEL_ALIAS_SET'],
    });
    await new Model(w, 'churn').aliasSet('champion', 3, 2);

    // connection refused, twice
    const refused = await eventually(
      () => deliveries(w, hook.id),
      (d) => (d[0]?.attempts ?? 0) >= 2,
    );
    expect(refused[0]).toMatchObject({ status: 'RETRYING', lastStatusCode: null });
    expect(refused[0]!.lastError).toMatch(/ECONNREFUSED/);
    expect(refused[0]!.nextAttemptAt).not.toBeNull();

    // back, but failing with 503
    down.status.set('/down', 503);
    await down.start(port);
    try {
      await eventually(
        () => deliveries(w, hook.id),
        (d) => d[0]?.lastStatusCode === 503,
      );
      // healthy again
      down.status.set('/down', 200);
      const [done] = await eventually(
        () => deliveries(w, hook.id),
        (d) => d[0]?.status === 'SUCCEEDED',
      );
      const attempts = done!.attemptLog;
      expect(attempts.length).toBeGreaterThanOrEqual(4);
      expect(attempts.length).toBeLessThanOrEqual(RETRY.maxAttempts);
      expect(done!.attempts).toBe(attempts.length);
      expect(attempts.map((a) => a.attempt)).toEqual(attempts.map((_, i) => i + 1));
      expect(attempts[0]!.error).toMatch(/ECONNREFUSED/);
      expect(attempts[1]!.error).toMatch(/ECONNREFUSED/);
      expect(attempts.some((a) => a.statusCode === 503 && a.error === 'HTTP 503')).toBe(true);
      expect(attempts.at(-1)).toMatchObject({ statusCode: 200, error: null });
      // Exponential backoff: the n-th wait is at least base · 2^(n-1), less the jitter.
      for (let i = 1; i < attempts.length; i++) {
        const waited = attempts[i]!.startedAt - attempts[i - 1]!.startedAt;
        expect(waited).toBeGreaterThanOrEqual(
          RETRY.baseDelayMs * 2 ** (i - 1) * (1 - RETRY.jitter) - 5,
        );
      }
      // the receiver saw the same delivery each time, the last one signed and accepted
      const seen = down.on('/down');
      expect(new Set(seen.map((r) => r.headers['x-cairn-delivery']))).toEqual(new Set([done!.id]));
      expect(seen.at(-1)!.body).toBe(done!.payload);
      expect(done!.payload).toContain('"previousVersion":2');
    } finally {
      await down.stop();
    }
  });

  it('gives up after the last attempt (FAILED), and can redeliver', async () => {
    const w = randomWorkspaceId();
    receiver.status.set('/broken', 500);
    const hook = await createWebhook(w, {
      url: receiver.url('/broken'),
      events: ['MODEL_VERSION_CREATED'],
    });
    await new Model(w, 'm').version(1);
    const [failed] = await eventually(
      () => deliveries(w, hook.id),
      (d) => d[0]?.status === 'FAILED',
    );
    expect(failed).toMatchObject({
      attempts: RETRY.maxAttempts,
      lastStatusCode: 500,
      lastError: 'HTTP 500',
      nextAttemptAt: null,
      deliveredAt: null,
    });
    expect(failed!.attemptLog.map((a) => a.statusCode)).toEqual(
      Array.from({ length: RETRY.maxAttempts }, () => 500),
    );
    expect(receiver.on('/broken')).toHaveLength(RETRY.maxAttempts);

    receiver.status.set('/broken', 204);
    const requeued = ok(
      await api.gql<{ redeliverWebhookDelivery: { status: string } }>(
        'mutation($id:String!){ redeliverWebhookDelivery(id:$id){ status } }',
        { id: failed!.id },
        ws(w),
      ),
    );
    expect(requeued.redeliverWebhookDelivery.status).toBe('PENDING');
    const [again] = await eventually(
      () => deliveries(w, hook.id),
      (d) => d[0]?.status === 'SUCCEEDED',
    );
    expect(again).toMatchObject({ attempts: RETRY.maxAttempts + 1, lastStatusCode: 204 });
    expect(
      errorCode(
        await api.gql(
          'mutation($id:String!){ redeliverWebhookDelivery(id:$id){ status } }',
          { id: 'f'.repeat(32) },
          ws(w),
        ),
      ),
    ).toBe('NOT_FOUND');
  });

  it('times out a receiver that does not answer', async () => {
    const w = randomWorkspaceId();
    receiver.status.set('/hang', 'hang');
    const hook = await createWebhook(w, { url: receiver.url('/hang') });
    await new Model(w, 'slow').created();
    const [d] = await eventually(
      () => deliveries(w, hook.id),
      (x) => (x[0]?.attempts ?? 0) >= 1,
    );
    expect(d!.attemptLog[0]!.error).toMatch(/timed out after 1000 ms/);
    expect(d!.attemptLog[0]!.durationMs).toBeGreaterThanOrEqual(990);
    expect(d!.attemptLog[0]!.durationMs).toBeLessThan(5000);
    ok(await api.gql('mutation($id:String!){ deleteWebhook(id:$id) }', { id: hook.id }, ws(w)));
  });

  it('filters by model name', async () => {
    const w = randomWorkspaceId();
    const hook = await createWebhook(w, { url: receiver.url('/only-a'), modelName: 'model-a' });
    await new Model(w, 'model-b').created();
    await new Model(w, 'model-a').created();
    // log order: once model-a's delivery exists, model-b's event has been dispatched too
    const log = await eventually(
      () => deliveries(w, hook.id),
      (d) => d.length >= 1,
    );
    expect(log).toHaveLength(1);
    expect(JSON.parse(log[0]!.payload)).toMatchObject({ data: { name: 'model-a' } });
    const got = await eventually(
      () => receiver.on('/only-a'),
      (r) => r.length >= 1,
    );
    expect(got.map((r) => (JSON.parse(r.body) as { data: { name: string } }).data.name)).toEqual([
      'model-a',
    ]);
  });

  it('sends nothing to inactive or deleted webhooks; reactivation resumes', async () => {
    const w = randomWorkspaceId();
    const off = await createWebhook(w, { url: receiver.url('/off') });
    const gone = await createWebhook(w, { url: receiver.url('/gone') });
    const control = await createWebhook(w, { url: receiver.url('/control') });
    const updated = ok(
      await api.gql<{ updateWebhook: { active: boolean; events: string[]; url: string } }>(
        `mutation($id:String!){ updateWebhook(id:$id, active:false){ active events url } }`,
        { id: off.id },
        ws(w),
      ),
    );
    expect(updated.updateWebhook).toEqual({
      active: false,
      events: ALL_EVENTS,
      url: receiver.url('/off'),
    });
    expect(
      ok(
        await api.gql<{ deleteWebhook: boolean }>(
          'mutation($id:String!){ deleteWebhook(id:$id) }',
          { id: gone.id },
          ws(w),
        ),
      ).deleteWebhook,
    ).toBe(true);
    const model = new Model(w, 'quiet');
    await model.created();
    await eventually(
      () => deliveries(w, control.id),
      (d) => d[0]?.status === 'SUCCEEDED',
    );
    expect(await deliveries(w, off.id)).toEqual([]);
    expect(
      ok(
        await api.gql<{ webhook: unknown }>(
          'query($id:String!){ webhook(id:$id){ id } }',
          { id: gone.id },
          ws(w),
        ),
      ).webhook,
    ).toBeNull();
    const listed = ok(
      await api.gql<{ webhooks: { id: string }[] }>('{ webhooks { id } }', {}, ws(w)),
    );
    expect(listed.webhooks.map((h) => h.id).sort()).toEqual([off.id, control.id].sort());
    expect(receiver.on('/off')).toEqual([]);
    expect(receiver.on('/gone')).toEqual([]);
    expect(
      errorCode(
        await api.gql('mutation($id:String!){ deleteWebhook(id:$id) }', { id: gone.id }, ws(w)),
      ),
    ).toBe('NOT_FOUND');

    ok(
      await api.gql(
        'mutation($id:String!){ updateWebhook(id:$id, active:true){ id } }',
        { id: off.id },
        ws(w),
      ),
    );
    await model.version(1);
    await eventually(
      () => receiver.on('/off'),
      (r) => r.length === 1,
    );
    expect(JSON.parse(receiver.on('/off')[0]!.body)).toMatchObject({
      event: 'MODEL_VERSION_CREATED',
    });
  });

  it('keeps workspaces apart', async () => {
    const w1 = randomWorkspaceId();
    const w2 = randomWorkspaceId();
    const hook = await createWebhook(w1, { url: receiver.url('/w1') });
    const other = await createWebhook(w2, { url: receiver.url('/w2') });
    await new Model(w2, 'shared-name').created();
    await eventually(
      () => deliveries(w2, other.id),
      (d) => d[0]?.status === 'SUCCEEDED',
    );
    expect(await deliveries(w1, hook.id)).toEqual([]);
    expect(receiver.on('/w1')).toEqual([]);
    // another workspace cannot see, change or delete the webhook
    expect(
      ok(
        await api.gql<{ webhook: unknown }>(
          'query($id:String!){ webhook(id:$id){ id } }',
          { id: hook.id },
          ws(w2),
        ),
      ).webhook,
    ).toBeNull();
    const w2List = ok(
      await api.gql<{ webhooks: { id: string }[] }>('{ webhooks { id } }', {}, ws(w2)),
    );
    expect(w2List.webhooks.map((h) => h.id)).toEqual([other.id]);
    for (const mutation of [
      'mutation($id:String!){ deleteWebhook(id:$id) }',
      'mutation($id:String!){ updateWebhook(id:$id, active:false){ id } }',
      'mutation($id:String!){ rotateWebhookSecret(id:$id){ secret } }',
    ]) {
      expect(errorCode(await api.gql(mutation, { id: hook.id }, ws(w2)))).toBe('NOT_FOUND');
    }
    const delivery = (await deliveries(w2, other.id))[0]!;
    expect(
      errorCode(
        await api.gql(
          'mutation($id:String!){ redeliverWebhookDelivery(id:$id){ id } }',
          { id: delivery.id },
          ws(w1),
        ),
      ),
    ).toBe('NOT_FOUND');
  });

  it('rejects bad URLs and events with INVALID_ARGUMENT and changes nothing', async () => {
    const w = randomWorkspaceId();
    for (const url of [
      'ftp://example.com/hook',
      'file:///etc/passwd',
      'https://user:secret@example.com/hook',
      'not a url',
      `https://example.com/${'x'.repeat(2100)}`,
      'http://169.254.169.254/latest/meta-data/',
    ]) {
      const response = await api.gql(
        'mutation($url:String!){ createWebhook(url:$url, events:[MODEL_ALIAS_SET]){ secret } }',
        { url },
        ws(w),
      );
      expect(errorCode(response), url).toBe('INVALID_ARGUMENT');
      expect(response.errors?.[0]?.message).not.toContain('secret@');
    }
    expect(
      errorCode(
        await api.gql(
          'mutation{ createWebhook(url:"https://example.com/", events:[]){ secret } }',
          {},
          ws(w),
        ),
      ),
    ).toBe('INVALID_ARGUMENT');
    const hook = await createWebhook(w, {
      url: 'https://example.com/ok',
      events: ['MODEL_ALIAS_SET'],
    });
    expect(
      errorCode(
        await api.gql(
          'mutation($id:String!){ updateWebhook(id:$id, url:"gopher://example.com/"){ id } }',
          { id: hook.id },
          ws(w),
        ),
      ),
    ).toBe('INVALID_ARGUMENT');
    const after = ok(
      await api.gql<{ webhooks: { id: string; url: string }[] }>(
        '{ webhooks { id url } }',
        {},
        ws(w),
      ),
    );
    expect(after.webhooks).toEqual([{ id: hook.id, url: 'https://example.com/ok' }]);
    const events = await api.db
      .selectFrom('events')
      .select('type')
      .where('workspace_id', '=', w)
      .execute();
    expect(events.map((e) => e.type)).toEqual(['WebhookCreated']);
  });

  it('never stores a secret in plaintext; rotation signs with the new secret', async () => {
    const w = randomWorkspaceId();
    const hook = await createWebhook(w, {
      url: receiver.url('/rotate'),
      events: ['MODEL_ALIAS_SET'],
    });
    const rotated = ok(
      await api.gql<{ rotateWebhookSecret: { secret: string; webhook: { id: string } } }>(
        'mutation($id:String!){ rotateWebhookSecret(id:$id){ secret webhook { id } } }',
        { id: hook.id },
        ws(w),
      ),
    ).rotateWebhookSecret;
    expect(rotated.webhook.id).toBe(hook.id);
    expect(rotated.secret).not.toBe(hook.secret);
    const stored = await api.db
      .selectFrom('events')
      .select(['type', 'data'])
      .where('workspace_id', '=', w)
      .execute();
    expect(stored.map((e) => e.type)).toEqual(['WebhookCreated', 'WebhookSecretRotated']);
    const text = JSON.stringify(stored);
    for (const secret of [hook.secret, rotated.secret]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(secret.slice('whsec_'.length));
    }
    expect(text).toMatch(/"encryptedSecret":"v1\.[0-9a-f]{16}\./);
    const row = await api.db
      .selectFrom('webhooks')
      .selectAll()
      .where('workspace_id', '=', w)
      .executeTakeFirstOrThrow();
    expect(row.encrypted_secret).not.toContain(rotated.secret);

    await new Model(w, 'rot').aliasSet('prod', 1);
    const [request] = await eventually(
      () => receiver.on('/rotate'),
      (r) => r.length >= 1,
    );
    expectSigned(request!, rotated.secret);
    expect(() => expectSigned(request!, hook.secret)).toThrow();
  });

  it('a rebuild of the webhooks projection sends nothing again', async () => {
    const w = randomWorkspaceId();
    const hook = await createWebhook(w, { url: receiver.url('/rebuild') });
    const model = new Model(w, 'rebuilt');
    await model.created();
    await model.aliasSet('a', 1);
    await eventually(
      () => deliveries(w, hook.id),
      (d) => d.length === 2 && d.every((x) => x.status === 'SUCCEEDED'),
    );
    const hooksBefore = await api.db
      .selectFrom('webhooks')
      .selectAll()
      .orderBy('webhook_id')
      .execute();
    const deliveriesBefore = await api.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .orderBy('delivery_id')
      .execute();
    const sentBefore = receiver.on('/rebuild').length;
    expect(sentBefore).toBe(2);

    const result = await rebuildProjection(api.db, webhooksProjection);
    expect(result.events).toBeGreaterThan(0);

    expect(await api.db.selectFrom('webhooks').selectAll().orderBy('webhook_id').execute()).toEqual(
      hooksBefore,
    );
    expect(
      await api.db.selectFrom('webhook_deliveries').selectAll().orderBy('delivery_id').execute(),
    ).toEqual(deliveriesBefore);
    // A new event after the rebuild is delivered once; nothing old is re-sent.
    await model.aliasDeleted('a', 1);
    await eventually(
      () => receiver.on('/rebuild'),
      (r) => r.length === 3,
    );
    await eventually(
      () => deliveries(w, hook.id),
      (d) => d.length === 3 && d.every((x) => x.status === 'SUCCEEDED'),
    );
    expect(receiver.on('/rebuild')).toHaveLength(sentBefore + 1);
  });
  it('prunes finished deliveries past the retention period; a rebuild then re-sends none of them', async () => {
    const w = randomWorkspaceId();
    // Never answers (1 s deadline, 5 attempts): its deliveries stay unfinished for seconds.
    receiver.status.set('/pruned-pending', 'hang');
    const hook = await createWebhook(w, { url: receiver.url('/pruned') });
    const pendingHook = await createWebhook(w, { url: receiver.url('/pruned-pending') });
    const model = new Model(w, 'pruned');
    await model.created();
    await model.aliasSet('a', 1);
    await eventually(
      () => deliveries(w, hook.id),
      (d) => d.length === 2 && d.every((x) => x.status === 'SUCCEEDED'),
    );
    await eventually(
      () => deliveries(w, pendingHook.id),
      (d) => d.length === 2 && d.every((x) => x.status === 'RETRYING'),
    );
    // Age every delivery of this workspace past a 1-day retention: only finished ones go.
    await sql`UPDATE webhook_deliveries SET created_at = now() - interval '2 days'
      WHERE workspace_id = ${w}`.execute(api.db);
    const pruner = new WebhookSender(api.db, {
      secretKey,
      deliveryRetentionMs: 86_400_000,
      logger: silentLogger,
    });
    expect(await pruner.pruneFinished()).toBeGreaterThanOrEqual(2);
    expect(await deliveries(w, hook.id)).toEqual([]);
    expect(await deliveries(w, pendingHook.id)).toHaveLength(2);
    const attempts = await api.db
      .selectFrom('webhook_delivery_attempts')
      .innerJoin(
        'webhook_deliveries',
        'webhook_deliveries.delivery_id',
        'webhook_delivery_attempts.delivery_id',
      )
      .select('webhook_delivery_attempts.delivery_id')
      .where('webhook_delivery_attempts.workspace_id', '=', w)
      .where('webhook_deliveries.webhook_id', '=', hook.id)
      .execute();
    expect(attempts).toEqual([]);
    const orphans = await sql<{ n: number }>`SELECT count(*)::int AS n
      FROM webhook_delivery_attempts a WHERE a.workspace_id = ${w} AND NOT EXISTS (
        SELECT 1 FROM webhook_deliveries d
        WHERE d.workspace_id = a.workspace_id AND d.delivery_id = a.delivery_id)`.execute(api.db);
    expect(orphans.rows[0]!.n).toBe(0);
    expect(await pruner.pruneFinished()).toBe(0);

    const sentBefore = receiver.on('/pruned').length;
    expect(sentBefore).toBe(2);
    await rebuildProjection(api.db, webhooksProjection);
    // The replay queued nothing for the pruned events; a new event is delivered once.
    expect(await deliveries(w, hook.id)).toEqual([]);
    await model.aliasDeleted('a', 1);
    await eventually(
      () => deliveries(w, hook.id),
      (d) => d.length === 1 && d[0]!.status === 'SUCCEEDED',
    );
    expect(receiver.on('/pruned')).toHaveLength(sentBefore + 1);
    receiver.status.delete('/pruned-pending');
  });

  it('cancels pending retries when a webhook is paused', async () => {
    const w = randomWorkspaceId();
    receiver.status.set('/paused', 503);
    const hook = await createWebhook(w, { url: receiver.url('/paused') });
    await new Model(w, 'paused').created();
    await eventually(
      () => deliveries(w, hook.id),
      (d) => d[0]?.status === 'RETRYING',
    );
    ok(
      await api.gql(
        'mutation($id:String!){ updateWebhook(id:$id, active:false){ id } }',
        { id: hook.id },
        ws(w),
      ),
    );
    const [cancelled] = await eventually(
      () => deliveries(w, hook.id),
      (d) => d[0]?.status === 'FAILED',
    );
    expect(cancelled).toMatchObject({ lastError: 'webhook is inactive', nextAttemptAt: null });
    expect(cancelled!.attempts).toBeLessThan(RETRY.maxAttempts);
  });

  it('several senders share the outbox and send each delivery once', async () => {
    const w = randomWorkspaceId();
    const extra = [1, 2].map(
      () =>
        new WebhookSender(api.db, {
          secretKey,
          pool: api.handle.pool,
          retry: RETRY,
          concurrency: 3,
          logger: silentLogger,
        }),
    );
    for (const sender of extra) sender.start();
    try {
      const hook = await createWebhook(w, { url: receiver.url('/shared') });
      const model = new Model(w, 'busy');
      await model.created();
      for (let v = 1; v <= 30; v++) await model.version(v);
      const log = await eventually(
        () => deliveries(w, hook.id),
        (d) => d.length === 31 && d.every((x) => x.status === 'SUCCEEDED'),
        30_000,
      );
      expect(log.every((d) => d.attempts === 1)).toBe(true);
      const seen = receiver.on('/shared').map((r) => r.headers['x-cairn-delivery']);
      expect(seen).toHaveLength(31);
      expect(new Set(seen).size).toBe(31);
      for (const request of receiver.on('/shared')) expectSigned(request, hook.secret);
    } finally {
      await Promise.all(extra.map((s) => s.stop()));
    }
  });
  it('reads a page of webhooks with deliveries and attempts in a constant number of queries', async () => {
    const w = randomWorkspaceId();
    const hooks: { id: string; secret: string }[] = [];
    for (let i = 0; i < 6; i++)
      hooks.push(await createWebhook(w, { url: receiver.url(`/page-${i}`) }));
    const model = new Model(w, 'paged');
    await model.created();
    await model.version(1);
    await eventually(
      () => deliveries(w, hooks.at(-1)!.id),
      (d) => d.length === 2 && d.every((x) => x.status === 'SUCCEEDED'),
    );
    for (const hook of hooks)
      await eventually(
        () => deliveries(w, hook.id),
        (d) => d.length === 2 && d.every((x) => x.status === 'SUCCEEDED'),
      );
    const query = `{ webhooks { id deliveries(first: 10) { id status attemptLog { attempt statusCode } } } }`;
    const count = async () => {
      statements = [];
      const data = ok(
        await api.gql<{ webhooks: { deliveries: { attemptLog: unknown[] }[] }[] }>(
          query,
          {},
          ws(w),
        ),
      );
      // the API's reads; the sender shares the handle, its statements are told apart
      const reads = statements.filter(
        (s) =>
          /webhook/.test(s) && /^\s*select/i.test(s) && !/encrypted_secret|next_attempt_at/.test(s),
      ).length;
      return { data, reads };
    };
    const { data, reads } = await count();
    expect(data.webhooks).toHaveLength(6);
    for (const hook of data.webhooks) {
      expect(hook.deliveries).toHaveLength(2);
      for (const d of hook.deliveries) expect(d.attemptLog).toHaveLength(1);
    }
    // webhooks, their deliveries, the deliveries' attempts: one query each
    expect(reads).toBe(3);
  });
  it('answers a create with its committed state when the projection is late', async () => {
    const database = await createTestDatabase();
    const late = await startApiHarness({
      databaseUrl: database.url,
      readYourWritesTimeoutMs: 0,
      webhooks: { secretKey },
    });
    // Hold the projection's lock: it cannot apply anything until we let go.
    const blocker = await late.handle.pool.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query("SELECT pg_advisory_xact_lock(hashtext('projection:webhooks.v1'))");
      const created = ok(
        await late.gql<{
          createWebhook: { secret: string; webhook: { id: string; url: string; active: boolean } };
        }>(
          'mutation{ createWebhook(url:"HTTPS://Example.com/late", events:[MODEL_ALIAS_SET]){ secret webhook { id url active events } } }',
          {},
          ws(randomWorkspaceId()),
        ),
      ).createWebhook;
      expect(created.webhook).toMatchObject({
        url: 'https://example.com/late',
        active: true,
        events: ['MODEL_ALIAS_SET'],
      });
      expect(await late.db.selectFrom('webhooks').selectAll().execute()).toEqual([]);
    } finally {
      await blocker.query('ROLLBACK');
      blocker.release();
      await late.stop();
      await database.drop();
    }
  });
});
