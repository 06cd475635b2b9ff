import { sql, type Kysely, type Transaction } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  experimentStreamId,
  newEntityId,
  runStreamId,
  type NewEvent,
  type StoredEventEnvelope,
} from '@cairn/events';
import {
  aMetadata,
  aRunDeleted,
  aRunMetricsLogged,
  aRunParamsLogged,
  aRunRestored,
  aRunStarted,
  aRunStatusChanged,
  anExperimentCreated,
  anExperimentRenamed,
  appendEvents,
  createTestDatabase,
  randomWorkspaceId,
  type TestDatabase,
} from '@cairn/testing';
import {
  LOG_START,
  StreamVersionConflictError,
  UniqueKeyTakenError,
  appendInTransaction,
  appendToExistingStreams,
  appendToStream,
  compareLogPositions,
  createDb,
  readAllAfter,
  readStream,
  type AppendRequest,
  type AppendResult,
  type DB,
  type DbHandle,
  type LogPosition,
} from '../src/index.ts';

const NAME_SCOPE = 'experiment-name';

let testDb: TestDatabase;
let handle: DbHandle;
let db: Kysely<DB>;

beforeAll(async () => {
  testDb = await createTestDatabase();
  // 16 writers + readers + the concurrency tests' open transactions, each on its own connection.
  handle = createDb(testDb.url, { maxConnections: 30, applicationName: 'event-store-int-test' });
  db = handle.db;
});

afterAll(async () => {
  await handle?.destroy();
  await testDb?.drop();
});

/** A promise plus its resolver: lets two transactions line up before either one writes. */
function barrier(parties: number): () => Promise<void> {
  let arrived = 0;
  let release!: () => void;
  const all = new Promise<void>((resolve) => (release = resolve));
  return () => {
    arrived += 1;
    if (arrived === parties) release();
    return all;
  };
}

/**
 * Appends in an explicit transaction that is already open (and has run a query) when `ready`
 * resolves: both contenders of a race hold a transaction on their own connection before either
 * touches the stream.
 */
function appendWhenReady(
  request: AppendRequest,
  ready: () => Promise<void>,
): Promise<AppendResult> {
  return db.transaction().execute(async (trx) => {
    await sql`SELECT 1`.execute(trx);
    await ready();
    return appendInTransaction(trx, request);
  });
}

function settle<T>(results: PromiseSettledResult<T>[]): { won: T[]; lost: unknown[] } {
  return {
    won: results
      .filter((r): r is PromiseFulfilledResult<T> => r.status === 'fulfilled')
      .map((r) => r.value),
    lost: results
      .filter((r): r is PromiseRejectedResult => r.status === 'rejected')
      .map((r) => r.reason as unknown),
  };
}

function ids(events: readonly { id: string }[]): string[] {
  return events.map((e) => e.id);
}

describe('appendToStream / readStream', () => {
  it('appends to a new stream, then at the expected version, and reads it back in order', async () => {
    const ws = randomWorkspaceId();
    const created = anExperimentCreated({
      name: 'baseline',
      tags: [{ key: 'team', value: 'nlp' }],
    });
    const experimentId = created.data.experimentId;
    const streamId = experimentStreamId(experimentId);
    const metadata = aMetadata({ actor: 'user:ada', causationId: 'cmd-1' });

    const first = await appendToStream(db, {
      workspaceId: ws,
      streamId,
      streamType: 'experiment',
      expectedVersion: 'no_stream',
      events: [created],
      metadata,
    });
    expect(first.version).toBe(1);
    expect(first.events.map((e) => e.streamPosition)).toEqual([1]);

    const renamed = anExperimentRenamed({ experimentId, name: 'baseline-2' });
    const renamedAgain = anExperimentRenamed({ experimentId, name: 'baseline-3' });
    const second = await appendToStream(db, {
      workspaceId: ws,
      streamId,
      streamType: 'experiment',
      expectedVersion: 1,
      events: [renamed, renamedAgain],
      metadata: aMetadata(),
    });
    expect(second.version).toBe(3);
    expect(second.events.map((e) => e.streamPosition)).toEqual([2, 3]);
    // One append, one transaction; global positions grow with the stream positions.
    expect(second.events[0]!.transactionId).toBe(second.events[1]!.transactionId);
    expect(BigInt(second.events[0]!.transactionId)).toBeGreaterThan(
      BigInt(first.events[0]!.transactionId),
    );
    expect(second.events[0]!.globalPosition).toBeGreaterThan(first.events[0]!.globalPosition);
    expect(second.events[1]!.globalPosition).toBeGreaterThan(second.events[0]!.globalPosition);

    const read = await readStream(db, ws, streamId);
    expect(read.version).toBe(3);
    expect(ids(read.events)).toEqual([created.id, renamed.id, renamedAgain.id]);
    expect(read.events.map((e) => e.type)).toEqual([
      'ExperimentCreated',
      'ExperimentRenamed',
      'ExperimentRenamed',
    ]);
    expect(read.events.map((e) => e.streamPosition)).toEqual([1, 2, 3]);
    const stored = read.events[0]!;
    expect(stored).toEqual({
      id: created.id,
      type: 'ExperimentCreated',
      schemaVersion: 2,
      workspaceId: ws,
      streamId,
      streamPosition: 1,
      globalPosition: first.events[0]!.globalPosition,
      transactionId: first.events[0]!.transactionId,
      occurredAt: created.occurredAt,
      recordedAt: first.events[0]!.recordedAt,
      actor: 'user:ada',
      correlationId: metadata.correlationId,
      causationId: 'cmd-1',
      data: created.data,
    });
    // What the append returned is what a reader gets.
    expect(read.events).toEqual([...first.events, ...second.events]);
  });

  it('reads an unknown stream as version 0 and can leave out high-volume types', async () => {
    const ws = randomWorkspaceId();
    expect(await readStream(db, ws, runStreamId(newEntityId()))).toEqual({
      version: 0,
      events: [],
    });

    const started = aRunStarted();
    const runId = started.data.runId;
    const events = [
      started,
      aRunMetricsLogged({ runId, metrics: [{ value: 1 }, { value: 2 }] }),
      aRunParamsLogged({ runId }),
      aRunMetricsLogged({ runId }),
      aRunStatusChanged({ runId, status: 'FINISHED' }),
    ];
    await appendEvents(db, ws, runStreamId(runId), 'run', events, 'no_stream');
    const slim = await readStream(db, ws, runStreamId(runId), {
      excludeTypes: ['RunMetricsLogged'],
    });
    expect(slim.version).toBe(5);
    expect(slim.events.map((e) => [e.type, e.streamPosition])).toEqual([
      ['RunStarted', 1],
      ['RunParamsLogged', 3],
      ['RunStatusChanged', 5],
    ]);
  });

  it('gives the events of one append global positions in stream order (one statement)', async () => {
    const ws = randomWorkspaceId();
    const started = aRunStarted();
    const runId = started.data.runId;
    const batches = Array.from({ length: 12 }, (_, i) =>
      aRunMetricsLogged({ runId, metrics: [{ step: i }] }),
    );
    const result = await appendToStream(db, {
      workspaceId: ws,
      streamId: runStreamId(runId),
      streamType: 'run',
      expectedVersion: 'any',
      events: [started, ...batches],
      metadata: aMetadata(),
    });
    expect(result.version).toBe(13);
    expect(result.events.map((e) => e.id)).toEqual([started.id, ...batches.map((b) => b.id)]);
    expect(result.events.map((e) => e.streamPosition)).toEqual(
      Array.from({ length: 13 }, (_, i) => i + 1),
    );
    const globals = result.events.map((e) => e.globalPosition);
    expect(globals).toEqual([...globals].sort((a, b) => a - b));
    expect(new Set(result.events.map((e) => e.transactionId)).size).toBe(1);
    const read = await readStream(db, ws, runStreamId(runId));
    expect(read.events.map((e) => [e.id, e.globalPosition])).toEqual(
      result.events.map((e) => [e.id, e.globalPosition]),
    );
  });

  it('stores metric values NaN and ±Infinity losslessly', async () => {
    const ws = randomWorkspaceId();
    const started = aRunStarted();
    const runId = started.data.runId;
    const metrics = aRunMetricsLogged({
      runId,
      metrics: [
        { value: Number.NaN },
        { value: Number.POSITIVE_INFINITY },
        { value: Number.NEGATIVE_INFINITY },
        { value: 0.1 },
      ],
    });
    await appendEvents(db, ws, runStreamId(runId), 'run', [started, metrics], 'no_stream');
    const read = await readStream(db, ws, runStreamId(runId));
    expect((read.events[1]!.data as { value: unknown[] }).value).toEqual([
      'NaN',
      'Infinity',
      '-Infinity',
      0.1,
    ]);
  });
});

describe('optimistic concurrency', () => {
  async function aStreamAtVersion3(
    ws: string,
  ): Promise<{ streamId: string; experimentId: string; before: string[] }> {
    const created = anExperimentCreated();
    const experimentId = created.data.experimentId;
    const streamId = experimentStreamId(experimentId);
    const events = [
      created,
      anExperimentRenamed({ experimentId }),
      anExperimentRenamed({ experimentId }),
    ];
    await appendEvents(db, ws, streamId, 'experiment', events, 'no_stream');
    return { streamId, experimentId, before: ids(events) };
  }

  it.each([
    ['behind', 2],
    ['ahead', 4],
    ['no_stream on an existing stream', 'no_stream'],
  ] as const)(
    'refuses an expected version that is %s with StreamVersionConflictError',
    async (_label, expected) => {
      const ws = randomWorkspaceId();
      const { streamId, experimentId, before } = await aStreamAtVersion3(ws);
      const attempt = appendToStream(db, {
        workspaceId: ws,
        streamId,
        streamType: 'experiment',
        expectedVersion: expected,
        events: [anExperimentRenamed({ experimentId })],
        metadata: aMetadata(),
      });
      await expect(attempt).rejects.toBeInstanceOf(StreamVersionConflictError);
      await expect(attempt).rejects.toMatchObject({
        name: 'StreamVersionConflictError',
        streamId,
        expectedVersion: expected,
      });
      const read = await readStream(db, ws, streamId);
      expect(read.version).toBe(3);
      expect(ids(read.events)).toEqual(before);
    },
  );

  it('refuses a numeric expected version on a stream that does not exist', async () => {
    const ws = randomWorkspaceId();
    const created = anExperimentCreated();
    const streamId = experimentStreamId(created.data.experimentId);
    await expect(
      appendToStream(db, {
        workspaceId: ws,
        streamId,
        streamType: 'experiment',
        expectedVersion: 0,
        events: [created],
        metadata: aMetadata(),
      }),
    ).rejects.toBeInstanceOf(StreamVersionConflictError);
    expect(await readStream(db, ws, streamId)).toEqual({ version: 0, events: [] });
  });

  it("appends at whatever version with 'any'", async () => {
    const ws = randomWorkspaceId();
    const { streamId, experimentId } = await aStreamAtVersion3(ws);
    const result = await appendToStream(db, {
      workspaceId: ws,
      streamId,
      streamType: 'experiment',
      expectedVersion: 'any',
      events: [anExperimentRenamed({ experimentId })],
      metadata: aMetadata(),
    });
    expect(result.version).toBe(4);
    expect(result.events[0]!.streamPosition).toBe(4);
  });

  it("'exists' appends at whatever version, refuses a missing stream without creating it, and honours unlessLatest", async () => {
    const ws = randomWorkspaceId();
    const started = aRunStarted();
    const runId = started.data.runId;
    const streamId = runStreamId(runId);
    const metrics = (): AppendRequest => ({
      workspaceId: ws,
      streamId,
      streamType: 'run',
      expectedVersion: 'exists',
      events: [aRunMetricsLogged({ runId })],
      metadata: aMetadata(),
      unlessLatest: { among: ['RunDeleted', 'RunRestored'], refused: 'RunDeleted' },
    });
    await expect(appendToStream(db, metrics())).rejects.toBeInstanceOf(StreamVersionConflictError);
    expect(await readStream(db, ws, streamId)).toEqual({ version: 0, events: [] });

    await appendEvents(db, ws, streamId, 'run', [started], 'no_stream');
    expect((await appendToStream(db, metrics())).version).toBe(2);
    await appendEvents(db, ws, streamId, 'run', [aRunDeleted({ runId })], 2);
    await expect(appendToStream(db, metrics())).rejects.toBeInstanceOf(StreamVersionConflictError);
    await appendEvents(db, ws, streamId, 'run', [aRunRestored({ runId })], 3);
    expect((await appendToStream(db, metrics())).version).toBe(5);
    await appendEvents(db, ws, streamId, 'run', [aRunDeleted({ runId })], 5);
    await expect(appendToStream(db, metrics())).rejects.toBeInstanceOf(StreamVersionConflictError);
    const read = await readStream(db, ws, streamId);
    expect(read.version).toBe(6);
    expect(read.events.map((e) => e.type)).toEqual([
      'RunStarted',
      'RunMetricsLogged',
      'RunDeleted',
      'RunRestored',
      'RunMetricsLogged',
      'RunDeleted',
    ]);
  });

  it('two concurrent appends at the same expected version: exactly one wins, 20 times over', async () => {
    const ws = randomWorkspaceId();
    for (let round = 0; round < 20; round += 1) {
      const { streamId, experimentId, before } = await aStreamAtVersion3(ws);
      const contenders = [
        anExperimentRenamed({ experimentId, name: 'a' }),
        anExperimentRenamed({ experimentId, name: 'b' }),
      ];
      const ready = barrier(2);
      // Alternate between lined-up explicit transactions and plain appendToStream calls.
      const results = await Promise.allSettled(
        contenders.map((event) => {
          const request: AppendRequest = {
            workspaceId: ws,
            streamId,
            streamType: 'experiment',
            expectedVersion: 3,
            events: [event],
            metadata: aMetadata(),
          };
          return round % 2 === 0 ? appendWhenReady(request, ready) : appendToStream(db, request);
        }),
      );
      const { won, lost } = settle(results);
      expect(won, `round ${round}`).toHaveLength(1);
      expect(lost, `round ${round}`).toHaveLength(1);
      expect(lost[0]).toBeInstanceOf(StreamVersionConflictError);
      expect(lost[0]).toMatchObject({ streamId, expectedVersion: 3 });
      const winner = won[0]!;
      expect(winner.version).toBe(4);
      const read = await readStream(db, ws, streamId);
      expect(read.version).toBe(4);
      expect(ids(read.events)).toEqual([...before, winner.events[0]!.id]);
    }
  });

  it("two concurrent creations of one stream ('no_stream'): exactly one wins, 20 times over", async () => {
    const ws = randomWorkspaceId();
    for (let round = 0; round < 20; round += 1) {
      const experimentId = newEntityId();
      const streamId = experimentStreamId(experimentId);
      const ready = barrier(2);
      const contenders = [
        anExperimentCreated({ experimentId, name: 'x' }),
        anExperimentCreated({ experimentId, name: 'y' }),
      ];
      const results = await Promise.allSettled(
        contenders.map((event) =>
          appendWhenReady(
            {
              workspaceId: ws,
              streamId,
              streamType: 'experiment',
              expectedVersion: 'no_stream',
              events: [event],
              metadata: aMetadata(),
            },
            ready,
          ),
        ),
      );
      const { won, lost } = settle(results);
      expect(won, `round ${round}`).toHaveLength(1);
      expect(lost[0]).toBeInstanceOf(StreamVersionConflictError);
      const read = await readStream(db, ws, streamId);
      expect(read.version).toBe(1);
      expect(ids(read.events)).toEqual([won[0]!.events[0]!.id]);
    }
  });
});

describe('appendToExistingStreams (group commit)', () => {
  const guard = { among: ['RunDeleted', 'RunRestored'], refused: 'RunDeleted' } as const;
  const metricsTo = (ws: string, runId: string, n = 1): AppendRequest => ({
    workspaceId: ws,
    streamId: runStreamId(runId),
    streamType: 'run',
    expectedVersion: 'exists',
    events: Array.from({ length: n }, () => aRunMetricsLogged({ runId })),
    metadata: aMetadata(),
    unlessLatest: guard,
  });
  async function aRun(ws: string, deleted = false): Promise<string> {
    const started = aRunStarted();
    const runId = started.data.runId;
    const events: NewEvent[] = [started];
    if (deleted) events.push(aRunDeleted({ runId }));
    await appendEvents(db, ws, runStreamId(runId), 'run', events, 'no_stream');
    return runId;
  }

  it('appends each request in one statement; a missing or refused stream gets null and nothing of it is written', async () => {
    const ws = randomWorkspaceId();
    const [a, b, gone] = [await aRun(ws), await aRun(ws), await aRun(ws, true)];
    const missing = newEntityId();
    const results = await appendToExistingStreams(db, [
      metricsTo(ws, a, 2),
      metricsTo(ws, missing),
      metricsTo(ws, gone),
      metricsTo(ws, b),
    ]);
    expect(results.map((r) => r?.version ?? null)).toEqual([3, null, null, 2]);
    expect(new Set(results.flatMap((r) => r?.events.map((e) => e.transactionId) ?? [])).size).toBe(
      1,
    );
    expect(results[0]!.events.map((e) => e.streamPosition)).toEqual([2, 3]);
    expect((await readStream(db, ws, runStreamId(gone))).version).toBe(2);
    expect((await readStream(db, ws, runStreamId(missing))).version).toBe(0);
    const read = await readStream(db, ws, runStreamId(a));
    expect(ids(read.events)).toEqual([read.events[0]!.id, ...ids(results[0]!.events)]);
  });

  it('checks a numeric expected version per request: the stale one gets null, the others append', async () => {
    const ws = randomWorkspaceId();
    const [a, b] = [await aRun(ws), await aRun(ws)];
    const at = (runId: string, version: number): AppendRequest => ({
      workspaceId: ws,
      streamId: runStreamId(runId),
      streamType: 'run',
      expectedVersion: version,
      events: [aRunParamsLogged({ runId })],
      metadata: aMetadata(),
    });
    const results = await appendToExistingStreams(db, [at(a, 1), at(b, 2)]);
    expect(results.map((r) => r?.version ?? null)).toEqual([2, null]);
    expect((await readStream(db, ws, runStreamId(b))).version).toBe(1);
  });

  it('refuses a stream twice in a group, and a failing group writes nothing', async () => {
    const ws = randomWorkspaceId();
    const [a, b] = [await aRun(ws), await aRun(ws)];
    await expect(appendToExistingStreams(db, [metricsTo(ws, a), metricsTo(ws, a)])).rejects.toThrow(
      /twice/,
    );
    const first = metricsTo(ws, a);
    await appendToStream(db, first);
    // The same event id again (an idempotent retry) fails the whole statement.
    await expect(appendToExistingStreams(db, [metricsTo(ws, b), first])).rejects.toMatchObject({
      code: '23505',
    });
    expect((await readStream(db, ws, runStreamId(b))).version).toBe(1);
  });

  it('groups over the same streams in opposite orders, 20 at once: no deadlock, every point once', async () => {
    const ws = randomWorkspaceId();
    const runs = await Promise.all(Array.from({ length: 6 }, () => aRun(ws)));
    const groups = Array.from({ length: 20 }, (_, g) =>
      (g % 2 === 0 ? runs : [...runs].reverse()).map((r) => metricsTo(ws, r)),
    );
    const results = await Promise.all(groups.map((g) => appendToExistingStreams(db, g)));
    expect(results.flat().every((r) => r !== null)).toBe(true);
    for (const runId of runs) {
      const read = await readStream(db, ws, runStreamId(runId));
      expect(read.version).toBe(21);
      expect(read.events.map((e) => e.streamPosition)).toEqual(
        Array.from({ length: 21 }, (_, i) => i + 1),
      );
    }
  });
});

describe('unique keys', () => {
  function createWithName(ws: string, name: string, experimentId = newEntityId()): AppendRequest {
    return {
      workspaceId: ws,
      streamId: experimentStreamId(experimentId),
      streamType: 'experiment',
      expectedVersion: 'no_stream',
      events: [anExperimentCreated({ experimentId, name })],
      metadata: aMetadata(),
      claimKeys: [{ scope: NAME_SCOPE, key: name }],
    };
  }

  async function holderOf(ws: string, key: string): Promise<string[]> {
    const rows = await db
      .selectFrom('unique_keys')
      .select('stream_id')
      .where('workspace_id', '=', ws)
      .where('scope', '=', NAME_SCOPE)
      .where('key', '=', key)
      .execute();
    return rows.map((r) => r.stream_id);
  }

  it('two concurrent claims of one name from different streams: exactly one succeeds, 20 times over', async () => {
    const ws = randomWorkspaceId();
    for (let round = 0; round < 20; round += 1) {
      const name = `sweep-${round}`;
      const requests = [createWithName(ws, name), createWithName(ws, name)];
      const ready = barrier(2);
      const results = await Promise.allSettled(
        requests.map((r) => (round % 2 === 0 ? appendWhenReady(r, ready) : appendToStream(db, r))),
      );
      const { won, lost } = settle(results);
      expect(won, `round ${round}`).toHaveLength(1);
      expect(lost[0]).toBeInstanceOf(UniqueKeyTakenError);
      expect(lost[0]).toMatchObject({ name: 'UniqueKeyTakenError', scope: NAME_SCOPE, key: name });
      const winnerStream = won[0]!.events[0]!.streamId;
      const loserStream = requests.find((r) => r.streamId !== winnerStream)!.streamId;
      expect(await holderOf(ws, name)).toEqual([winnerStream]);
      // The loser's whole append rolled back: no stream, no events.
      expect(await readStream(db, ws, loserStream)).toEqual({ version: 0, events: [] });
      expect((await readStream(db, ws, winnerStream)).version).toBe(1);
    }
  });

  it('a rename releases the old name for others and a stream may re-claim its own key', async () => {
    const ws = randomWorkspaceId();
    const first = createWithName(ws, 'alpha');
    await appendToStream(db, first);
    const experimentId = first.streamId.replace('experiment-', '');

    await expect(appendToStream(db, createWithName(ws, 'alpha'))).rejects.toBeInstanceOf(
      UniqueKeyTakenError,
    );

    // Re-claiming a key the stream already holds is not a conflict.
    await appendToStream(db, {
      workspaceId: ws,
      streamId: first.streamId,
      streamType: 'experiment',
      expectedVersion: 1,
      events: [anExperimentRenamed({ experimentId, name: 'alpha' })],
      metadata: aMetadata(),
      claimKeys: [{ scope: NAME_SCOPE, key: 'alpha' }],
    });
    await appendToStream(db, {
      workspaceId: ws,
      streamId: first.streamId,
      streamType: 'experiment',
      expectedVersion: 2,
      events: [anExperimentRenamed({ experimentId, name: 'beta' })],
      metadata: aMetadata(),
      releaseKeys: [{ scope: NAME_SCOPE, key: 'alpha' }],
      claimKeys: [{ scope: NAME_SCOPE, key: 'beta' }],
    });
    expect(await holderOf(ws, 'beta')).toEqual([first.streamId]);
    expect(await holderOf(ws, 'alpha')).toEqual([]);

    const second = createWithName(ws, 'alpha');
    await appendToStream(db, second);
    expect(await holderOf(ws, 'alpha')).toEqual([second.streamId]);
    await expect(appendToStream(db, createWithName(ws, 'beta'))).rejects.toMatchObject({
      name: 'UniqueKeyTakenError',
      key: 'beta',
    });
  });

  it('a failed claim rolls back the stream version bump of an existing stream', async () => {
    const ws = randomWorkspaceId();
    await appendToStream(db, createWithName(ws, 'taken'));
    const mine = createWithName(ws, 'mine');
    await appendToStream(db, mine);
    const experimentId = mine.streamId.replace('experiment-', '');
    await expect(
      appendToStream(db, {
        workspaceId: ws,
        streamId: mine.streamId,
        streamType: 'experiment',
        expectedVersion: 1,
        events: [anExperimentRenamed({ experimentId, name: 'taken' })],
        metadata: aMetadata(),
        releaseKeys: [{ scope: NAME_SCOPE, key: 'mine' }],
        claimKeys: [{ scope: NAME_SCOPE, key: 'taken' }],
      }),
    ).rejects.toBeInstanceOf(UniqueKeyTakenError);
    const read = await readStream(db, ws, mine.streamId);
    expect(read.version).toBe(1);
    expect(read.events).toHaveLength(1);
    // The release in the failed append rolled back too.
    expect(await holderOf(ws, 'mine')).toEqual([mine.streamId]);
  });

  it('isolates names by workspace: the same name in two workspaces is fine', async () => {
    const ws1 = randomWorkspaceId();
    const ws2 = randomWorkspaceId();
    const a = createWithName(ws1, 'shared-name');
    const b = createWithName(ws2, 'shared-name');
    const [ra, rb] = await Promise.all([appendToStream(db, a), appendToStream(db, b)]);
    expect(ra.version).toBe(1);
    expect(rb.version).toBe(1);
    expect(await holderOf(ws1, 'shared-name')).toEqual([a.streamId]);
    expect(await holderOf(ws2, 'shared-name')).toEqual([b.streamId]);
    // ...while inside each workspace the name stays taken.
    await expect(appendToStream(db, createWithName(ws1, 'shared-name'))).rejects.toBeInstanceOf(
      UniqueKeyTakenError,
    );
    await expect(appendToStream(db, createWithName(ws2, 'shared-name'))).rejects.toBeInstanceOf(
      UniqueKeyTakenError,
    );
  });

  it('isolates streams by workspace: one stream id in two workspaces are two streams', async () => {
    const ws1 = randomWorkspaceId();
    const ws2 = randomWorkspaceId();
    const experimentId = newEntityId();
    const streamId = experimentStreamId(experimentId);
    const e1 = anExperimentCreated({ experimentId, name: 'one' });
    const e2 = anExperimentCreated({ experimentId, name: 'two' });
    await appendEvents(db, ws1, streamId, 'experiment', [e1], 'no_stream');
    await appendEvents(db, ws2, streamId, 'experiment', [e2], 'no_stream');
    expect(ids((await readStream(db, ws1, streamId)).events)).toEqual([e1.id]);
    expect(ids((await readStream(db, ws2, streamId)).events)).toEqual([e2.id]);
  });
});

describe('readAllAfter: tailing the log under concurrent writers', () => {
  /** Events of the given workspaces, read with a checkpoint that advances to the last event seen. */
  class CheckpointReader {
    position: LogPosition = LOG_START;
    readonly seen: StoredEventEnvelope[] = [];
    /** Events that came back at or behind the position before them: the promised order broken. */
    readonly outOfOrder: string[] = [];
    reads = 0;

    constructor(
      private readonly workspaces: ReadonlySet<string>,
      private readonly batchSize = 100,
    ) {}

    /** One read; returns how many events it got. Records any break of the promised order. */
    async readOnce(): Promise<number> {
      const batch = await readAllAfter(db, this.position, this.batchSize);
      this.reads += 1;
      let previous = this.position;
      for (const event of batch) {
        const at = { transactionId: event.transactionId, globalPosition: event.globalPosition };
        if (compareLogPositions(at, previous) <= 0) {
          this.outOfOrder.push(
            `(${at.transactionId}, ${at.globalPosition}) after (${previous.transactionId}, ${previous.globalPosition})`,
          );
        }
        previous = at;
        if (this.workspaces.has(event.workspaceId)) this.seen.push(event);
      }
      this.position = previous;
      return batch.length;
    }
  }

  /** The reader may not see a transaction until every older one has ended (cluster-wide). */
  async function waitUntilVisible(maxTransactionId: string): Promise<void> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const { rows } = await sql<{
        xmin: string;
      }>`SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin`.execute(db);
      if (BigInt(rows[0]!.xmin) > BigInt(maxTransactionId)) return;
      if (Date.now() > deadline)
        throw new Error(`xmin ${rows[0]!.xmin} never passed ${maxTransactionId}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async function maxTransactionIdOf(workspaces: readonly string[]): Promise<string> {
    const { rows } = await sql<{ tx: string }>`
      SELECT max(transaction_id)::text AS tx FROM events WHERE workspace_id = ANY(${workspaces}::text[])`.execute(
      db,
    );
    return rows[0]!.tx;
  }

  it('orders by transaction id as a number, not as text (xid 9 before xid 10), so a small batch skips nothing', async () => {
    // Transaction ids gain a digit as a cluster ages (999 → 1000 → ... → 10000): stand-ins 8..11
    // (ended long ago, below any snapshot's xmin) put the boundary into a fresh database.
    const own = await createTestDatabase();
    const { db: fresh, destroy } = createDb(own.url, {
      applicationName: 'event-store-int-test-xid',
    });
    try {
      const ws = randomWorkspaceId();
      const inserted: { id: string; tx: string }[] = [];
      for (const tx of ['9', '10', '8', '11']) {
        const event = aRunStarted();
        await sql`
          INSERT INTO events (transaction_id, event_id, workspace_id, stream_id, stream_position, type,
                              schema_version, data, actor, correlation_id, causation_id, occurred_at)
          VALUES (${tx}::xid8, ${event.id}::uuid, ${ws}, ${runStreamId(event.data.runId)}, 1, ${event.type},
                  ${event.schemaVersion}, ${JSON.stringify(event.data)}::jsonb, 'user:test', 'c', NULL, now())`.execute(
          fresh,
        );
        inserted.push({ id: event.id, tx });
      }
      const idOfTx = (tx: string) => inserted.find((e) => e.tx === tx)!.id;
      const expected = ['8', '9', '10', '11'].map(idOfTx);

      const all = await readAllAfter(fresh, LOG_START, 100);
      expect(all.map((e) => e.transactionId)).toEqual(['8', '9', '10', '11']);
      expect(ids(all)).toEqual(expected);

      // A tailer with batches of one, advancing its checkpoint to the last event it got.
      let position = LOG_START;
      const tailed: string[] = [];
      for (let i = 0; i < 10; i += 1) {
        const batch = await readAllAfter(fresh, position, 1);
        const last = batch.at(-1);
        if (!last) break;
        tailed.push(...ids(batch));
        position = { transactionId: last.transactionId, globalPosition: last.globalPosition };
      }
      expect(tailed).toEqual(expected);
    } finally {
      await destroy();
      await own.drop();
    }
  });

  it('a naive "position > checkpoint" reader skips an event that commits late; readAllAfter does not', async () => {
    const ws = randomWorkspaceId();
    const slow = aRunStarted();
    const fast = aRunStarted();
    const reader = new CheckpointReader(new Set([ws]));
    // Bring the reader up to the end of the log first.
    while ((await reader.readOnce()) > 0);
    const naiveStart = reader.seen.length;
    let naivePosition =
      (await sql<{ p: number | null }>`SELECT max(global_position) AS p FROM events`.execute(db))
        .rows[0]!.p ?? 0;
    const naiveSeen: string[] = [];
    const naiveRead = async () => {
      const rows = await db
        .selectFrom('events')
        .select(['event_id', 'global_position', 'workspace_id'])
        .where('global_position', '>', naivePosition)
        .orderBy('global_position')
        .execute();
      for (const r of rows) {
        if (r.workspace_id === ws) naiveSeen.push(r.event_id);
        naivePosition = r.global_position;
      }
    };

    let releaseSlow!: () => void;
    const slowMayCommit = new Promise<void>((resolve) => (releaseSlow = resolve));
    let slowAppended!: () => void;
    const slowHasAppended = new Promise<void>((resolve) => (slowAppended = resolve));
    const slowTx = db.transaction().execute(async (trx) => {
      const result = await appendInTransaction(trx, {
        workspaceId: ws,
        streamId: runStreamId(slow.data.runId),
        streamType: 'run',
        expectedVersion: 'no_stream',
        events: [slow],
        metadata: aMetadata(),
      });
      slowAppended();
      await slowMayCommit;
      return result;
    });
    await slowHasAppended;
    const fastResult = await appendEvents(
      db,
      ws,
      runStreamId(fast.data.runId),
      'run',
      [fast],
      'no_stream',
    );

    // The fast append committed with a larger global position while the slow one is still open.
    await naiveRead();
    expect(await reader.readOnce()).toBe(0); // below the boundary: nothing yet, not even `fast`
    releaseSlow();
    const slowResult = await slowTx;
    expect(slowResult.events[0]!.globalPosition).toBeLessThan(fastResult.events[0]!.globalPosition);
    await naiveRead();
    await waitUntilVisible(await maxTransactionIdOf([ws]));
    while ((await reader.readOnce()) > 0);

    expect(naiveSeen).toEqual([fast.id]); // the naive reader lost `slow` for good
    expect(ids(reader.seen.slice(naiveStart)).sort()).toEqual([slow.id, fast.id].sort());
  });

  it('16 concurrent writers, ~3,000 events, some transactions held open: the tailing reader sees each event exactly once', async () => {
    const WRITERS = 16;
    const EVENTS_PER_WRITER = 190;
    const workspaces = [randomWorkspaceId(), randomWorkspaceId()];
    const reader = new CheckpointReader(new Set(workspaces));
    while ((await reader.readOnce()) > 0); // start from the current end of the log
    const before = reader.seen.length;

    // A naive reader running alongside, to show that the writers really commit out of order.
    let naivePosition =
      (await sql<{ p: number | null }>`SELECT max(global_position) AS p FROM events`.execute(db))
        .rows[0]!.p ?? 0;
    const naiveSeen = new Set<string>();
    const naiveRead = async () => {
      const rows = await db
        .selectFrom('events')
        .select(['event_id', 'global_position', 'workspace_id'])
        .where('global_position', '>', naivePosition)
        .orderBy('global_position')
        .limit(500)
        .execute();
      for (const r of rows) {
        if (workspaces.includes(r.workspace_id)) naiveSeen.add(r.event_id);
        naivePosition = r.global_position;
      }
    };

    const appended: string[] = [];
    let writersDone = false;

    async function writer(w: number): Promise<void> {
      const ws = workspaces[w % workspaces.length]!;
      // Each writer owns its streams and knows their versions: any conflict would be a failure.
      const streams = Array.from({ length: 8 }, () => ({ runId: newEntityId(), version: 0 }));
      let written = 0;
      let i = 0;
      while (written < EVENTS_PER_WRITER) {
        const stream = streams[(i * 7 + w) % streams.length]!;
        const size = Math.min(EVENTS_PER_WRITER - written, 1 + ((i + w) % 4));
        const events: NewEvent[] = [];
        if (stream.version === 0) events.push(aRunStarted({ runId: stream.runId }));
        while (events.length < size) {
          events.push(aRunMetricsLogged({ runId: stream.runId, metrics: [{ value: i, step: i }] }));
        }
        const request: AppendRequest = {
          workspaceId: ws,
          streamId: runStreamId(stream.runId),
          streamType: 'run',
          expectedVersion: stream.version === 0 ? 'no_stream' : stream.version,
          events,
          metadata: aMetadata({ actor: `writer:${w}` }),
        };
        const style = (w + i) % 4;
        let result: AppendResult;
        if (style === 0) {
          result = await appendToStream(db, request);
        } else {
          result = await db.transaction().execute(async (trx: Transaction<DB>) => {
            // style 2: take a transaction id early, then let others overtake it
            if (style === 2) await sql`SELECT pg_current_xact_id()`.execute(trx);
            if (style === 2) await sql`SELECT pg_sleep(0.003)`.execute(trx);
            const r = await appendInTransaction(trx, request);
            // Hold the transaction open after taking global positions: later positions commit first.
            await sql`SELECT pg_sleep(${0.002 + ((i * 13 + w) % 5) / 1000})`.execute(trx);
            return r;
          });
        }
        stream.version = result.version;
        appended.push(...ids(result.events));
        written += events.length;
        i += 1;
      }
    }

    async function tail(): Promise<void> {
      while (!writersDone) {
        const got = await reader.readOnce();
        await naiveRead();
        if (got === 0) await new Promise((r) => setTimeout(r, 1));
      }
    }

    const started = Date.now();
    const tailing = tail();
    try {
      await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
    } finally {
      writersDone = true;
      await tailing;
    }
    // Writers are done: once the boundary has passed their transactions, read until empty.
    await waitUntilVisible(await maxTransactionIdOf(workspaces));
    while ((await reader.readOnce()) > 0);
    await naiveRead();
    const elapsed = Date.now() - started;

    expect(appended).toHaveLength(WRITERS * EVENTS_PER_WRITER);
    const seen = ids(reader.seen.slice(before));
    const seenSet = new Set(seen);
    const appendedSet = new Set(appended);
    const missing = appended.filter((id) => !seenSet.has(id));
    const summary =
      `${appended.length} events by ${WRITERS} writers in ${elapsed} ms; checkpoint reader: ${reader.reads} reads, ` +
      `${seen.length} received, ${seenSet.size} distinct, ${missing.length} missing, ` +
      `${reader.outOfOrder.length} out of order (first: ${reader.outOfOrder.slice(0, 3).join('; ') || '-'}); ` +
      `naive reader missed ${appended.length - naiveSeen.size}`;
    console.info(`[tail test] ${summary}`);
    expect(missing, `events the reader never saw: ${summary}`).toEqual([]);
    expect(seen.length - seenSet.size, `duplicates: ${summary}`).toBe(0);
    expect(reader.outOfOrder, `order of readAllAfter: ${summary}`).toEqual([]);
    expect(seenSet.size).toBe(appended.length);
    // Every event the reader saw is one of ours, read in (transaction id, global position) order,
    // and each stream came out in stream order.
    expect(
      [...seenSet].filter((id) => !appendedSet.has(id)),
      'events nobody appended',
    ).toEqual([]);
    const lastPositionByStream = new Map<string, number>();
    for (const event of reader.seen.slice(before)) {
      const previous = lastPositionByStream.get(event.streamId) ?? 0;
      expect(event.streamPosition).toBe(previous + 1);
      lastPositionByStream.set(event.streamId, event.streamPosition);
    }
    expect(reader.reads).toBeGreaterThan(10); // it really tailed while the writers ran
    // The test bites: positions did commit out of order, so "position > checkpoint" lost events.
    expect(appended.length - naiveSeen.size, `naive reader: ${summary}`).toBeGreaterThan(0);
  });
});
