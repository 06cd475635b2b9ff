/**
 * Retention (issue 17; docs/governance.md, "Retention"): a workspace's policy drops traces that
 * started, and metric points stamped, more than N days ago from the read models, through events
 * that record what went (TracesPurged, MetricPointsPurged) and show in the audit log. A second pass
 * appends nothing; data below the cut-off that arrives later stays out; a rebuild of the affected
 * projections from the log (in small batches) gives the same read model; another workspace with
 * the same data keeps it. One server, one database.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findProjection, rebuildProjection } from '@cairn/projector';
import {
  createTestDatabase,
  diffDumps,
  dumpReadModels,
  randomWorkspaceId,
  type ReadModelDump,
} from '@cairn/testing';
import { RETENTION_ACTOR, startRetentionWorker } from '../../src/governance/retention-worker.ts';
import { startApiHarness, type ApiHarness, type GqlResponse } from '../helpers/api-harness.ts';

let api: ApiHarness;
let dropDb: () => Promise<void>;
const W = randomWorkspaceId();
/** Same data, no policy. */
const OTHER = randomWorkspaceId();
const DAY = 86_400_000;
const NOW = Date.now();
const OLD = NOW - 10 * DAY;
const NEW = NOW - 3_600_000;
const hex = (n: number) => randomBytes(n / 2).toString('hex');
const oldTraces = [hex(32), hex(32), hex(32)].sort();
const newTraces = [hex(32), hex(32)];

beforeAll(async () => {
  const database = await createTestDatabase();
  dropDb = database.drop;
  api = await startApiHarness({ databaseUrl: database.url, workspaceId: W });
});

afterAll(async () => {
  await api?.stop();
  await dropDb?.();
});

async function gql<T>(query: string, vars: Record<string, unknown> = {}, w = W) {
  return api.gql<T>(query, vars, { 'x-cairn-workspace': w });
}

async function must<T>(query: string, vars: Record<string, unknown> = {}, w = W): Promise<T> {
  const res: GqlResponse<T> = await gql<T>(query, vars, w);
  expect(res.errors, query).toBeUndefined();
  return res.data!;
}

/** One root span (and a child) per trace, starting at `startMs`. */
async function ingest(w: string, traceIds: readonly string[], startMs: number): Promise<void> {
  const res = await fetch(`${api.url}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-cairn-workspace': w },
    body: JSON.stringify({
      resourceSpans: [
        {
          resource: { attributes: [] },
          scopeSpans: [
            {
              scope: { name: 'retention-test' },
              spans: traceIds.flatMap((traceId) => {
                const root = hex(16);
                return [root, hex(16)].map((spanId, i) => ({
                  traceId,
                  spanId,
                  ...(i === 0 ? {} : { parentSpanId: root }),
                  name: i === 0 ? 'root' : 'child',
                  kind: 1,
                  startTimeUnixNano: `${startMs + i}000000`,
                  endTimeUnixNano: `${startMs + 500}000000`,
                  attributes: [{ key: 'input', value: { stringValue: 'hello' } }],
                }));
              }),
            },
          ],
        },
      ],
    }),
  });
  expect(res.status).toBe(200);
  for (let i = 0; i < 200; i++) {
    const t = await gql<{ trace: { id: string } | null }>(
      `{ trace(id: "${traceIds.at(-1)!}") { id } }`,
      {},
      w,
    );
    if (t.data?.trace) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('traces not projected');
}

async function newRun(w: string): Promise<string> {
  const e = await must<{ createExperiment: { id: string } }>(
    'mutation { createExperiment(name: "retention") { id } }',
    {},
    w,
  );
  const r = await must<{ createRun: { id: string } }>(
    'mutation($e: String!) { createRun(experimentId: $e) { id } }',
    { e: e.createExperiment.id },
    w,
  );
  return r.createRun.id;
}

/** loss: steps 0–49 old, 50–99 new; acc: steps 0–9, all old. */
async function logPoints(w: string, runId: string): Promise<void> {
  const metrics = [
    ...Array.from({ length: 100 }, (_, i) => ({
      key: 'loss',
      step: i,
      timestamp: i < 50 ? OLD + i : NEW + i,
      value: 100 - i,
    })),
    ...Array.from({ length: 10 }, (_, i) => ({ key: 'acc', step: i, timestamp: OLD, value: i })),
  ];
  await must(
    'mutation($r: String!, $m: [MetricInput!]) { logBatch(runId: $r, metrics: $m) { id } }',
    { r: runId, m: metrics },
    w,
  );
}

async function history(runId: string, key: string): Promise<number[]> {
  const d = await must<{ run: { metricHistory: { step: number }[] } }>(
    'query($r: String!, $k: String!) { run(id: $r) { metricHistory(key: $k, maxPoints: 1000) { step } } }',
    { r: runId, k: key },
  );
  return d.run.metricHistory.map((p) => p.step);
}

async function retentionEvents(w: string) {
  return api.db
    .selectFrom('events')
    .select(['type', 'data', 'actor', 'stream_id'])
    .where('workspace_id', '=', w)
    .where('type', 'in', ['TracesPurged', 'MetricPointsPurged'])
    .orderBy('global_position')
    .execute();
}

/** traces.updated_at is the projection's clock (now()), not a fact of the log. */
function withoutClock(dump: ReadModelDump): ReadModelDump {
  const traces = (dump.traces ?? [])
    .map((row) => {
      const { updated_at: _clock, ...rest } = JSON.parse(row) as Record<string, unknown>;
      return JSON.stringify(rest);
    })
    .sort();
  return { ...dump, traces };
}

let run = '';
let otherRun = '';

describe('retention', () => {
  it('validates the policy with typed errors', async () => {
    for (const input of ['{ traceDays: 0 }', '{ metricDays: -3 }', '{ traceDays: 40000 }', '{}']) {
      const res = await gql(`mutation { setRetentionPolicy(input: ${input}) { traceDays } }`);
      expect(res.errors?.[0]?.extensions?.code, input).toBe('INVALID_ARGUMENT');
    }
    const none = await gql('mutation { removeRetentionPolicy }');
    expect(none.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect(await must('{ retentionPolicy { traceDays } }')).toEqual({ retentionPolicy: null });
    // Without a policy a pass does nothing.
    expect(await must('mutation { applyRetention { events } }')).toEqual({
      applyRetention: { events: 0 },
    });
  });

  it('purges old traces and drops old metric points, recorded by events in the audit log', async () => {
    for (const w of [W, OTHER]) {
      await ingest(w, oldTraces, OLD);
      await ingest(w, newTraces, NEW);
    }
    await must(
      `mutation { setTraceTag(traceId: "${oldTraces[0]!}", key: "k", value: "v") { id } }`,
    );
    run = await newRun(W);
    otherRun = await newRun(OTHER);
    await logPoints(W, run);
    await logPoints(OTHER, otherRun);
    const latestBefore = await api.db
      .selectFrom('run_latest_metrics')
      .select(['key', 'step', 'value'])
      .where('workspace_id', '=', W)
      .orderBy('key')
      .execute();

    const set = await must<{ setRetentionPolicy: Record<string, unknown> }>(
      'mutation { setRetentionPolicy(input: { traceDays: 7, metricDays: 7 }) { traceDays metricDays updatedBy } }',
    );
    expect(set.setRetentionPolicy).toMatchObject({ traceDays: 7, metricDays: 7 });

    const applied = await must<{ applyRetention: Record<string, number> }>(
      'mutation { applyRetention { tracesPurged metricPointsPurged events } }',
    );
    expect(applied.applyRetention).toEqual({ tracesPurged: 3, metricPointsPurged: 60, events: 2 });

    // The read models: old traces gone (spans, tags, the trace itself), new ones kept.
    const spans = await api.db
      .selectFrom('trace_spans')
      .select('trace_id')
      .distinct()
      .where('workspace_id', '=', W)
      .execute();
    expect(spans.map((r) => r.trace_id).sort()).toEqual([...newTraces].sort());
    const live = await api.db
      .selectFrom('traces')
      .select('trace_id')
      .where('workspace_id', '=', W)
      .where('deleted', '=', false)
      .execute();
    expect(live.map((r) => r.trace_id).sort()).toEqual([...newTraces].sort());
    const tags = await api.db
      .selectFrom('trace_tags')
      .selectAll()
      .where('workspace_id', '=', W)
      .execute();
    expect(tags).toEqual([]);
    for (const t of oldTraces)
      expect(await must(`{ trace(id: "${t}") { id } }`)).toEqual({ trace: null });
    const stats = await must<{ traceStats: { count: number }[] }>('{ traceStats { count } }');
    expect(stats.traceStats.reduce((n, b) => n + b.count, 0)).toBe(2);
    // Metric history: only the points stamped after the cut-off; the latest values stay.
    expect(await history(run, 'loss')).toEqual(Array.from({ length: 50 }, (_, i) => 50 + i));
    expect(await history(run, 'acc')).toEqual([]);
    expect(
      await api.db
        .selectFrom('run_latest_metrics')
        .select(['key', 'step', 'value'])
        .where('workspace_id', '=', W)
        .orderBy('key')
        .execute(),
    ).toEqual(latestBefore);

    // The log says what went, by whom.
    const events = await retentionEvents(W);
    expect(events.map((e) => [e.type, e.stream_id])).toEqual([
      ['TracesPurged', 'retention-traces'],
      ['MetricPointsPurged', 'retention-metrics'],
    ]);
    const traceData = events[0]!.data as { traceIds: string[]; days: number; before: string };
    expect(traceData.traceIds).toEqual(oldTraces);
    expect(traceData.days).toBe(7);
    const cut = Date.parse(traceData.before);
    expect(cut).toBeGreaterThan(OLD);
    expect(cut).toBeLessThan(NEW);
    expect(events[1]!.data).toMatchObject({
      days: 7,
      points: 60,
      seriesCount: 2,
      series: [
        { runId: run, key: 'acc', points: 10 },
        { runId: run, key: 'loss', points: 50 },
      ].sort((a, b) => (a.key < b.key ? -1 : 1)),
    });
    const audit = await must<{ auditLog: { nodes: { type: string; actor: string }[] } }>(
      '{ auditLog(first: 20) { nodes { type actor } } }',
    );
    const types = audit.auditLog.nodes.map((n) => n.type);
    expect(types).toContain('TracesPurged');
    expect(types).toContain('MetricPointsPurged');
    expect(types).toContain('RetentionPolicySet');

    // Another workspace keeps all of it.
    const other = await api.db
      .selectFrom('traces')
      .select('trace_id')
      .where('workspace_id', '=', OTHER)
      .where('deleted', '=', false)
      .execute();
    expect(other).toHaveLength(5);
    expect(await retentionEvents(OTHER)).toEqual([]);
  });

  it('a second pass appends nothing; late data below the cut-off stays out; a rebuild agrees', async () => {
    const before = (await retentionEvents(W)).length;
    expect(await must('mutation { applyRetention { events tracesPurged } }')).toEqual({
      applyRetention: { events: 0, tracesPurged: 0 },
    });
    expect(await retentionEvents(W)).toHaveLength(before);

    // A late span of a purged trace and a late old point: the read models keep them out.
    await ingest(W, [newTraces[0]!], NEW);
    const late = await fetch(`${api.url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-cairn-workspace': W },
      body: JSON.stringify({
        resourceSpans: [
          {
            resource: { attributes: [] },
            scopeSpans: [
              {
                scope: { name: 'late' },
                spans: [
                  {
                    traceId: oldTraces[1],
                    spanId: hex(16),
                    name: 'late',
                    kind: 1,
                    startTimeUnixNano: `${OLD}000000`,
                    endTimeUnixNano: `${OLD + 1}000000`,
                  },
                ],
              },
            ],
          },
        ],
      }),
    });
    expect(late.status).toBe(200);
    await must(
      'mutation($r: String!, $m: [MetricInput!]) { logBatch(runId: $r, metrics: $m) { id } }',
      {
        r: run,
        m: [
          { key: 'loss', step: 200, timestamp: OLD, value: 1 },
          { key: 'loss', step: 201, timestamp: NOW, value: 2 },
        ],
      },
    );
    // The trace write path waits on the traces checkpoint: one more tag makes sure the late span
    // batch (appended before it) has been applied.
    await must(
      `mutation { setTraceTag(traceId: "${newTraces[1]!}", key: "after", value: "v") { id } }`,
    );
    expect(await history(run, 'loss')).toEqual([
      ...Array.from({ length: 50 }, (_, i) => 50 + i),
      201,
    ]);
    expect(await must(`{ trace(id: "${oldTraces[1]!}") { id } }`)).toEqual({ trace: null });

    const live = withoutClock(await dumpReadModels(api.db, [W, OTHER]));
    for (const name of ['traces', 'runs', 'retention'])
      await rebuildProjection(api.db, findProjection(name)!, { batchSize: 3 });
    const rebuilt = withoutClock(await dumpReadModels(api.db, [W, OTHER]));
    expect(diffDumps(live, rebuilt, ['live', 'rebuilt'])).toEqual([]);
    expect(rebuilt.metric_retention_cutoffs).toHaveLength(1);
    expect(rebuilt.retention_policies).toHaveLength(1);

    // Removing the policy: nothing more is purged, nothing comes back.
    expect(await must('mutation { removeRetentionPolicy }')).toEqual({
      removeRetentionPolicy: true,
    });
    expect(await must('{ retentionPolicy { traceDays } }')).toEqual({ retentionPolicy: null });
    expect(await history(run, 'acc')).toEqual([]);
  });

  it('the worker runs passes on its interval as system:retention', async () => {
    const w = randomWorkspaceId();
    const traceId = hex(32);
    await ingest(w, [traceId], OLD);
    await must('mutation { setRetentionPolicy(input: { traceDays: 2 }) { traceDays } }', {}, w);
    const errors: string[] = [];
    const stop = startRetentionWorker(
      api.deps,
      { info: () => undefined, error: (m) => errors.push(m) },
      50,
    );
    try {
      for (let i = 0; i < 200 && (await retentionEvents(w)).length === 0; i++)
        await new Promise((r) => setTimeout(r, 50));
    } finally {
      await stop();
    }
    const events = await retentionEvents(w);
    expect(
      events.map((e) => [e.type, e.actor, (e.data as { traceIds: string[] }).traceIds]),
    ).toEqual([['TracesPurged', RETENTION_ACTOR, [traceId]]]);
    expect(errors).toEqual([]);
    expect(await must(`{ trace(id: "${traceId}") { id } }`, {}, w)).toEqual({ trace: null });
  });
});
