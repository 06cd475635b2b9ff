import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compareLogPositions,
  createDb,
  loadLogCheckpoint,
  readStream,
  type DB,
  type DbHandle,
  type LogPosition,
} from '@cairn/db';
import {
  ALL_EVENT_TYPES,
  experimentStreamId,
  newEntityId,
  runStreamId,
  type KeyValue,
  type NewEvent,
  type RunStatus,
  uuidv7,
  type StoredEventEnvelope,
} from '@cairn/events';
import {
  aRunDeleted,
  aRunMetricsLogged,
  aRunParamsLogged,
  aRunRenamed,
  aRunRestored,
  aRunStarted,
  aRunStatusChanged,
  aRunTagDeleted,
  aRunTagsSet,
  anExperimentCreated,
  anExperimentDeleted,
  anExperimentRenamed,
  anExperimentRestored,
  anExperimentTagSet,
  appendEvents,
  canonical,
  createTestDatabase,
  diffDumps,
  dumpReadModels,
  randomChunks,
  randomWorkspaceId,
  rebuildAll,
  seededRandom,
  testSeed,
  type HistoryStream,
  type MetricPointInput,
  type Rand,
  type TestDatabase,
} from '@cairn/testing';
import {
  allProjections,
  applyBatch,
  checkpointName,
  experimentsProjection,
  rebuildProjection,
  runsProjection,
  startProjector,
  type Projection,
} from '../src/index.ts';
import { capturingLogger } from './capturing-logger.ts';

let testDb: TestDatabase;
let handle: DbHandle;
let db: Kysely<DB>;

beforeAll(async () => {
  testDb = await createTestDatabase();
  handle = createDb(testDb.url, { maxConnections: 16, applicationName: 'projector-int-test' });
  db = handle.db;
});

afterAll(async () => {
  await handle?.destroy();
  await testDb?.drop();
});

// ---------------------------------------------------------------------------------------------
// helpers

/** The last log position a projection's tailer reads: its types, plus types unknown to the build. */
async function logEndFor(target: Kysely<DB>, projection: Projection): Promise<LogPosition | null> {
  const { rows } = await sql<{ tx: string; gp: number }>`
    SELECT transaction_id::text AS tx, global_position AS gp FROM events
    WHERE type = ANY(${[...projection.handles]}::text[]) OR NOT (type = ANY(${ALL_EVENT_TYPES}::text[]))
    ORDER BY transaction_id DESC, global_position DESC
    LIMIT 1`.execute(target);
  const row = rows[0];
  return row ? { transactionId: row.tx, globalPosition: row.gp } : null;
}

/** Waits (by checkpoint, never by sleeping a fixed time) until every projection has read the whole log. */
async function waitForCatchUp(
  target: Kysely<DB>,
  projections: readonly Projection[] = allProjections,
  timeoutMs = 40_000,
) {
  const ends = await Promise.all(projections.map((p) => logEndFor(target, p)));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const checkpoints = await Promise.all(
      projections.map((p) => loadLogCheckpoint(target, checkpointName(p))),
    );
    const behind = projections.filter((_, i) => {
      const end = ends[i];
      return end ? compareLogPositions(checkpoints[i]!, end) < 0 : false;
    });
    if (behind.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(
        `projections not caught up after ${timeoutMs} ms: ${behind.map((p) => p.name).join(', ')}; ` +
          `checkpoints ${JSON.stringify(checkpoints)}, log ends ${JSON.stringify(ends)}`,
      );
    }
    await sleep(20);
  }
}

async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 20_000,
  intervalMs = 5,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Inserts an event row directly (as a foreign writer or an old build would have), bumping the stream. */
async function insertRawEvent(
  target: Kysely<DB>,
  e: { workspaceId: string; streamId: string; type: string; schemaVersion: number; data: unknown },
): Promise<{ id: string; streamPosition: number }> {
  return target.transaction().execute(async (trx) => {
    const stream = await trx
      .updateTable('streams')
      .set({ version: sql<number>`version + 1` })
      .where('workspace_id', '=', e.workspaceId)
      .where('stream_id', '=', e.streamId)
      .returning('version')
      .executeTakeFirstOrThrow();
    const id = uuidv7();
    await trx
      .insertInto('events')
      .values({
        event_id: id,
        workspace_id: e.workspaceId,
        stream_id: e.streamId,
        stream_position: stream.version,
        type: e.type,
        schema_version: e.schemaVersion,
        data: JSON.stringify(e.data),
        actor: 'system:legacy-importer',
        correlation_id: id,
        causation_id: null,
        occurred_at: new Date().toISOString(),
      })
      .execute();
    return { id, streamPosition: stream.version };
  });
}

async function eventsOf(
  target: Kysely<DB>,
  workspaceId: string,
  streamIds: readonly string[],
): Promise<StoredEventEnvelope[]> {
  const all: StoredEventEnvelope[] = [];
  for (const streamId of streamIds)
    all.push(...(await readStream(target, workspaceId, streamId)).events);
  return all.sort((a, b) => a.globalPosition - b.globalPosition);
}

async function countPoints(target: Kysely<DB>, workspaces: readonly string[]): Promise<number> {
  const row = await target
    .selectFrom('metric_points')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('workspace_id', 'in', [...workspaces])
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

// ---------------------------------------------------------------------------------------------
// a mixed history

interface ExpectedRun {
  workspaceId: string;
  runId: string;
  name: string;
  status: RunStatus;
  lifecycle: 'active' | 'deleted';
}

interface History {
  streams: HistoryStream[];
  events: number;
  points: number;
  nonFinite: { NaN: number; Infinity: number; '-Infinity': number };
  runs: ExpectedRun[];
  experiments: {
    workspaceId: string;
    experimentId: string;
    name: string;
    lifecycle: 'active' | 'deleted';
  }[];
}

const EXPERIMENT_TAG_KEYS = ['team', 'owner', 'dataset', 'priority', 'stage'];
const RUN_TAG_KEYS = [
  'mlflow.user',
  'mlflow.source.name',
  'model',
  'seed',
  'note',
  'mlflow.runName',
  'data split',
];
const PARAM_KEYS = [
  'lr',
  'batch_size',
  'optimizer',
  'epochs',
  'dropout',
  'weight_decay',
  'warmup',
  'layers',
  'heads',
  'seed',
];
const METRIC_KEYS = ['loss', 'accuracy', 'lr', 'grad/norm', 'val loss', 'épsilon', 'throughput'];
const STATUSES: RunStatus[] = ['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'];

function someTags(
  rand: Rand,
  keys: readonly string[],
  lo: number,
  hi: number,
  duplicates: boolean,
): KeyValue[] {
  const tags: KeyValue[] = [];
  const used = new Set<string>();
  const n = rand.int(lo, hi);
  for (let i = 0; i < n; i += 1) {
    const key = rand.pick(keys);
    if (used.has(key) && !duplicates) continue;
    used.add(key);
    tags.push({
      key,
      value: rand.chance(0.1) ? '' : `v${rand.int(0, 99)}${rand.chance(0.1) ? ' ✓' : ''}`,
    });
  }
  return tags;
}

/**
 * Experiments created (with tags), renamed, tagged, deleted and restored; runs started (tags,
 * parents, sources), params, metric batches (NaN, ±Infinity, repeated steps), tags set and
 * deleted, status changes, renames, deletes and restores. At least `minEvents` events.
 */
function mixedHistory(rand: Rand, workspaces: readonly string[], minEvents: number): History {
  const history: History = {
    streams: [],
    events: 0,
    points: 0,
    nonFinite: { NaN: 0, Infinity: 0, '-Infinity': 0 },
    runs: [],
    experiments: [],
  };
  const experimentsByWs = new Map<string, string[]>();
  for (const ws of workspaces) {
    const ids: string[] = [];
    for (let e = 0; e < 12; e += 1) {
      const experimentId = newEntityId();
      ids.push(experimentId);
      let name = `exp-${e}-${experimentId.slice(-6)}`;
      let lifecycle: 'active' | 'deleted' = 'active';
      const events: NewEvent[] = [
        anExperimentCreated({
          experimentId,
          name,
          artifactLocation: rand.chance(0.5) ? `s3://artifacts/${experimentId}` : null,
          tags: someTags(rand, EXPERIMENT_TAG_KEYS, 0, 3, false),
        }),
      ];
      const more = rand.int(0, 10);
      for (let i = 0; i < more; i += 1) {
        const r = rand.next();
        if (r < 0.3) {
          name = `${name.split('~')[0]}~${i}`;
          events.push(anExperimentRenamed({ experimentId, name }));
        } else if (r < 0.7) {
          events.push(
            anExperimentTagSet({
              experimentId,
              key: rand.pick(EXPERIMENT_TAG_KEYS),
              value: `t${rand.int(0, 9)}`,
            }),
          );
        } else if (lifecycle === 'active') {
          lifecycle = 'deleted';
          events.push(anExperimentDeleted({ experimentId }));
        } else {
          lifecycle = 'active';
          events.push(anExperimentRestored({ experimentId }));
        }
      }
      history.streams.push({
        workspaceId: ws,
        streamId: experimentStreamId(experimentId),
        streamType: 'experiment',
        events,
      });
      history.experiments.push({ workspaceId: ws, experimentId, name, lifecycle });
      history.events += events.length;
    }
    experimentsByWs.set(ws, ids);
  }

  const runsByExperiment = new Map<string, string[]>();
  const baseTime = 1_730_000_000_000;
  while (history.events < minEvents) {
    const ws = rand.pick(workspaces);
    const experimentId = rand.pick(experimentsByWs.get(ws)!);
    const siblings = runsByExperiment.get(experimentId) ?? [];
    runsByExperiment.set(experimentId, siblings);
    const runId = newEntityId();
    const startTime = baseTime + rand.int(0, 10_000_000);
    let name = `run-${history.runs.length}`;
    let status: RunStatus = rand.pick(['RUNNING', 'SCHEDULED'] as const);
    let lifecycle: 'active' | 'deleted' = 'active';
    const events: NewEvent[] = [
      aRunStarted({
        runId,
        experimentId,
        name,
        status,
        startTime,
        parentRunId: siblings.length > 0 && rand.chance(0.3) ? rand.pick(siblings) : null,
        tags: someTags(rand, RUN_TAG_KEYS, 0, 4, true),
        source: {
          gitCommit: rand.chance(0.5) ? newEntityId().slice(0, 40) : null,
          entryPoint: rand.chance(0.5) ? 'train.py' : null,
          sourceType: rand.pick(['LOCAL', 'PROJECT', null]),
        },
      }),
    ];
    siblings.push(runId);
    const steps = new Map<string, number>();
    let clock = startTime;
    const n = rand.int(15, 70);
    for (let i = 0; i < n; i += 1) {
      const r = rand.next();
      if (r < 0.45) {
        const metrics: MetricPointInput[] = [];
        const count = rand.int(1, 25);
        for (let p = 0; p < count; p += 1) {
          const key = rand.pick(METRIC_KEYS);
          const previous = steps.get(key) ?? -1;
          // Mostly forward, sometimes the same step again, now and then a step from the past.
          const step = rand.chance(0.15)
            ? Math.max(previous, 0)
            : rand.chance(0.05)
              ? rand.int(0, Math.max(previous, 0))
              : previous + 1;
          steps.set(key, Math.max(previous, step));
          if (!rand.chance(0.1)) clock += rand.int(1, 500);
          const v = rand.next();
          let value: number;
          if (v < 0.03) value = Number.NaN;
          else if (v < 0.05) value = Number.POSITIVE_INFINITY;
          else if (v < 0.07) value = Number.NEGATIVE_INFINITY;
          else if (v < 0.1) value = 0;
          else value = (rand.next() - 0.5) * 10 ** rand.int(-6, 6);
          if (Number.isNaN(value)) history.nonFinite.NaN += 1;
          else if (value === Number.POSITIVE_INFINITY) history.nonFinite.Infinity += 1;
          else if (value === Number.NEGATIVE_INFINITY) history.nonFinite['-Infinity'] += 1;
          metrics.push({ key, value, step, timestamp: clock });
        }
        history.points += metrics.length;
        events.push(aRunMetricsLogged({ runId, metrics }));
      } else if (r < 0.57) {
        events.push(
          aRunParamsLogged({
            runId,
            params: someTags(rand, PARAM_KEYS, 1, 4, false).map((t) => ({
              key: t.key,
              value: t.value || '0',
            })),
          }),
        );
      } else if (r < 0.69) {
        const tags = someTags(rand, RUN_TAG_KEYS, 1, 3, true);
        if (tags.length > 0) events.push(aRunTagsSet({ runId, tags }));
      } else if (r < 0.76) {
        events.push(aRunTagDeleted({ runId, key: rand.pick(RUN_TAG_KEYS) }));
      } else if (r < 0.86) {
        status = rand.pick(STATUSES);
        const terminal = status !== 'RUNNING' && status !== 'SCHEDULED';
        events.push(
          aRunStatusChanged({
            runId,
            status,
            endTime: terminal ? clock + rand.int(0, 1000) : null,
          }),
        );
      } else if (r < 0.92) {
        name = rand.chance(0.2) ? `résumé 🚀 ${i}` : `run-${history.runs.length}-${i}`;
        events.push(aRunRenamed({ runId, name }));
      } else if (lifecycle === 'active') {
        lifecycle = 'deleted';
        events.push(aRunDeleted({ runId }));
      } else {
        lifecycle = 'active';
        events.push(aRunRestored({ runId }));
      }
    }
    history.streams.push({
      workspaceId: ws,
      streamId: runStreamId(runId),
      streamType: 'run',
      events,
    });
    history.runs.push({ workspaceId: ws, runId, name, status, lifecycle });
    history.events += events.length;
  }
  return history;
}

/**
 * Appends a history with `writers` concurrent writers, each owning some streams and appending
 * 1–8 events at a time at the exact expected version, round-robin over its streams.
 */
async function appendHistory(
  target: Kysely<DB>,
  history: History,
  rand: Rand,
  writers = 6,
): Promise<number> {
  const chunked = history.streams.map((s) => ({ stream: s, chunks: randomChunks(rand, s.events) }));
  let appended = 0;
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      const mine = chunked
        .filter((_, i) => i % writers === w)
        .map((c) => ({ ...c, next: 0, version: 0 }));
      for (let round = 0; mine.some((m) => m.next < m.chunks.length); round += 1) {
        for (const m of mine) {
          const chunk = m.chunks[m.next];
          if (!chunk) continue;
          const result = await appendEvents(
            target,
            m.stream.workspaceId,
            m.stream.streamId,
            m.stream.streamType,
            chunk,
            m.version === 0 ? 'no_stream' : m.version,
          );
          m.version = result.version;
          m.next += 1;
          appended += chunk.length;
        }
      }
    }),
  );
  return appended;
}

/** The read model holds what the history says (not just "equal to itself"). */
async function expectReadModelOf(
  target: Kysely<DB>,
  workspaces: readonly string[],
  history: History,
): Promise<void> {
  const mine = await dumpReadModels(target, workspaces);
  expect(mine['metric_points']).toHaveLength(history.points);
  expect(await countPoints(target, workspaces)).toBe(history.points);
  const nonFinite = await sql<{ nan: number; inf: number; ninf: number }>`
    SELECT count(*) FILTER (WHERE value = 'NaN'::float8) AS nan,
           count(*) FILTER (WHERE value = 'Infinity'::float8) AS inf,
           count(*) FILTER (WHERE value = '-Infinity'::float8) AS ninf
    FROM metric_points WHERE workspace_id = ANY(${workspaces}::text[])`.execute(target);
  expect(nonFinite.rows[0]).toEqual({
    nan: history.nonFinite.NaN,
    inf: history.nonFinite.Infinity,
    ninf: history.nonFinite['-Infinity'],
  });
  expect(
    history.nonFinite.NaN * history.nonFinite.Infinity * history.nonFinite['-Infinity'],
  ).toBeGreaterThan(0);
  const runs = await target
    .selectFrom('runs')
    .select(['workspace_id', 'run_id', 'name', 'status', 'lifecycle_stage'])
    .where('workspace_id', 'in', workspaces)
    .execute();
  const byId = (a: { run_id: string }, b: { run_id: string }) => (a.run_id < b.run_id ? -1 : 1);
  expect(runs.sort(byId)).toEqual(
    history.runs
      .map((r) => ({
        workspace_id: r.workspaceId,
        run_id: r.runId,
        name: r.name,
        status: r.status,
        lifecycle_stage: r.lifecycle,
      }))
      .sort(byId),
  );
  const experiments = await target
    .selectFrom('experiments')
    .select(['workspace_id', 'experiment_id', 'name', 'lifecycle_stage'])
    .where('workspace_id', 'in', workspaces)
    .execute();
  expect(experiments.sort((a, b) => (a.experiment_id < b.experiment_id ? -1 : 1))).toEqual(
    history.experiments
      .map((e) => ({
        workspace_id: e.workspaceId,
        experiment_id: e.experimentId,
        name: e.name,
        lifecycle_stage: e.lifecycle,
      }))
      .sort((a, b) => (a.experiment_id < b.experiment_id ? -1 : 1)),
  );
  for (const table of [
    'experiment_tags',
    'run_params',
    'run_tags',
    'metric_keys',
    'run_latest_metrics',
    'runs',
  ]) {
    expect(mine[table]!.length, table).toBeGreaterThan(0);
  }
  expect(mine['dead_letters']).toEqual([]);
}

// ---------------------------------------------------------------------------------------------

describe('projector (postgres transport)', () => {
  it('dead-letters poison events with their error and keeps projecting what comes after', async () => {
    const ws = randomWorkspaceId();
    const started = aRunStarted({ name: 'survivor', status: 'RUNNING' });
    const runId = started.data.runId;
    const stream = runStreamId(runId);
    const first = await appendEvents(db, ws, stream, 'run', [started], 'no_stream');

    // Data that fails its schema, a type this build does not know, a version from the future.
    const badMetrics = await insertRawEvent(db, {
      workspaceId: ws,
      streamId: stream,
      type: 'RunMetricsLogged',
      schemaVersion: 1,
      data: { runId, metrics: [{ key: 'loss', value: 'not a number', step: 0, timestamp: 1 }] },
    });
    const teleported = await insertRawEvent(db, {
      workspaceId: ws,
      streamId: stream,
      type: 'RunTeleported',
      schemaVersion: 1,
      data: { runId, to: 'mars' },
    });
    const fromTheFuture = await insertRawEvent(db, {
      workspaceId: ws,
      streamId: stream,
      type: 'RunStatusChanged',
      schemaVersion: 9,
      data: { runId, status: 'FINISHED', endTime: 5, reason: 'v9 field' },
    });
    // Decodes fine, but the projection cannot apply it: a second RunStarted of the same run id.
    const impostorStream = runStreamId(newEntityId());
    const impostor = await appendEvents(
      db,
      ws,
      impostorStream,
      'run',
      [aRunStarted({ runId, experimentId: newEntityId(), name: 'impostor' })],
      'no_stream',
    );

    // Valid events after the poison, on the same stream and elsewhere.
    const later = await appendEvents(
      db,
      ws,
      stream,
      'run',
      [
        aRunParamsLogged({ runId, params: [{ key: 'lr', value: '0.1' }] }),
        aRunMetricsLogged({
          runId,
          metrics: [
            { key: 'loss', value: 0.5, step: 1, timestamp: 10 },
            { key: 'loss', value: 0.25, step: 2, timestamp: 20 },
          ],
        }),
        aRunStatusChanged({ runId, status: 'FINISHED', endTime: 123 }),
      ],
      4,
    );
    expect(later.events.map((e) => e.streamPosition)).toEqual([5, 6, 7]);
    const experiment = anExperimentCreated({ name: 'after the poison' });
    await appendEvents(
      db,
      ws,
      experimentStreamId(experiment.data.experimentId),
      'experiment',
      [experiment],
      'no_stream',
    );

    const logger = capturingLogger();
    const projector = await startProjector({ db, transport: { kind: 'postgres' }, logger });
    try {
      await waitForCatchUp(db);
    } finally {
      await projector.stop();
    }

    const deadLetters = await db
      .selectFrom('dead_letters')
      .select([
        'projection',
        'event_id',
        'event_type',
        'stream_id',
        'stream_position',
        'global_position',
        'error',
      ])
      .where('workspace_id', '=', ws)
      .orderBy('projection')
      .orderBy('stream_position')
      .orderBy('stream_id')
      .execute();
    const positionOf = async (id: string) =>
      (
        await db
          .selectFrom('events')
          .select('global_position')
          .where('event_id', '=', id)
          .executeTakeFirstOrThrow()
      ).global_position;
    // An event of an unknown type is dead-lettered by every projection (none can route it).
    const teleportedPosition = await positionOf(teleported.id);
    const expected = [
      ...allProjections
        .filter((p) => p.name !== 'runs')
        .map((p) => ({
          projection: p.name,
          event_id: teleported.id,
          event_type: 'RunTeleported',
          stream_id: stream,
          stream_position: 3,
          global_position: teleportedPosition,
        })),
      {
        projection: 'runs',
        event_id: impostor.events[0]!.id,
        event_type: 'RunStarted',
        stream_id: impostorStream,
        stream_position: 1,
        global_position: impostor.events[0]!.globalPosition,
      },
      {
        projection: 'runs',
        event_id: badMetrics.id,
        event_type: 'RunMetricsLogged',
        stream_id: stream,
        stream_position: 2,
        global_position: await positionOf(badMetrics.id),
      },
      {
        projection: 'runs',
        event_id: teleported.id,
        event_type: 'RunTeleported',
        stream_id: stream,
        stream_position: 3,
        global_position: await positionOf(teleported.id),
      },
      {
        projection: 'runs',
        event_id: fromTheFuture.id,
        event_type: 'RunStatusChanged',
        stream_id: stream,
        stream_position: 4,
        global_position: await positionOf(fromTheFuture.id),
      },
    ].sort(
      (a, b) =>
        a.projection.localeCompare(b.projection) ||
        a.stream_position - b.stream_position ||
        a.stream_id.localeCompare(b.stream_id),
    );
    expect(deadLetters.map(({ error: _e, ...rest }) => rest)).toEqual(expected);
    const errorOf = (eventId: string) =>
      deadLetters.filter((d) => d.event_id === eventId).map((d) => d.error);
    for (const error of errorOf(teleported.id)) {
      expect(error).toMatch(/^EventDecodingError: Unknown event type "RunTeleported"/);
    }
    expect(errorOf(impostor.events[0]!.id)).toEqual([
      expect.stringMatching(/duplicate key value violates unique constraint/),
    ]);
    expect(errorOf(badMetrics.id)).toEqual([
      expect.stringMatching(/^EventDecodingError: Invalid RunMetricsLogged v1 data/),
    ]);
    expect(errorOf(fromTheFuture.id)).toEqual([
      expect.stringMatching(/^EventDecodingError: RunStatusChanged has schema version 9/),
    ]);

    // Everything after the poison was projected; the poison left no trace in the read model.
    const run = await db.selectFrom('runs').selectAll().where('workspace_id', '=', ws).execute();
    expect(run).toHaveLength(1);
    expect(run[0]).toMatchObject({
      run_id: runId,
      name: 'survivor',
      experiment_id: started.data.experimentId,
      status: 'FINISHED',
      end_time: 123,
      lifecycle_stage: 'active',
      created_at: new Date(first.events[0]!.recordedAt),
      updated_at: new Date(later.events[2]!.recordedAt),
    });
    expect(
      await db
        .selectFrom('run_params')
        .select(['key', 'value'])
        .where('workspace_id', '=', ws)
        .execute(),
    ).toEqual([{ key: 'lr', value: '0.1' }]);
    const points = await db
      .selectFrom('metric_points')
      .select(['step', 'timestamp', 'value'])
      .where('workspace_id', '=', ws)
      .orderBy('step')
      .execute();
    expect(points).toEqual([
      { step: 1, timestamp: 10, value: 0.5 },
      { step: 2, timestamp: 20, value: 0.25 },
    ]);
    expect(
      await db
        .selectFrom('run_latest_metrics')
        .select(['key', 'value', 'step'])
        .where('workspace_id', '=', ws)
        .execute(),
    ).toEqual([{ key: 'loss', value: 0.25, step: 2 }]);
    expect(
      await db.selectFrom('experiments').select('name').where('workspace_id', '=', ws).execute(),
    ).toEqual([{ name: 'after the poison' }]);
    // The guard covers the poison too: it is never retried, never applied.
    expect(
      await db
        .selectFrom('projection_stream_positions')
        .select(['projection', 'stream_id', 'position'])
        .where('workspace_id', '=', ws)
        .where('projection', '=', 'runs')
        .orderBy('stream_id')
        .execute(),
    ).toEqual(
      [
        { projection: 'runs', stream_id: stream, position: 7 },
        { projection: 'runs', stream_id: impostorStream, position: 1 },
      ].sort((a, b) => (a.stream_id < b.stream_id ? -1 : 1)),
    );
    expect(logger.errors).toEqual([]);
  });

  it('a rebuild from the log equals the live read model (≥ 10,000 mixed events)', async () => {
    const seed = testSeed();
    const rand = seededRandom(seed);
    const workspaces = [randomWorkspaceId(), randomWorkspaceId()];
    const history = mixedHistory(rand, workspaces, 10_000);
    expect(history.events).toBeGreaterThanOrEqual(10_000);

    const logger = capturingLogger();
    const t0 = Date.now();
    // Projected live: the projector tails while the writers append.
    const projector = await startProjector({ db, transport: { kind: 'postgres' }, logger });
    let appended: number;
    try {
      appended = await appendHistory(db, history, rand);
      await waitForCatchUp(db);
    } finally {
      await projector.stop();
    }
    const t1 = Date.now();
    expect(appended).toBe(history.events);

    await expectReadModelOf(db, workspaces, history); // the live projection is right...
    const live = await dumpReadModels(db);
    const rebuiltEvents = await rebuildAll(db, allProjections, rebuildProjection);
    const t2 = Date.now();
    const rebuilt = await dumpReadModels(db);
    console.info(
      `[rebuild test] seed ${seed}: ${history.events} events, ${history.points} points; append+live ${t1 - t0} ms, ` +
        `rebuild (${rebuiltEvents} events read) ${t2 - t1} ms`,
    );
    expect(diffDumps(live, rebuilt), `seed ${seed}`).toEqual([]); // ...and a rebuild equals it
    await expectReadModelOf(db, workspaces, history);
    expect(logger.errors).toEqual([]);
  }, 60_000);

  it('a projector SIGKILLed mid-batch resumes without gaps or duplicates', async () => {
    const seed = testSeed() + 1;
    const rand = seededRandom(seed);
    // Its own database: the child process projects everything in it.
    const own = await createTestDatabase();
    const h = createDb(own.url, { maxConnections: 10, applicationName: 'projector-int-test-kill' });
    let child: ChildProcess | undefined;
    let exited: Promise<unknown> | undefined;
    try {
      const ws = randomWorkspaceId();
      const history = mixedHistory(rand, [ws], 5_000);
      await appendHistory(h.db, history, rand);
      const end = await logEndFor(h.db, runsProjection);
      if (!end) throw new Error('empty log');

      const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
      const script = fileURLToPath(new URL('./projector-child.ts', import.meta.url));
      child = spawn(process.execPath, ['--import', 'tsx', script], {
        cwd: repoRoot,
        env: { ...process.env, CAIRN_TEST_DATABASE_URL: own.url, CAIRN_TEST_BATCH_SIZE: '20' },
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      });
      let output = '';
      child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
      const proc = child;
      exited = new Promise((resolve) => proc.once('exit', resolve));

      // Kill it once the runs checkpoint has passed a random share of the log, inside a later batch.
      const checkpointOf = () => loadLogCheckpoint(h.db, checkpointName(runsProjection));
      const threshold = Math.floor(end.globalPosition * (rand.int(5, 50) / 100));
      await waitFor(
        `the child projector to pass global position ${threshold}`,
        async () => (await checkpointOf()).globalPosition > threshold || child?.exitCode !== null,
        30_000,
        2,
      );
      expect(child.exitCode, output).toBeNull();
      await sleep(rand.int(0, 15));
      const { rows: sessions } = await sql<{ state: string }>`
        SELECT state FROM pg_stat_activity WHERE application_name = 'projector-child' ORDER BY state`.execute(
        h.db,
      );
      expect(child.kill('SIGKILL')).toBe(true);
      await exited;
      expect(child.signalCode).toBe('SIGKILL');

      const atKill = await checkpointOf();
      expect(
        compareLogPositions(atKill, end),
        'the child must die before it caught up',
      ).toBeLessThan(0);
      const partial = await countPoints(h.db, [ws]);
      expect(partial).toBeGreaterThan(0);
      expect(partial).toBeLessThan(history.points);

      // A new projector takes over from the checkpoint.
      const logger = capturingLogger();
      const projector = await startProjector({ db: h.db, transport: { kind: 'postgres' }, logger });
      try {
        await waitForCatchUp(h.db);
      } finally {
        await projector.stop();
      }
      expect(await countPoints(h.db, [ws])).toBe(history.points);
      await expectReadModelOf(h.db, [ws], history);
      const resumed = await dumpReadModels(h.db);
      await rebuildAll(h.db, allProjections, rebuildProjection);
      const rebuilt = await dumpReadModels(h.db);
      expect(diffDumps(resumed, rebuilt), `seed ${seed}`).toEqual([]);
      // Guards stand at every stream's version: nothing skipped.
      const streams = await h.db
        .selectFrom('streams')
        .select(['stream_id', 'version'])
        .where('workspace_id', '=', ws)
        .execute();
      const guards = await h.db
        .selectFrom('projection_stream_positions')
        .select(['projection', 'stream_id', 'position'])
        .where('workspace_id', '=', ws)
        .execute();
      for (const s of streams) {
        const projection = s.stream_id.startsWith('run-') ? 'runs' : 'experiments';
        expect(
          guards.find((g) => g.projection === projection && g.stream_id === s.stream_id)?.position,
          s.stream_id,
        ).toBe(s.version);
      }
      expect(logger.errors).toEqual([]);
      console.info(
        `[kill test] seed ${seed}: ${history.events} events; killed at ${JSON.stringify(atKill)} of ${JSON.stringify(end)} ` +
          `with ${partial}/${history.points} points projected; child sessions just before: ${sessions.map((x) => x.state).join(', ')}`,
      );
    } finally {
      if (child && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
      await h.destroy();
      await own.drop();
    }
  }, 60_000);

  it('applying the same batch twice leaves the read model unchanged', async () => {
    const ws = randomWorkspaceId();
    const experiment = anExperimentCreated({ tags: [{ key: 'team', value: 'a' }] });
    const experimentId = experiment.data.experimentId;
    const expStream = experimentStreamId(experimentId);
    await appendEvents(
      db,
      ws,
      expStream,
      'experiment',
      [
        experiment,
        anExperimentTagSet({ experimentId, key: 'team', value: 'b' }),
        anExperimentRenamed({ experimentId, name: 'idempotent' }),
      ],
      'no_stream',
    );
    const runStreams: string[] = [];
    for (let r = 0; r < 3; r += 1) {
      const started = aRunStarted({ experimentId, tags: [{ key: 'seed', value: String(r) }] });
      const runId = started.data.runId;
      runStreams.push(runStreamId(runId));
      await appendEvents(
        db,
        ws,
        runStreamId(runId),
        'run',
        [
          started,
          aRunParamsLogged({
            runId,
            params: [
              { key: 'lr', value: '0.01' },
              { key: 'epochs', value: '3' },
            ],
          }),
          aRunMetricsLogged({
            runId,
            metrics: [
              { key: 'loss', value: 1, step: 0, timestamp: 1000 },
              { key: 'loss', value: Number.NaN, step: 1, timestamp: 1000 },
            ],
          }),
          aRunMetricsLogged({
            runId,
            metrics: [
              { key: 'loss', value: 0.5, step: 1, timestamp: 1000 },
              { key: 'acc', value: Number.NEGATIVE_INFINITY, step: 1, timestamp: 1000 },
            ],
          }),
          aRunTagsSet({
            runId,
            tags: [
              { key: 'seed', value: 'x' },
              { key: 'note', value: 'n' },
            ],
          }),
          aRunTagDeleted({ runId, key: 'note' }),
          aRunStatusChanged({ runId, status: 'FINISHED', endTime: 99 }),
        ],
        'no_stream',
      );
    }
    const runEvents = await eventsOf(db, ws, runStreams);
    const expEvents = await eventsOf(db, ws, [expStream]);
    expect(runEvents).toHaveLength(21);

    const empty = await dumpReadModels(db, [ws]);
    expect(empty['runs']).toEqual([]);

    expect(await applyBatch(db, runsProjection, runEvents)).toEqual({
      applied: 21,
      skipped: 0,
      deadLettered: 0,
    });
    expect(await applyBatch(db, experimentsProjection, expEvents)).toEqual({
      applied: 3,
      skipped: 0,
      deadLettered: 0,
    });
    const once = await dumpReadModels(db, [ws]);
    expect(once['runs']).toHaveLength(3);
    expect(once['metric_points']).toHaveLength(12);
    expect(once['run_tags']).toHaveLength(3);
    expect(once['experiment_tags']).toEqual([
      canonical({ workspace_id: ws, experiment_id: experimentId, key: 'team', value: 'b' }),
    ]);
    // NaN sorts above every number (Postgres float8 order): the latest loss at step 1 is NaN.
    const latest = await db
      .selectFrom('run_latest_metrics')
      .select(['key', 'value', 'step'])
      .where('workspace_id', '=', ws)
      .orderBy('key')
      .execute();
    expect(latest).toHaveLength(6);
    for (const row of latest) {
      expect(row.step).toBe(1);
      if (row.key === 'loss') expect(row.value).toBeNaN();
      else expect(row.value).toBe(Number.NEGATIVE_INFINITY);
    }

    // Redelivery: the very same batches again.
    expect(await applyBatch(db, runsProjection, runEvents)).toEqual({
      applied: 0,
      skipped: 21,
      deadLettered: 0,
    });
    expect(await applyBatch(db, experimentsProjection, expEvents)).toEqual({
      applied: 0,
      skipped: 3,
      deadLettered: 0,
    });
    expect(diffDumps(once, await dumpReadModels(db, [ws]))).toEqual([]);

    // A partly redelivered batch (old tail + new events, one of them twice): only the new apply, once.
    const runId = runStreams[0]!.replace('run-', '');
    const more = await appendEvents(
      db,
      ws,
      runStreams[0]!,
      'run',
      [
        aRunMetricsLogged({ runId, metrics: [{ key: 'loss', value: 0.1, step: 2 }] }),
        aRunRenamed({ runId, name: 'renamed once' }),
      ],
      7,
    );
    const mixed = [...runEvents.slice(-4), ...more.events, more.events[0]!];
    expect(await applyBatch(db, runsProjection, mixed)).toEqual({
      applied: 2,
      skipped: 5,
      deadLettered: 0,
    });
    const twice = await dumpReadModels(db, [ws]);
    expect(twice['metric_points']).toHaveLength(13);
    expect(await applyBatch(db, runsProjection, mixed)).toEqual({
      applied: 0,
      skipped: 7,
      deadLettered: 0,
    });
    expect(diffDumps(twice, await dumpReadModels(db, [ws]))).toEqual([]);
    expect(
      await db
        .selectFrom('runs')
        .select('name')
        .where('workspace_id', '=', ws)
        .where('run_id', '=', runId)
        .executeTakeFirst(),
    ).toEqual({ name: 'renamed once' });
    expect(
      await db
        .selectFrom('dead_letters')
        .select('event_id')
        .where('workspace_id', '=', ws)
        .execute(),
    ).toEqual([]);
  });
});
