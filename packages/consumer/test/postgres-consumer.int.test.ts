import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type DbHandle } from '@cairn/db';
import { newEntityId, registeredModelStreamId, userStreamId, type NewEvent } from '@cairn/events';
import {
  aNewEvent,
  aRawEvent,
  appendEvents,
  createTestDatabase,
  randomWorkspaceId,
} from '@cairn/testing';
import {
  loadConsumerCheckpoint,
  subscribe,
  ConsumerConfigError,
  type ConsumedEvent,
} from '../src/index.ts';

let database: { url: string; drop: () => Promise<void> };
let handle: DbHandle;

beforeAll(async () => {
  database = await createTestDatabase();
  handle = createDb(database.url, { maxConnections: 12 });
});

afterAll(async () => {
  await handle?.destroy();
  await database?.drop();
});

const consumerName = (what: string) => `${what}-${newEntityId().slice(0, 12)}`;

function aliasSet(modelId: string, version: number, alias = 'production'): NewEvent {
  return aNewEvent('ModelAliasSet', {
    modelId,
    name: `model-${modelId.slice(0, 6)}`,
    alias,
    version,
    previousVersion: version > 1 ? version - 1 : null,
  });
}

async function appendAliases(workspaceId: string, modelId: string, versions: number[]) {
  const result = await appendEvents(
    handle.db,
    workspaceId,
    registeredModelStreamId(modelId),
    'registered-model',
    versions.map((v) => aliasSet(modelId, v)),
  );
  return result.events.map((e) => e.id);
}

/** Resolves once `count` events were collected (or rejects after 10 s). */
function collector<E>() {
  const seen: E[] = [];
  let waiters: { count: number; resolve: () => void }[] = [];
  return {
    seen,
    push(event: E) {
      seen.push(event);
      waiters = waiters.filter((w) => {
        if (seen.length < w.count) return true;
        w.resolve();
        return false;
      });
    },
    async until(count: number) {
      if (seen.length >= count) return;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`only ${seen.length} of ${count} events arrived`)),
          10_000,
        );
        waiters.push({
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
    },
  };
}

async function waitForCheckpoint(name: string, eventId: string) {
  const { rows } = await handle.pool.query<{ tx: string; position: string }>(
    'SELECT transaction_id::text AS tx, global_position AS position FROM events WHERE event_id = $1',
    [eventId],
  );
  const target = rows[0]!;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const cp = await loadConsumerCheckpoint(handle.pool, name);
    if (
      cp &&
      (BigInt(cp.transactionId) > BigInt(target.tx) ||
        (cp.transactionId === target.tx && cp.globalPosition >= Number(target.position)))
    )
      return;
    if (Date.now() > deadline) throw new Error(`checkpoint of ${name} did not pass ${eventId}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('@cairn/consumer on the Postgres log', () => {
  it('delivers the workspace’s events of the chosen types in log order, decoded and upcast', async () => {
    const ws = randomWorkspaceId();
    const modelA = newEntityId();
    const modelB = newEntityId();
    const experimentId = newEntityId();
    const expected: string[] = [];
    expected.push(...(await appendAliases(ws, modelA, [1, 2])));
    // An ExperimentCreated stored at schema version 1: delivered at version 2 (upcast).
    const old = await appendEvents(handle.db, ws, `experiment-${experimentId}`, 'experiment', [
      aRawEvent(
        'ExperimentCreated',
        { experimentId, name: 'old', artifactLocation: null },
        {
          schemaVersion: 1,
        },
      ),
    ]);
    expected.push(old.events[0]!.id);
    expected.push(...(await appendAliases(ws, modelB, [1])));
    // Neither another workspace nor another type arrives.
    await appendAliases(randomWorkspaceId(), modelA, [1]);
    await appendEvents(handle.db, ws, registeredModelStreamId(modelB), 'registered-model', [
      aNewEvent('RegisteredModelTagSet', { modelId: modelB, name: 'b', key: 'k', value: 'v' }),
    ]);
    expected.push(...(await appendAliases(ws, modelA, [3])));

    const got = collector<ConsumedEvent<'ModelAliasSet' | 'ExperimentCreated'>>();
    const sub = subscribe(
      { postgres: database.url },
      {
        name: consumerName('order'),
        workspaceId: ws,
        types: ['ModelAliasSet', 'ExperimentCreated'],
        batchSize: 2,
        idleMs: 20,
      },
    );
    await sub.start(async (event) => {
      got.push(event);
      return Promise.resolve();
    });
    await got.until(expected.length);
    await sub.stop();
    expect(got.seen.map((e) => e.id)).toEqual(expected);
    const experiment = got.seen.find((e) => e.type === 'ExperimentCreated');
    expect(experiment?.schemaVersion).toBe(2);
    expect(experiment?.type === 'ExperimentCreated' && experiment.data.tags).toEqual([]);
    const aliases = got.seen.filter((e) => e.type === 'ModelAliasSet');
    expect(aliases.map((e) => (e.type === 'ModelAliasSet' ? e.data.version : 0))).toEqual([
      1, 2, 1, 3,
    ]);
    expect(new Set(got.seen.map((e) => e.workspaceId))).toEqual(new Set([ws]));
  });

  it('hands personal fields over sealed: no email or name reaches a consumer', async () => {
    const ws = randomWorkspaceId();
    const userId = newEntityId();
    const email = `pat.${userId.slice(0, 8)}@example.org`;
    await appendEvents(handle.db, ws, userStreamId(userId), 'user', [
      aNewEvent('UserCreated', {
        userId,
        organizationId: ws,
        email,
        displayName: 'Pat Quist',
        passwordHash: null,
        oidcSubject: null,
      }),
    ]);
    const stored = await handle.db
      .selectFrom('events')
      .select('data')
      .where('workspace_id', '=', ws)
      .executeTakeFirstOrThrow();
    expect(JSON.stringify(stored.data)).not.toContain(email); // sealed at the append
    const got = collector<ConsumedEvent<'UserCreated'>>();
    const sub = subscribe(
      { postgres: database.url },
      { name: consumerName('pii'), workspaceId: ws, types: ['UserCreated'], idleMs: 20 },
    );
    await sub.start(async (event) => Promise.resolve(got.push(event)));
    await got.until(1);
    await sub.stop();
    const data = got.seen[0]!.data;
    expect(data.userId).toBe(userId);
    expect(data.email).toMatch(/^\[sealed:[^\]]+\]$/);
    expect(data.displayName).toBe(data.email); // one subject, one placeholder
    expect(JSON.stringify(got.seen)).not.toContain('Pat Quist');
    expect(JSON.stringify(got.seen)).not.toContain(email);
  });

  it('resumes after a restart from its checkpoint; a failed batch comes again, nothing acked does', async () => {
    const ws = randomWorkspaceId();
    const model = newEntityId();
    const name = consumerName('restart');
    const first = await appendAliases(ws, model, [1, 2, 3]);
    const opts = { name, workspaceId: ws, types: ['ModelAliasSet'] as const, idleMs: 20 };

    const run1 = collector<string>();
    const sub1 = subscribe({ postgres: database.url }, opts);
    await sub1.start(async (event) => Promise.resolve(run1.push(event.id)));
    await run1.until(3);
    await waitForCheckpoint(name, first[2]!);
    await sub1.stop();
    expect(run1.seen).toEqual(first);

    const second = await appendAliases(ws, model, [4, 5]);
    const run2 = collector<string>();
    let failed = false;
    const errors: unknown[] = [];
    const sub2 = subscribe({ postgres: database.url }, { ...opts, onError: (e) => errors.push(e) });
    await sub2.start(async (event) => {
      run2.push(event.id);
      if (event.id === second[1] && !failed) {
        failed = true;
        throw new Error('handler failed once');
      }
      return Promise.resolve();
    });
    await run2.until(4);
    await waitForCheckpoint(name, second[1]!);
    await sub2.stop();
    // The failed batch [4, 5] came again as a whole; 1-3 (acknowledged) never did.
    expect(run2.seen).toEqual([second[0], second[1], second[0], second[1]]);
    expect(errors.map((e) => (e as Error).message)).toEqual(['handler failed once']);

    const third = await appendAliases(ws, model, [6]);
    const run3 = collector<string>();
    const sub3 = subscribe({ postgres: database.url }, opts);
    await sub3.start(async (event) => Promise.resolve(run3.push(event.id)));
    await run3.until(1);
    await waitForCheckpoint(name, third[0]!);
    await sub3.stop();
    expect(run3.seen).toEqual(third);
  });

  it('loses nothing under concurrent writers (reads below the visibility boundary)', async () => {
    const ws = randomWorkspaceId();
    const got = collector<ConsumedEvent<'ModelAliasSet'>>();
    const sub = subscribe(
      { postgres: database.url },
      {
        name: consumerName('concurrent'),
        workspaceId: ws,
        types: ['ModelAliasSet'],
        batchSize: 7,
        idleMs: 5,
      },
    );
    await sub.start(async (event) => Promise.resolve(got.push(event)));
    const models = Array.from({ length: 8 }, () => newEntityId());
    const appended = await Promise.all(
      models.map(async (model) => {
        const ids: string[] = [];
        for (let v = 1; v <= 20; v++) ids.push(...(await appendAliases(ws, model, [v])));
        return ids;
      }),
    );
    const all = appended.flat();
    await got.until(all.length);
    await sub.stop();
    expect(new Set(got.seen.map((e) => e.id))).toEqual(new Set(all));
    expect(got.seen).toHaveLength(all.length);
    for (const model of models) {
      const versions = got.seen
        .filter((e) => e.data.modelId === model)
        .map((e) => e.streamPosition);
      expect(versions).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    }
  });

  it('iterates; breaking out leaves the current event unacknowledged; startAt end skips history', async () => {
    const ws = randomWorkspaceId();
    const model = newEntityId();
    const name = consumerName('iterate');
    const ids = await appendAliases(ws, model, [1, 2, 3]);
    // One event per batch: the checkpoint moves per batch, so per event here.
    const opts = {
      name,
      workspaceId: ws,
      types: ['ModelAliasSet'] as const,
      idleMs: 20,
      batchSize: 1,
    };
    const seen: number[] = [];
    for await (const event of subscribe({ postgres: database.url }, opts)) {
      seen.push(event.data.version);
      if (event.data.version === 2) break;
    }
    expect(seen).toEqual([1, 2]);
    // Version 1 was acknowledged (the loop asked for the next); version 2 was not.
    const again: number[] = [];
    for await (const event of subscribe({ postgres: database.url }, opts)) {
      again.push(event.data.version);
      if (event.data.version === 3) break;
    }
    expect(again).toEqual([2, 3]);

    const late = subscribe(
      { postgres: database.url },
      { ...opts, name: consumerName('late'), startAt: 'end' },
    );
    const lateSeen = collector<string>();
    await late.start(async (event) => Promise.resolve(lateSeen.push(event.id)));
    const fresh = await appendAliases(ws, model, [4]);
    await lateSeen.until(1);
    await late.stop();
    expect(lateSeen.seen).toEqual(fresh);
    expect(ids).toHaveLength(3);
  });

  it('refuses a changed filter under the same name, unknown types and bad names', async () => {
    const name = consumerName('filter');
    const ws = randomWorkspaceId();
    const sub = subscribe(
      { postgres: database.url },
      { name, workspaceId: ws, types: ['ModelAliasSet'] },
    );
    await sub.start(() => Promise.resolve());
    await sub.stop();
    const changed = subscribe(
      { postgres: database.url },
      { name, workspaceId: ws, types: ['ModelAliasSet', 'ModelVersionStageTransitioned'] },
    );
    await expect(changed.start(() => Promise.resolve())).rejects.toMatchObject({
      name: 'ConsumerConfigError',
      code: 'FAILED_PRECONDITION',
    });
    expect(() =>
      subscribe({ postgres: database.url }, { name, types: ['NoSuchEvent' as 'ModelAliasSet'] }),
    ).toThrow(ConsumerConfigError);
    expect(() => subscribe({ postgres: database.url }, { name: 'bad name' })).toThrow(
      /consumer name/,
    );
  });
});
