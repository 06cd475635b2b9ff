/**
 * The scale-mode pipeline end to end, on a real broker (startKafkaBroker: local Kafka jars or
 * Testcontainers) and a real Postgres:
 *
 *   GraphQL mutation → Postgres event log → KafkaRelay → Kafka topics → projector consumer groups
 *   → read models → GraphQL query
 *
 * (a) a 10,000-point batch travels the whole way and reads back exactly;
 * (b) the Kafka-fed read models equal a rebuild from the log (≥ 10,000 mixed events);
 * (c) the broker is SIGKILLed and restarted during ingest: the API keeps acknowledging (the log
 *     is in Postgres) and every acknowledged point is projected exactly once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLogCheckpoint, logLag, type DB } from '@cairn/db';
import {
  experimentStreamId,
  newEntityId,
  runStreamId,
  type NewEvent,
  type RunStatus,
} from '@cairn/events';
import type { KafkaLogEntry } from '@cairn/kafka';
import { allProjections, RELAY_CHECKPOINT, rebuildProjection } from '@cairn/projector';
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
import { startKafkaBroker, type KafkaBroker } from '@cairn/testing/kafka-broker';
import { startApiHarness, type ApiHarness, type GqlResponse } from './helpers/api-harness.ts';

let testDb: TestDatabase;
let broker: KafkaBroker;
let api: ApiHarness;
let db: Kysely<DB>;
const kafkaErrors: KafkaLogEntry[] = [];
const timings: string[] = [];

beforeAll(async () => {
  const t0 = Date.now();
  [testDb, broker] = await Promise.all([createTestDatabase(), startKafkaBroker()]);
  const t1 = Date.now();
  api = await startApiHarness({
    databaseUrl: testDb.url,
    transport: 'kafka',
    kafkaBrokers: broker.brokers,
    // kafkajs errors are expected while the broker is down in (c): keep them, don't flood stderr.
    kafkaConfig: { logger: (entry) => kafkaErrors.push(entry) },
    // Generous for a loaded 2-core machine; a mutation that misses this deadline answers with an
    // error even though its write committed (reported), which would make these tests flaky.
    readYourWritesTimeoutMs: 20_000,
  });
  db = api.db;
  timings.push(`broker+db ${t1 - t0} ms, api harness ${Date.now() - t1} ms`);
}, 180_000);

afterAll(async () => {
  await api?.stop();
  await broker?.stop();
  await testDb?.drop();
  const kinds = new Map<string, number>();
  for (const e of kafkaErrors) {
    const detail = e.extra['error'];
    const kind = `${e.namespace}: ${e.message}${typeof detail === 'string' ? ` (${detail})` : ''}`;
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }
  console.info(
    `[kafka-pipeline] ${timings.join('; ')}; component errors: ${api?.errors.length ?? 0}; kafkajs errors logged: ${kafkaErrors.length}: ` +
      [...kinds].map(([kind, n]) => `${n}× ${kind}`).join(' | '),
  );
}, 120_000);

// ---------------------------------------------------------------------------------------------
// helpers

const ws = (workspaceId: string) => ({ 'x-cairn-workspace': workspaceId });

/** Data of a GraphQL response that must have succeeded (errors are shown in the failure). */
function ok<T>(response: GqlResponse<T>): T {
  expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
  expect(response.data).toBeTruthy();
  return response.data!;
}

async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 60_000,
  intervalMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/**
 * Streams a projection has not applied up to its last relevant event, in every workspace. On the
 * Kafka transport the guards (`projection_stream_positions`) are the only progress record in
 * Postgres; every event type of a domain is handled by its projection, so "caught up" means each
 * guard stands at its stream's version (checked separately below).
 */
async function streamsBehind(
  target: Kysely<DB>,
): Promise<{ projection: string; behind: number }[]> {
  return Promise.all(
    allProjections.map(async (p) => {
      const { rows } = await sql<{ n: number }>`
        SELECT count(*)::int AS n FROM (
          SELECT workspace_id, stream_id, max(stream_position) AS last
          FROM events WHERE type = ANY(${[...p.handles]}::text[])
          GROUP BY workspace_id, stream_id
        ) e
        LEFT JOIN projection_stream_positions g
          ON g.projection = ${p.name} AND g.workspace_id = e.workspace_id AND g.stream_id = e.stream_id
        WHERE coalesce(g.position, 0) < e.last`.execute(target);
      return { projection: p.name, behind: rows[0]?.n ?? -1 };
    }),
  );
}

async function waitForKafkaCatchUp(target: Kysely<DB>, timeoutMs = 60_000): Promise<void> {
  let last: { projection: string; behind: number }[] = [];
  await waitFor(
    'the Kafka-fed projections to reach every stream version',
    async () => {
      last = await streamsBehind(target);
      return last.every((l) => l.behind === 0);
    },
    timeoutMs,
    100,
  ).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}; behind: ${JSON.stringify(last)}`);
  });
}

/** Every stream's guard (in its domain's projection) against `streams.version`; [] when all equal. */
async function guardsBelowVersion(
  target: Kysely<DB>,
  workspaces: readonly string[],
): Promise<string[]> {
  const { rows } = await sql<{ stream_id: string; version: number; position: number | null }>`
    SELECT s.stream_id, s.version, g.position
    FROM streams s
    LEFT JOIN projection_stream_positions g
      ON g.workspace_id = s.workspace_id AND g.stream_id = s.stream_id
     AND g.projection = CASE WHEN s.stream_id LIKE 'run-%' THEN 'runs' ELSE 'experiments' END
    WHERE s.workspace_id = ANY(${[...workspaces]}::text[]) AND g.position IS DISTINCT FROM s.version`.execute(
    target,
  );
  return rows.map((r) => `${r.stream_id}: version ${r.version}, guard ${String(r.position)}`);
}

interface History {
  streams: HistoryStream[];
  events: number;
  points: number;
  runs: number;
  experiments: number;
}

const METRIC_KEYS = ['loss', 'accuracy', 'lr', 'val/loss', 'gpu:0/util'];
const TAG_KEYS = ['team', 'mlflow.note.content', 'stage', 'owner'];
const STATUSES: RunStatus[] = ['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'];

/** A mixed history of experiment and run streams in the given workspaces, at least `minEvents`. */
function mixedHistory(rand: Rand, workspaces: readonly string[], minEvents: number): History {
  const history: History = { streams: [], events: 0, points: 0, runs: 0, experiments: 0 };
  const experimentsOf = new Map<string, string[]>();
  for (const workspaceId of workspaces) {
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      const experimentId = newEntityId();
      ids.push(experimentId);
      const events: NewEvent[] = [
        anExperimentCreated({
          experimentId,
          name: `exp-${i}-${experimentId.slice(-6)}`,
          tags: rand.chance(0.5) ? [{ key: 'team', value: rand.pick(['vision', 'nlp']) }] : [],
        }),
      ];
      for (let j = rand.int(0, 5); j > 0; j--) {
        const r = rand.next();
        if (r < 0.3)
          events.push(
            anExperimentRenamed({
              experimentId,
              name: `exp-${i}-renamed-${j}-${experimentId.slice(-6)}`,
            }),
          );
        else if (r < 0.6)
          events.push(
            anExperimentTagSet({
              experimentId,
              key: rand.pick(TAG_KEYS),
              value: `v${rand.int(0, 9)}`,
            }),
          );
        else if (r < 0.8) events.push(anExperimentDeleted({ experimentId }));
        else events.push(anExperimentRestored({ experimentId }));
      }
      history.streams.push({
        workspaceId,
        streamId: experimentStreamId(experimentId),
        streamType: 'experiment',
        events,
      });
      history.events += events.length;
      history.experiments += 1;
    }
    experimentsOf.set(workspaceId, ids);
  }
  while (history.events < minEvents) {
    const workspaceId = rand.pick(workspaces);
    const runId = newEntityId();
    const base = 1_700_000_000_000 + rand.int(0, 10_000_000);
    const events: NewEvent[] = [
      aRunStarted({
        runId,
        experimentId: rand.pick(experimentsOf.get(workspaceId)!),
        startTime: base,
        tags: rand.chance(0.5) ? [{ key: rand.pick(TAG_KEYS), value: 'initial' }] : [],
        source: rand.chance(0.3)
          ? { gitCommit: 'abc123', entryPoint: 'train.py', sourceType: 'LOCAL' }
          : {},
      }),
    ];
    const steps = new Map<string, number>();
    let params = 0;
    for (let n = rand.int(20, 120); n > 0; n--) {
      const r = rand.next();
      if (r < 0.55) {
        const metrics: MetricPointInput[] = [];
        for (let m = rand.int(1, 30); m > 0; m--) {
          const key = rand.pick(METRIC_KEYS);
          // Mostly increasing steps, sometimes a repeated or an older step (both are legal).
          const step = rand.chance(0.9)
            ? (steps.get(key) ?? -1) + 1
            : rand.int(0, steps.get(key) ?? 0);
          steps.set(key, Math.max(step, steps.get(key) ?? 0));
          const special = rand.next();
          const value =
            special < 0.01
              ? Number.NaN
              : special < 0.015
                ? Infinity
                : special < 0.02
                  ? -Infinity
                  : Math.round(rand.next() * 1e6) / 1e3;
          metrics.push({ key, value, step, timestamp: base + step * 10 + rand.int(0, 3) });
        }
        history.points += metrics.length;
        events.push(aRunMetricsLogged({ runId, metrics }));
      } else if (r < 0.65) {
        events.push(
          aRunParamsLogged({
            runId,
            params: [{ key: `p${params++}`, value: String(rand.int(0, 1000)) }],
          }),
        );
      } else if (r < 0.75) {
        events.push(
          aRunTagsSet({
            runId,
            tags: [{ key: rand.pick(TAG_KEYS), value: `t${rand.int(0, 99)}` }],
          }),
        );
      } else if (r < 0.82) {
        events.push(aRunTagDeleted({ runId, key: rand.pick(TAG_KEYS) }));
      } else if (r < 0.9) {
        const status = rand.pick(STATUSES);
        events.push(
          aRunStatusChanged({
            runId,
            status,
            endTime: status === 'RUNNING' ? null : base + rand.int(1, 1e6),
          }),
        );
      } else if (r < 0.94) {
        events.push(
          aRunRenamed({
            runId,
            name: rand.chance(0.2) ? `résumé 🚀 ${n}` : `run-${history.runs}-${n}`,
          }),
        );
      } else if (r < 0.97) {
        events.push(aRunDeleted({ runId }));
      } else {
        events.push(aRunRestored({ runId }));
      }
    }
    history.streams.push({ workspaceId, streamId: runStreamId(runId), streamType: 'run', events });
    history.events += events.length;
    history.runs += 1;
  }
  return history;
}

/** Appends with `writers` concurrent writers, each interleaving chunks of its own streams. */
async function appendHistory(
  target: Kysely<DB>,
  history: History,
  rand: Rand,
  writers = 8,
): Promise<number> {
  const chunksOf = history.streams.map((s) => ({
    stream: s,
    chunks: randomChunks(rand, s.events),
  }));
  // Experiments first: runs refer to them (the projections don't need it, a reader would).
  const experiments = chunksOf.filter((c) => c.stream.streamType === 'experiment');
  const runs = chunksOf.filter((c) => c.stream.streamType === 'run');
  let appended = 0;
  const appendAll = async (items: typeof chunksOf) => {
    const lanes = Array.from({ length: writers }, (_, w) =>
      items.filter((_, i) => i % writers === w),
    );
    await Promise.all(
      lanes.map(async (lane) => {
        for (let round = 0; lane.some((l) => l.chunks.length > round); round++) {
          for (const { stream, chunks } of lane) {
            const chunk = chunks[round];
            if (!chunk) continue;
            await appendEvents(
              target,
              stream.workspaceId,
              stream.streamId,
              stream.streamType,
              chunk,
            );
            appended += chunk.length;
          }
        }
      }),
    );
  };
  await appendAll(experiments);
  await appendAll(runs);
  return appended;
}

const CREATE_EXPERIMENT = `mutation($name: String!) { createExperiment(name: $name) { id name lifecycleStage } }`;
const CREATE_RUN = `mutation($experimentId: String!) { createRun(experimentId: $experimentId) { id experimentId status } }`;
const LOG_BATCH = `
  mutation($runId: String!, $metrics: [MetricInput!], $params: [KeyValueInput!], $tags: [KeyValueInput!], $sync: Boolean) {
    logBatch(runId: $runId, metrics: $metrics, params: $params, tags: $tags, sync: $sync) {
      id
      latestMetrics { key value step timestamp }
      params { key value }
      tags { key value }
    }
  }`;

interface Run {
  id: string;
  params: { key: string; value: string }[];
  tags: { key: string; value: string }[];
  latestMetrics: { key: string; value: number | string; step: number; timestamp: number }[];
}

async function createExperimentAndRun(
  workspaceId: string,
  name: string,
): Promise<{ experimentId: string; runId: string }> {
  const exp = ok(
    await api.gql<{ createExperiment: { id: string; name: string } }>(
      CREATE_EXPERIMENT,
      { name },
      ws(workspaceId),
    ),
  );
  expect(exp.createExperiment.name).toBe(name);
  const run = ok(
    await api.gql<{ createRun: { id: string; experimentId: string; status: string } }>(
      CREATE_RUN,
      { experimentId: exp.createExperiment.id },
      ws(workspaceId),
    ),
  );
  expect(run.createRun).toMatchObject({ experimentId: exp.createExperiment.id, status: 'RUNNING' });
  return { experimentId: exp.createExperiment.id, runId: run.createRun.id };
}

async function pointCount(target: Kysely<DB>, workspaceId: string, runId: string): Promise<number> {
  const row = await target
    .selectFrom('metric_points')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('workspace_id', '=', workspaceId)
    .where('run_id', '=', runId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

// ---------------------------------------------------------------------------------------------

describe('scale mode: GraphQL → Postgres log → relay → Kafka → projector → GraphQL', () => {
  it('a 10,000-point batch arrives whole and reads back exactly', async () => {
    const workspaceId = randomWorkspaceId();
    const t0 = Date.now();
    const { experimentId, runId } = await createExperimentAndRun(workspaceId, 'kafka pipeline');
    const t1 = Date.now();

    // Two series of 5,000 points; a spike at step 2,500 that downsampling must keep.
    const base = 1_750_000_000_000;
    const loss = (step: number) => (step === 2500 ? 100 : 1 / (step + 1));
    const accuracy = (step: number) => step / 5000;
    const metrics = [
      ...Array.from({ length: 5000 }, (_, step) => ({
        key: 'loss',
        value: loss(step),
        step,
        timestamp: base + step,
      })),
      ...Array.from({ length: 5000 }, (_, step) => ({
        key: 'accuracy',
        value: accuracy(step),
        step,
        timestamp: base + step,
      })),
    ];
    const logged = ok(
      await api.gql<{ logBatch: Run }>(
        LOG_BATCH,
        {
          runId,
          metrics,
          params: [
            { key: 'lr', value: '0.001' },
            { key: 'batch_size', value: '64' },
          ],
          tags: [{ key: 'team', value: 'kafka' }],
        },
        ws(workspaceId),
      ),
    );
    const t2 = Date.now();
    // Read-your-writes (sync defaults to true): the answer already includes the batch.
    const expectedLatest = [
      { key: 'accuracy', value: accuracy(4999), step: 4999, timestamp: base + 4999 },
      { key: 'loss', value: loss(4999), step: 4999, timestamp: base + 4999 },
    ];
    expect(logged.logBatch.latestMetrics).toEqual(expectedLatest);
    expect(logged.logBatch.params).toEqual([
      { key: 'batch_size', value: '64' },
      { key: 'lr', value: '0.001' },
    ]);

    const read = ok(
      await api.gql<{
        run: Run & {
          full: { step: number; timestamp: number; value: number }[];
          sampled: { step: number; value: number }[];
          acc: { step: number; value: number }[];
        };
        experiments: { nodes: { id: string; name: string }[] };
      }>(
        `query($id: String!) {
          run(id: $id) {
            id params { key value } tags { key value }
            latestMetrics { key value step timestamp }
            full: metricHistory(key: "loss", maxPoints: 10000) { step timestamp value }
            sampled: metricHistory(key: "loss", maxPoints: 100) { step value }
            acc: metricHistory(key: "accuracy", maxPoints: 5000) { step value }
          }
          experiments { nodes { id name } }
        }`,
        { id: runId },
        ws(workspaceId),
      ),
    );
    const run = read.run;
    expect(run.latestMetrics).toEqual(expectedLatest);
    expect(run.params).toEqual([
      { key: 'batch_size', value: '64' },
      { key: 'lr', value: '0.001' },
    ]);
    expect(run.tags).toEqual([{ key: 'team', value: 'kafka' }]);
    expect(run.full).toEqual(
      Array.from({ length: 5000 }, (_, step) => ({
        step,
        timestamp: base + step,
        value: loss(step),
      })),
    );
    expect(run.acc).toEqual(
      Array.from({ length: 5000 }, (_, step) => ({ step, value: accuracy(step) })),
    );
    expect(run.sampled.length).toBeLessThanOrEqual(100);
    expect(run.sampled.length).toBeGreaterThan(50);
    expect(run.sampled[0]).toEqual({ step: 0, value: 1 });
    expect(run.sampled.at(-1)).toEqual({ step: 4999, value: loss(4999) });
    expect(run.sampled).toContainEqual({ step: 2500, value: 100 });
    expect(read.experiments.nodes).toEqual([{ id: experimentId, name: 'kafka pipeline' }]);
    expect(await pointCount(db, workspaceId, runId)).toBe(10_000);

    // The pipeline really went through Kafka: the relay's checkpoint covers the batch's event.
    const relayLag = await logLag(db, await loadLogCheckpoint(db, RELAY_CHECKPOINT));
    expect(relayLag.events).toBe(0);
    const ready = await api.getJson<{ transport: string; relay: { events: number } }>('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.transport).toBe('kafka');
    const { rows: size } = await sql<{ bytes: number }>`
      SELECT max(octet_length(data::text))::int AS bytes FROM events
      WHERE workspace_id = ${workspaceId} AND type = 'RunMetricsLogged'`.execute(db);
    timings.push(
      `(a) experiment+run ${t1 - t0} ms, 10k-point logBatch (sync) ${t2 - t1} ms, event data ${size[0]?.bytes} bytes`,
    );
  });

  it('REBUILD EQUALITY ON KAFKA: Kafka-fed read models equal a rebuild from the log (≥ 10,000 mixed events)', async () => {
    const seed = testSeed();
    const rand = seededRandom(seed);
    const workspaces = [randomWorkspaceId(), randomWorkspaceId()];
    const history = mixedHistory(rand, workspaces, 10_000);
    expect(history.events).toBeGreaterThanOrEqual(10_000);

    // Some of it through the API as well (deciders, unique names, any-version metric appends).
    const apiWs = randomWorkspaceId();
    const t0 = Date.now();
    const [appended] = await Promise.all([
      appendHistory(db, history, rand),
      (async () => {
        const { experimentId, runId } = await createExperimentAndRun(apiWs, 'via graphql');
        for (let i = 0; i < 20; i++) {
          ok(
            await api.gql(
              LOG_BATCH,
              {
                runId,
                metrics: Array.from({ length: 50 }, (_, j) => ({
                  key: j % 2 ? 'loss' : 'acc',
                  value: i + j / 100,
                  step: i * 25 + (j >> 1),
                })),
                params: i % 5 === 0 ? [{ key: `p${i}`, value: String(i) }] : [],
                tags: [{ key: 'iteration', value: String(i) }],
                sync: i % 2 === 0,
              },
              ws(apiWs),
            ),
          );
        }
        ok(
          await api.gql(
            `mutation($id: String!) { deleteTag(runId: $id, key: "iteration") { id } }`,
            { id: runId },
            ws(apiWs),
          ),
        );
        ok(
          await api.gql(
            `mutation($id: String!) { updateRun(runId: $id, status: FINISHED, endTime: 1750000000000) { id } }`,
            { id: runId },
            ws(apiWs),
          ),
        );
        ok(
          await api.gql(
            `mutation($id: String!) { renameExperiment(id: $id, name: "renamed via graphql") { id } }`,
            { id: experimentId },
            ws(apiWs),
          ),
        );
      })(),
    ]);
    expect(appended).toBe(history.events);
    const t1 = Date.now();
    await waitForKafkaCatchUp(db);
    const t2 = Date.now();
    expect(await guardsBelowVersion(db, [...workspaces, apiWs])).toEqual([]);

    // The Kafka-fed read model is right on counts before it is compared with the rebuild.
    const { rows: counts } = await sql<{ runs: number; experiments: number; points: number }>`
      SELECT (SELECT count(*)::int FROM runs WHERE workspace_id = ANY(${workspaces}::text[])) AS runs,
             (SELECT count(*)::int FROM experiments WHERE workspace_id = ANY(${workspaces}::text[])) AS experiments,
             (SELECT count(*)::int FROM metric_points WHERE workspace_id = ANY(${workspaces}::text[])) AS points`.execute(
      db,
    );
    expect(counts[0]).toEqual({
      runs: history.runs,
      experiments: history.experiments,
      points: history.points,
    });

    const live = await dumpReadModels(db);
    const rebuilt = await rebuildAll(db, allProjections, rebuildProjection);
    const t3 = Date.now();
    const after = await dumpReadModels(db);
    timings.push(
      `(b) seed ${seed}: ${history.events} events (${history.points} points) appended + API writes in ${t1 - t0} ms, ` +
        `Kafka catch-up ${t2 - t1} ms more, rebuild of ${rebuilt} events ${t3 - t2} ms`,
    );
    expect(rebuilt).toBeGreaterThanOrEqual(history.events);
    expect(live.metric_points!.length).toBeGreaterThanOrEqual(history.points);
    expect(diffDumps(live, after, ['live', 'rebuilt']), `seed ${seed}`).toEqual([]);
    expect(after).toEqual(live);
    expect(after.dead_letters).toEqual([]);
  });

  it('BROKER STOPPED AND RESTARTED DURING INGEST: every acknowledged point is projected exactly once', async () => {
    const workspaceId = randomWorkspaceId();
    const runs = await Promise.all(
      [0, 1, 2].map((i) => createExperimentAndRun(workspaceId, `outage ${i}`)),
    );
    // Small batches: with the relay's count-bounded publish (1,000 events per sendBatch), a
    // backlog of 50-point events exceeds the broker's max message size and blocks the relay for
    // good (reported; see the KNOWN BUG test below). 5-point events keep the backlog of a few
    // seconds' outage under 1 MB per partition, so this test is about the outage itself.
    const BATCH = 5;
    const acked = new Map<string, number>(runs.map((r) => [r.runId, 0]));
    const ackedSteps = new Map<string, number[]>(runs.map((r) => [r.runId, []]));
    const failures: string[] = [];
    let writing = true;

    const writers = runs.map(async ({ runId }) => {
      for (let batch = 0; writing; batch++) {
        const metrics = Array.from({ length: BATCH }, (_, i) => {
          const step = batch * BATCH + i;
          return { key: 'loss', value: step / 7, step, timestamp: 1_750_000_000_000 + step };
        });
        try {
          const response = await api.gql(
            LOG_BATCH,
            { runId, metrics, sync: false },
            ws(workspaceId),
          );
          if (response.errors) {
            failures.push(JSON.stringify(response.errors));
            await sleep(50);
            continue;
          }
          acked.set(runId, acked.get(runId)! + BATCH);
          ackedSteps.get(runId)!.push(...metrics.map((m) => m.step));
        } catch (error) {
          failures.push(String(error));
        }
      }
    });
    const totalAcked = () => [...acked.values()].reduce((a, b) => a + b, 0);
    const projected = async () => {
      const row = await db
        .selectFrom('metric_points')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('workspace_id', '=', workspaceId)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    };
    const appendedPoints = async () => {
      const { rows } = await sql<{ n: number }>`
        SELECT coalesce(sum(jsonb_array_length(
                 CASE schema_version WHEN 1 THEN data->'metrics' ELSE data->'keyIndex' END)), 0)::int AS n
        FROM events
        WHERE workspace_id = ${workspaceId} AND type = 'RunMetricsLogged'`.execute(db);
      return rows[0]?.n ?? 0;
    };

    try {
      // Normal ingest first: points flow through Kafka.
      await waitFor(
        'points to flow through Kafka',
        async () => (await projected()) > 0 && totalAcked() >= 3000,
        30_000,
      );
      const tKill = Date.now();
      await broker.kill();
      const appendedAtKill = await appendedPoints();
      const ackedAtKill = totalAcked();

      // The broker is down: the API keeps acknowledging, because the log is in Postgres.
      await sleep(4000);
      const ackedDuringOutage = totalAcked() - ackedAtKill;
      const projectedDuringOutage = await projected();
      expect(
        ackedDuringOutage,
        'the API must keep acknowledging while Kafka is down',
      ).toBeGreaterThan(0);
      // Nothing appended after the kill can have reached the read model: its only path is Kafka.
      expect(projectedDuringOutage).toBeLessThanOrEqual(appendedAtKill);
      expect(projectedDuringOutage).toBeLessThan(totalAcked());

      const tRestart = Date.now();
      await broker.restart();
      const tUp = Date.now();
      await sleep(1000); // a little more ingest with the broker back
      writing = false;
      await Promise.all(writers);
      const ackedTotal = totalAcked();
      expect(failures).toEqual([]);

      // Every acknowledged point, exactly once.
      let relayDrainedAt = 0;
      await waitFor(
        'every acknowledged point to be projected',
        async () => {
          if (
            relayDrainedAt === 0 &&
            (await logLag(db, await loadLogCheckpoint(db, RELAY_CHECKPOINT))).events === 0
          ) {
            relayDrainedAt = Date.now();
          }
          return (await projected()) >= ackedTotal;
        },
        90_000,
        200,
      ).catch(async (error: unknown) => {
        throw new Error(
          `${(error as Error).message}: projected ${await projected()} of ${ackedTotal}; errors: ${api.errors.slice(-3).join(' | ')}`,
        );
      });
      const tCaughtUp = Date.now();
      await waitForKafkaCatchUp(db);
      // Consumer groups have nothing left to deliver, so no late redelivery can add rows.
      await waitFor(
        'relay and consumer-group lag 0',
        async () => {
          const ready = await api.getJson<{
            relay: { events: number };
            projections: { events: number }[];
          }>('/readyz');
          return (
            ready.body.relay.events === 0 && ready.body.projections.every((p) => p.events === 0)
          );
        },
        60_000,
        200,
      );
      for (const { runId } of runs) {
        expect(await pointCount(db, workspaceId, runId), runId).toBe(acked.get(runId));
        const { rows } = await sql<{ step: number; n: number; value: number }>`
          SELECT step, count(*)::int AS n, min(value) AS value FROM metric_points
          WHERE workspace_id = ${workspaceId} AND run_id = ${runId} GROUP BY step ORDER BY step`.execute(
          db,
        );
        expect(rows.filter((r) => r.n !== 1)).toEqual([]);
        expect(rows.map((r) => r.step)).toEqual([...ackedSteps.get(runId)!].sort((a, b) => a - b));
        expect(rows.every((r) => r.value === r.step / 7)).toBe(true);
      }
      const dead = await db
        .selectFrom('dead_letters')
        .selectAll()
        .where('workspace_id', '=', workspaceId)
        .execute();
      expect(dead).toEqual([]);
      timings.push(
        `(c) acked ${ackedAtKill} points before the kill, ${ackedDuringOutage} during a ${tRestart - tKill} ms outage ` +
          `(${projectedDuringOutage} projected then), ${ackedTotal} in all; broker restart ${tUp - tRestart} ms, ` +
          `relay drained ${relayDrainedAt - tUp} ms and all projected ${tCaughtUp - tUp} ms after the broker was back`,
      );
    } finally {
      writing = false;
      await Promise.allSettled(writers);
    }
  });

  it('carries the largest batch the API accepts (50,000 points) through Kafka', async () => {
    const workspaceId = randomWorkspaceId();
    const POINTS = 50_000;
    const errorsBefore = api.errors.length;
    const { runId } = await createExperimentAndRun(workspaceId, 'one large batch');
    const metrics = Array.from({ length: POINTS }, (_, step) => ({
      key: 'loss',
      value: 1 / (step + 1),
      step,
      timestamp: 1_750_000_000_000 + step,
    }));
    ok(await api.gql(LOG_BATCH, { runId, metrics, sync: false }, ws(workspaceId)));
    const { rows } = await sql<{ events: number; bytes: number }>`
      SELECT count(*)::int AS events, max(octet_length(data::text))::int AS bytes FROM events
      WHERE workspace_id = ${workspaceId} AND type = 'RunMetricsLogged'`.execute(db);
    // Split into events of at most 5,000 points, each far below the topics' record limit.
    expect(rows[0]?.events).toBe(10);
    expect(rows[0]?.bytes).toBeLessThan(1024 * 1024);
    await waitFor(
      'the large batch to be projected',
      async () => (await pointCount(db, workspaceId, runId)) === POINTS,
      60_000,
      200,
    );
    expect(api.errors.slice(errorsBefore).filter((e) => e.startsWith('relay'))).toEqual([]);
  });
});
