/**
 * The subscriptions behind the live experiments and registry pages (issue 19, "Live
 * everywhere"): experimentsChanged, registeredModelsChanged and registeredModelChanged(name)
 * push projected changes of their own workspace only, over graphql-ws.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, randomWorkspaceId } from '@cairn/testing';
import { startApiHarness, type ApiHarness } from './helpers/api-harness.ts';
import { eventually } from './helpers/webhook-receiver.ts';

let api: ApiHarness;
let dropDb: () => Promise<void>;

beforeAll(async () => {
  const database = await createTestDatabase();
  dropDb = database.drop;
  api = await startApiHarness({ databaseUrl: database.url });
});

afterAll(async () => {
  await api.stop();
  await dropDb();
});

async function gql<T>(workspace: string, query: string): Promise<T> {
  const res = await api.gql<T>(query, {}, { 'x-cairn-workspace': workspace });
  if (res.errors?.length || !res.data) throw new Error(JSON.stringify(res.errors));
  return res.data;
}

function wsClient(workspace: string): Client {
  return createClient({
    url: `${api.url.replace('http', 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { 'x-cairn-workspace': workspace },
  });
}

interface Subscription<T> {
  pushes: T[];
  errors: unknown[];
  completed: () => boolean;
  stop: () => void;
}

async function subscribe<T>(client: Client, query: string): Promise<Subscription<T>> {
  const pushes: T[] = [];
  const errors: unknown[] = [];
  let completed = false;
  const stop = client.subscribe<T>(
    { query },
    {
      next: (msg) => {
        // A subscribe-time error arrives as a result with `errors` (then complete).
        if (msg.errors) errors.push(...msg.errors);
        if (msg.data) pushes.push(msg.data);
      },
      error: (e) => errors.push(e),
      complete: () => (completed = true),
    },
  );
  // Let the subscription reach the server before the writes it must see.
  await new Promise((resolve) => setTimeout(resolve, 300));
  return { pushes, errors, completed: () => completed, stop };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 500));

describe('experimentsChanged', () => {
  it('pushes created, renamed and deleted experiments of its workspace only', async () => {
    const w = randomWorkspaceId();
    const other = randomWorkspaceId();
    const client = wsClient(w);
    try {
      type Push = {
        experimentsChanged: {
          ids: string[];
          experiments: { id: string; name: string; lifecycleStage: string }[];
        };
      };
      const sub = await subscribe<Push>(
        client,
        'subscription{ experimentsChanged{ ids experiments{ id name lifecycleStage } } }',
      );
      const { createExperiment } = await gql<{ createExperiment: { id: string } }>(
        w,
        'mutation{ createExperiment(name:"live-a"){ id } }',
      );
      const seen = (pred: (e: Push['experimentsChanged']['experiments'][number]) => boolean) =>
        eventually(
          () => Promise.resolve(sub.pushes),
          (p) => p.some((x) => x.experimentsChanged.experiments.some(pred)),
        );
      await seen((e) => e.id === createExperiment.id && e.name === 'live-a');

      await gql(
        w,
        `mutation{ renameExperiment(id:"${createExperiment.id}", name:"live-b"){ id } }`,
      );
      await seen((e) => e.id === createExperiment.id && e.name === 'live-b');

      await gql(w, `mutation{ deleteExperiment(id:"${createExperiment.id}"){ id } }`);
      await seen((e) => e.id === createExperiment.id && e.lifecycleStage === 'DELETED');

      // Another workspace's experiment is never pushed here.
      const before = sub.pushes.length;
      await gql(other, 'mutation{ createExperiment(name:"elsewhere"){ id } }');
      await settle();
      expect(sub.pushes.length).toBe(before);
      expect(sub.errors).toEqual([]);
      for (const push of sub.pushes)
        expect(push.experimentsChanged.ids).toEqual(
          push.experimentsChanged.experiments.map((e) => e.id),
        );
      sub.stop();
    } finally {
      await client.dispose();
    }
  });
});

describe('registeredModelsChanged and registeredModelChanged', () => {
  it('pushes changed models; the one-model subscription ends with null on deletion', async () => {
    const w = randomWorkspaceId();
    const other = randomWorkspaceId();
    await gql(w, 'mutation{ createRegisteredModel(name:"churn"){ id } }');
    await gql(w, 'mutation{ createRegisteredModel(name:"quiet"){ id } }');
    await gql(other, 'mutation{ createRegisteredModel(name:"churn"){ id } }');
    const client = wsClient(w);
    try {
      type ListPush = {
        registeredModelsChanged: {
          ids: string[];
          models: { name: string; description: string | null }[];
        };
      };
      type OnePush = {
        registeredModelChanged: { name: string; description: string | null } | null;
      };
      const list = await subscribe<ListPush>(
        client,
        'subscription{ registeredModelsChanged{ ids models{ name description } } }',
      );
      const one = await subscribe<OnePush>(
        client,
        'subscription{ registeredModelChanged(name:"churn"){ name description } }',
      );

      await gql(w, 'mutation{ updateRegisteredModel(name:"churn", description:"v2 soon"){ id } }');
      await eventually(
        () => Promise.resolve(one.pushes),
        (p) => p.some((x) => x.registeredModelChanged?.description === 'v2 soon'),
      );
      await eventually(
        () => Promise.resolve(list.pushes),
        (p) =>
          p.some((x) =>
            x.registeredModelsChanged.models.some(
              (m) => m.name === 'churn' && m.description === 'v2 soon',
            ),
          ),
      );

      // A change to another model (or another workspace's "churn") reaches the list only.
      const onePushes = one.pushes.length;
      await gql(w, 'mutation{ updateRegisteredModel(name:"quiet", description:"hush"){ id } }');
      await gql(
        other,
        'mutation{ updateRegisteredModel(name:"churn", description:"not here"){ id } }',
      );
      await eventually(
        () => Promise.resolve(list.pushes),
        (p) => p.some((x) => x.registeredModelsChanged.models.some((m) => m.name === 'quiet')),
      );
      await settle();
      expect(one.pushes.length).toBe(onePushes);
      expect(
        list.pushes.some((x) =>
          x.registeredModelsChanged.models.some((m) => m.description === 'not here'),
        ),
      ).toBe(false);

      // Deletion: the list push names the id with no model; the one-model push is null, then done.
      await gql(w, 'mutation{ deleteRegisteredModel(name:"churn") }');
      await eventually(
        () => Promise.resolve(one.pushes),
        (p) => p.at(-1)?.registeredModelChanged === null,
      );
      await eventually(
        () => Promise.resolve(one.completed()),
        (done) => done,
      );
      await eventually(
        () => Promise.resolve(list.pushes),
        (p) =>
          p.some(
            (x) => x.registeredModelsChanged.ids.length > x.registeredModelsChanged.models.length,
          ),
      );
      expect(list.errors).toEqual([]);
      list.stop();
    } finally {
      await client.dispose();
    }
  });

  it('answers NOT_FOUND for a model that does not exist', async () => {
    const client = wsClient(randomWorkspaceId());
    try {
      const sub = await subscribe(
        client,
        'subscription{ registeredModelChanged(name:"nope"){ name } }',
      );
      await eventually(
        () => Promise.resolve(sub.errors),
        (e) => e.length > 0,
      );
      expect(JSON.stringify(sub.errors)).toContain('NOT_FOUND');
    } finally {
      await client.dispose();
    }
  });
});
