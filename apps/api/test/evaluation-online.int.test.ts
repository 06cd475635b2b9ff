/**
 * Online evaluation end to end: rules over GraphQL, traces through `POST /v1/traces`, the
 * consumer scoring them against a real local judge server, assessments in the read model.
 * Real Postgres (createTestDatabase), real HTTP, and a consumer process killed with SIGKILL
 * mid-way and restarted (issue 14's acceptance: 50 % sampling of 200 traces scores 35–65 %, no
 * trace scored twice after the kill).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import {
  compareLogPositions,
  createDb,
  loadLogCheckpoint,
  LOG_START,
  saveLogCheckpoint,
  type DbHandle,
} from '@cairn/db';
import { findProjection, projectorRuntime, rebuildProjection, type Logger } from '@cairn/projector';
import { createTestDatabase, randomWorkspaceId } from '@cairn/testing';
import { ONLINE_EVALUATION_READER } from '../src/evaluation/online-evaluator.ts';
import { startCairnApp, type CairnApp } from '../src/index.ts';
import { LlmJudgeServer } from './helpers/llm-judge-server.ts';

const judge = new LlmJudgeServer();
let databaseUrl: string;
let dropDb: () => Promise<void>;
let handle: DbHandle;
const errors: string[] = [];
const logger: Logger = {
  info: () => undefined,
  error: (message, error) =>
    errors.push(`${message}${error instanceof Error ? `: ${error.message}` : ''}`),
};

interface Running {
  app: CairnApp;
  handle: DbHandle;
  stop(): Promise<void>;
}

/** startCairnApp as `cairn server` runs it, with or without the online consumer. */
async function startApp(online: boolean): Promise<Running> {
  const h = createDb(databaseUrl, { maxConnections: 10, applicationName: 'evaluation-online' });
  const app = await startCairnApp({
    handle: h,
    databaseUrl,
    kafka: null,
    logger,
    projectorRuntime,
    withProjector: true,
    withRelay: false,
    port: 0,
    host: '127.0.0.1',
    evaluation: {
      online,
      judge: { baseUrl: judge.url, apiKey: 'sk-judge', baseDelayMs: 10, maxDelayMs: 2000 },
      batchSize: 2,
      maxInFlightTraces: 4,
      idleMs: 50,
    },
  });
  return {
    app,
    handle: h,
    async stop() {
      await app.stop();
      await h.destroy();
    },
  };
}

let running: Running;

beforeAll(async () => {
  const database = await createTestDatabase();
  databaseUrl = database.url;
  dropDb = database.drop;
  handle = createDb(databaseUrl, { maxConnections: 4, applicationName: 'evaluation-online-test' });
  await judge.start();
  // Without the consumer: the SIGKILL test scores in a child process first.
  running = await startApp(false);
});

/** The app with its own online consumer (restarted when it runs without). */
async function withConsumer(): Promise<void> {
  if (running.app.onlineEvaluator) return;
  await running.stop();
  running = await startApp(true);
}

afterAll(async () => {
  await running?.stop();
  await judge.stop();
  await handle?.destroy();
  await dropDb?.();
});

async function gql<T>(ws: string, query: string, variables: Record<string, unknown> = {}) {
  const response = await fetch(`${running.app.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-cairn-workspace': ws },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as {
    data?: T;
    errors?: { message: string; extensions?: Record<string, unknown> }[];
  };
}

const RULE_FIELDS = `id name filter samplingRate active scoredTraces scorers { name type config }`;

async function createRule(ws: string, input: Record<string, unknown>) {
  const r = await gql<{ createEvaluationRule: { id: string } }>(
    ws,
    `mutation($input: CreateEvaluationRuleInput!) { createEvaluationRule(input: $input) { ${RULE_FIELDS} } }`,
    { input },
  );
  return r;
}

interface TraceSpec {
  traceId: string;
  name: string;
  input: string;
  output: string;
  durationMs: number;
  tokens: number;
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

function aTrace(overrides: Partial<TraceSpec> = {}): TraceSpec {
  return {
    traceId: hex(16),
    name: 'chat',
    input: 'What is the capital of France?',
    output: 'Paris',
    durationMs: 100,
    tokens: 50,
    ...overrides,
  };
}

/** One OTLP/JSON request of finished single-span traces. */
async function ingest(ws: string, traces: readonly TraceSpec[]): Promise<void> {
  const now = BigInt(Date.now()) * 1_000_000n;
  const str = (key: string, v: string) => ({ key, value: { stringValue: v } });
  const spans = traces.map((t) => ({
    traceId: t.traceId,
    spanId: hex(8),
    name: t.name,
    kind: 1,
    startTimeUnixNano: String(now),
    endTimeUnixNano: String(now + BigInt(t.durationMs) * 1_000_000n),
    attributes: [
      str('input.value', t.input),
      str('output.value', t.output),
      { key: 'gen_ai.usage.input_tokens', value: { intValue: String(t.tokens) } },
      { key: 'gen_ai.usage.output_tokens', value: { intValue: '0' } },
    ],
    status: { code: 1 },
  }));
  const body = {
    resourceSpans: [
      {
        resource: { attributes: [str('service.name', 'online-eval-test')] },
        scopeSpans: [{ scope: { name: 'test' }, spans }],
      },
    ],
  };
  const response = await fetch(`${running.app.url}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-cairn-workspace': ws },
    body: JSON.stringify(body),
  });
  expect(response.status).toBe(200);
}

interface AssessmentRow {
  trace_id: string;
  name: string;
  value: unknown;
  error: string | null;
  source_type: string;
  metadata: Record<string, unknown>;
}

function assessmentsOf(ws: string, ruleId?: string): Promise<AssessmentRow[]> {
  let q = handle.db
    .selectFrom('assessments')
    .select(['trace_id', 'name', 'value', 'error', 'source_type', 'metadata'])
    .where('workspace_id', '=', ws);
  if (ruleId) q = q.where('rule_id', '=', ruleId);
  return q.execute();
}

/** Polls observable state until `check` holds (deadline, then one last look). */
async function eventually<T>(
  read: () => Promise<T>,
  check: (v: T) => boolean,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (check(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The contract's sampling, written out independently: sha256("<rule>:<trace>")[0..4] / 2^32. */
function expectSampled(ruleId: string, traceId: string, rate: number): boolean {
  const h = createHash('sha256').update(`${ruleId}:${traceId}`).digest();
  return h.readUInt32BE(0) / 4294967296 < rate;
}

describe('online evaluation rules over GraphQL', () => {
  it('creates, lists, updates and deletes rules; specs, filters and rates are validated', async () => {
    const ws = randomWorkspaceId();
    const created = await createRule(ws, {
      name: 'quality',
      filter: "name = 'chat' AND duration_ms < 5000",
      samplingRate: 0.25,
      scorers: [
        { name: 'ok', type: 'regex', config: { pattern: '^ok' } },
        { name: 'polite', type: 'guidelines', config: { guidelines: ['Be polite'] } },
      ],
    });
    expect(created.errors).toBeUndefined();
    const rule = created.data!.createEvaluationRule as unknown as Record<string, unknown>;
    expect(rule).toMatchObject({
      name: 'quality',
      samplingRate: 0.25,
      active: true,
      scoredTraces: 0,
      scorers: [
        { name: 'ok', type: 'regex', config: { pattern: '^ok' } },
        {
          name: 'polite',
          type: 'guidelines',
          config: { guidelines: ['Be polite'], model: 'openai:/gpt-4o-mini' },
        },
      ],
    });

    const bad = async (input: Record<string, unknown>) => {
      const r = await createRule(ws, {
        name: 'bad',
        samplingRate: 0.5,
        scorers: [{ name: 's', type: 'json_valid' }],
        ...input,
      });
      expect(r.data ?? null).toBeNull();
      return r.errors![0]!;
    };
    const unknownType = await bad({ scorers: [{ name: 's', type: 'bleu' }] });
    expect(unknownType.extensions).toMatchObject({
      code: 'INVALID_ARGUMENT',
      reason: 'UNKNOWN_TYPE',
    });
    const badRegex = await bad({
      scorers: [{ name: 's', type: 'regex', config: { pattern: '([' } }],
    });
    expect(badRegex.extensions).toMatchObject({ code: 'INVALID_ARGUMENT', reason: 'BAD_REGEX' });
    const badConfig = await bad({
      scorers: [{ name: 's', type: 'token_budget', config: { maxTokens: 'many' } }],
    });
    expect(badConfig.extensions).toMatchObject({ reason: 'BAD_CONFIG', field: 'maxTokens' });
    const badFilter = await bad({ filter: 'nme = 1' });
    expect(badFilter.extensions).toMatchObject({ code: 'INVALID_ARGUMENT', argument: 'filter' });
    const badRate = await bad({ samplingRate: 1.5 });
    expect(badRate.extensions).toMatchObject({
      code: 'INVALID_ARGUMENT',
      argument: 'samplingRate',
    });

    const updated = await gql<{ updateEvaluationRule: Record<string, unknown> }>(
      ws,
      `mutation($input: UpdateEvaluationRuleInput!) { updateEvaluationRule(input: $input) { ${RULE_FIELDS} } }`,
      { input: { ruleId: rule.id, samplingRate: 1, active: false, filter: null } },
    );
    expect(updated.errors).toBeUndefined();
    expect(updated.data!.updateEvaluationRule).toMatchObject({
      samplingRate: 1,
      active: false,
      filter: null,
      name: 'quality',
    });

    // Another workspace sees nothing of it.
    const other = await gql<{ evaluationRules: { totalCount: number } }>(
      randomWorkspaceId(),
      `{ evaluationRules { totalCount } }`,
    );
    expect(other.data!.evaluationRules.totalCount).toBe(0);
    const listed = await gql<{
      evaluationRules: { totalCount: number; edges: { node: { id: string } }[] };
    }>(ws, `{ evaluationRules(first: 10) { totalCount edges { node { id } } } }`);
    expect(listed.data!.evaluationRules.totalCount).toBe(1);
    expect(listed.data!.evaluationRules.edges.map((e) => e.node.id)).toEqual([rule.id]);

    const deleted = await gql<{ deleteEvaluationRule: string }>(
      ws,
      `mutation($id: ID!) { deleteEvaluationRule(ruleId: $id) }`,
      { id: rule.id },
    );
    expect(deleted.data!.deleteEvaluationRule).toBe(rule.id);
    const gone = await gql<{ evaluationRule: unknown }>(
      ws,
      `query($id: ID!) { evaluationRule(id: $id) { id } }`,
      {
        id: rule.id,
      },
    );
    expect(gone.data!.evaluationRule).toBeNull();
    const again = await gql(ws, `mutation($id: ID!) { deleteEvaluationRule(ruleId: $id) }`, {
      id: rule.id,
    });
    expect(again.errors![0]!.extensions).toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('the online consumer', () => {
  it('samples 50 % of 200 traces deterministically, scores each at most once across a SIGKILL, never another workspace', async () => {
    // The app runs no consumer of its own: a child process scores, and is killed mid-way.
    expect(running.app.onlineEvaluator).toBeNull();
    const ws = randomWorkspaceId();
    const wsB = randomWorkspaceId();
    const created = await createRule(ws, {
      name: 'half',
      filter: "name = 'chat'",
      samplingRate: 0.5,
      scorers: [
        { name: 'relevant', type: 'relevance_to_query' },
        { name: 'fast', type: 'latency_budget', config: { maxMs: 500 } },
      ],
    });
    expect(created.errors).toBeUndefined();
    const ruleId = created.data!.createEvaluationRule.id;
    judge.calls.length = 0;
    judge.rules = [{ match: /wrong answer/, result: 'no' }];
    judge.delayMs = 80; // slow while the child scores: it is killed mid-way

    const traces = Array.from({ length: 200 }, (_, i) =>
      aTrace({
        output: i % 4 === 0 ? `wrong answer ${i}` : `Paris ${i}`,
        durationMs: i % 3 === 0 ? 800 : 100,
      }),
    );
    const others = Array.from({ length: 20 }, () => aTrace({ name: 'embedding' }));
    for (let i = 0; i < traces.length; i += 10) await ingest(ws, traces.slice(i, i + 10));
    await ingest(ws, others);
    // Workspace B: the same trace ids, no rule of its own.
    for (let i = 0; i < traces.length; i += 50) await ingest(wsB, traces.slice(i, i + 50));

    const eligible = traces.filter((t) => expectSampled(ruleId, t.traceId, 0.5));
    expect(eligible.length / traces.length).toBeGreaterThanOrEqual(0.35);
    expect(eligible.length / traces.length).toBeLessThanOrEqual(0.65);

    const child = spawnConsumer();
    try {
      const partial = await eventually(
        () => assessmentsOf(ws, ruleId),
        (rows) => new Set(rows.map((r) => r.trace_id)).size >= 20,
        30_000,
      );
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      judge.delayMs = 10;
      const atKill = new Set(partial.map((r) => r.trace_id)).size;
      expect(atKill).toBeGreaterThanOrEqual(20);
      expect(atKill).toBeLessThan(eligible.length);
    } finally {
      child.kill('SIGKILL');
    }

    // Restarted: the app's own consumer resumes from the durable checkpoint.
    await withConsumer();
    const expected = eligible.length * 2;
    const rows = await eventually(
      () => assessmentsOf(ws, ruleId),
      (r) => r.length >= expected,
      30_000,
    );
    expect(rows).toHaveLength(expected);
    const keys = rows.map((r) => `${r.trace_id}|${r.name}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(new Set(rows.map((r) => r.trace_id))).toEqual(new Set(eligible.map((t) => t.traceId)));
    const scoredShare = eligible.length / traces.length;
    expect(scoredShare).toBeGreaterThanOrEqual(0.35);
    expect(scoredShare).toBeLessThanOrEqual(0.65);

    // No duplicate in the log either: one AssessmentCreated per (trace, scorer).
    const created2 = await handle.db
      .selectFrom('events')
      .select(['data'])
      .where('workspace_id', '=', ws)
      .where('type', '=', 'AssessmentCreated')
      .execute();
    expect(created2).toHaveLength(expected);
    // The judge was asked about each eligible trace once, plus at most the calls in flight
    // when the child was killed (4 traces at once, one judge call each).
    const judgeCalls = judge.calls.filter((c) => c.status === 200).length;
    expect(judgeCalls).toBeGreaterThanOrEqual(eligible.length);
    expect(judgeCalls).toBeLessThanOrEqual(eligible.length + 4);

    // Values: the judge's answers and the trace durations.
    const byKey = new Map(rows.map((r) => [`${r.trace_id}|${r.name}`, r]));
    for (const t of eligible) {
      const i = traces.indexOf(t);
      expect(byKey.get(`${t.traceId}|relevant`)!.value).toBe(i % 4 === 0 ? 'no' : 'yes');
      expect(byKey.get(`${t.traceId}|fast`)!.value).toBe(i % 3 !== 0);
    }
    expect(await assessmentsOf(wsB)).toEqual([]);

    // Whatever the kill hit, a consumer that lost every checkpoint (a crash before its first)
    // re-reads all of it and neither stores nor asks the judge anything again.
    const callsBefore = judge.calls.length;
    const lastSpans = await handle.db
      .selectFrom('events')
      .select([sql<string>`transaction_id::text`.as('tx'), 'global_position'])
      .where('type', '=', 'SpansIngested')
      .orderBy(sql`transaction_id`, 'desc')
      .orderBy('global_position', 'desc')
      .executeTakeFirstOrThrow();
    const end = { transactionId: lastSpans.tx, globalPosition: lastSpans.global_position };
    await saveLogCheckpoint(handle.db, ONLINE_EVALUATION_READER, LOG_START);
    running.app.onlineEvaluator!.wake();
    const replayed = await eventually(
      () => loadLogCheckpoint(handle.db, ONLINE_EVALUATION_READER),
      (at) => compareLogPositions(at, end) >= 0,
    );
    expect(compareLogPositions(replayed, end)).toBeGreaterThanOrEqual(0);
    expect(await assessmentsOf(ws, ruleId)).toHaveLength(expected);
    expect(judge.calls.length).toBe(callsBefore);

    const view = await gql<{
      evaluationRule: {
        scoredTraces: number;
        scores: { count: number; mean: number; errorCount: number }[];
      };
    }>(
      ws,
      `query($id: ID!) { evaluationRule(id: $id) { scoredTraces scores(scorer: "relevant", bucket: "week") { count mean errorCount } } }`,
      { id: ruleId },
    );
    const yes = eligible.filter((t) => traces.indexOf(t) % 4 !== 0).length;
    expect(view.data!.evaluationRule.scoredTraces).toBe(eligible.length);
    const buckets = view.data!.evaluationRule.scores;
    expect(buckets.reduce((n, b) => n + b.count, 0)).toBe(eligible.length);
    expect(buckets.reduce((n, b) => n + b.errorCount, 0)).toBe(0);
    if (buckets.length === 1) expect(buckets[0]!.mean).toBeCloseTo(yes / eligible.length, 9);
  }, 60_000);

  it('retries a judge 429 and stores a judge failure (5xx after the retries) as an error', async () => {
    await withConsumer();
    judge.delayMs = 0;
    const ws = randomWorkspaceId();
    const rule = await createRule(ws, {
      name: 'relevance',
      samplingRate: 1,
      scorers: [
        { name: 'relevant', type: 'relevance_to_query' },
        { name: 'fast', type: 'latency_budget', config: { maxMs: 500 } },
      ],
    });
    const ruleId = rule.data!.createEvaluationRule.id;
    judge.rules = [{ match: /capital of Spain/, result: 'no', rationale: 'off topic' }];
    judge.failNext(1, 429, '1');
    const first = aTrace({ output: 'Madrid is the capital of Spain', durationMs: 900 });
    await ingest(ws, [first]);
    const scored = await eventually(
      () => assessmentsOf(ws, ruleId),
      (rows) => rows.length === 2,
    );
    const byName = Object.fromEntries(scored.map((r) => [r.name, r]));
    expect(byName.relevant).toMatchObject({
      trace_id: first.traceId,
      value: 'no',
      error: null,
      source_type: 'LLM_JUDGE',
      metadata: { attempts: 2, scorerType: 'relevance_to_query' },
    });
    expect(byName.fast).toMatchObject({ value: false, source_type: 'CODE', error: null });
    const calls429 = judge.calls.filter((c) => c.prompt.includes('capital of Spain'));
    expect(calls429.map((c) => c.status)).toEqual([429, 200]);
    expect(calls429[1]!.at - calls429[0]!.at).toBeGreaterThanOrEqual(950);

    judge.failNext(3, 503);
    const second = aTrace({ output: 'Lisbon' });
    await ingest(ws, [second]);
    const failed = await eventually(
      () => assessmentsOf(ws, ruleId),
      (rows) => rows.filter((r) => r.trace_id === second.traceId).length === 2,
    );
    const judged = failed.find((r) => r.trace_id === second.traceId && r.name === 'relevant')!;
    expect(judged.value).toBeNull();
    expect(judged.error).toMatch(/after 3 attempts: HTTP 503/);
    expect(judged.metadata).toMatchObject({ attempts: 3, status: 503 });
    const fast = failed.find((r) => r.trace_id === second.traceId && r.name === 'fast')!;
    expect(fast.value).toBe(true);

    const scores = await gql<{
      evaluationRule: {
        scoredTraces: number;
        scores: { count: number; mean: number | null; errorCount: number }[];
      };
    }>(
      ws,
      `query($id: ID!) { evaluationRule(id: $id) { scoredTraces scores(scorer: "relevant", bucket: "day") { count mean errorCount } } }`,
      { id: ruleId },
    );
    expect(scores.data!.evaluationRule.scoredTraces).toBe(2);
    expect(scores.data!.evaluationRule.scores).toEqual([{ count: 2, mean: 0, errorCount: 1 }]);
    // Through the list too (one batched query for every rule of the page).
    const listed = await gql<{
      evaluationRules: { nodes: { id: string; scores: { count: number }[] }[] };
    }>(
      ws,
      `{ evaluationRules { nodes { id scores(scorer: "relevant", bucket: "day") { count } } } }`,
    );
    expect(listed.data!.evaluationRules.nodes).toEqual([{ id: ruleId, scores: [{ count: 2 }] }]);
  });

  it('the evaluation-rules read model comes back identical from a rebuild', async () => {
    const ws = randomWorkspaceId();
    const a = await createRule(ws, {
      name: 'kept',
      filter: "status = 'OK'",
      samplingRate: 0.2,
      scorers: [{ name: 'json', type: 'json_valid' }],
    });
    await gql(
      ws,
      `mutation($input: UpdateEvaluationRuleInput!) { updateEvaluationRule(input: $input) { id } }`,
      { input: { ruleId: a.data!.createEvaluationRule.id, active: false, samplingRate: 0.7 } },
    );
    const b = await createRule(ws, {
      name: 'dropped',
      samplingRate: 1,
      scorers: [{ name: 'json', type: 'json_valid' }],
    });
    await gql(ws, `mutation($id: ID!) { deleteEvaluationRule(ruleId: $id) }`, {
      id: b.data!.createEvaluationRule.id,
    });
    const dump = () =>
      handle.db
        .selectFrom('evaluation_rules')
        .selectAll()
        .orderBy('workspace_id')
        .orderBy('rule_id')
        .execute();
    const live = await dump();
    expect(live.filter((r) => r.workspace_id === ws)).toMatchObject([
      { name: 'kept', active: false, sampling_rate: 0.7, filter: "status = 'OK'" },
    ]);
    await rebuildProjection(handle.db, findProjection('evaluation-rules')!);
    expect(await dump()).toEqual(live);
  });
});

/** The consumer alone in a child process (killed with SIGKILL by the test). */
function spawnConsumer(): ChildProcess {
  const src = path.resolve(import.meta.dirname, '../src');
  const code = `
    const { createDb } = await import('@cairn/db');
    const { uuidv7 } = await import('@cairn/events');
    const { ChangeListener } = await import(${JSON.stringify(`${src}/write/projection-waiter.ts`)});
    const { OnlineEvaluator } = await import(${JSON.stringify(`${src}/evaluation/online-evaluator.ts`)});
    const { JudgeClient } = await import(${JSON.stringify(`${src}/evaluation/scorers/judge-client.ts`)});
    const url = process.env.CAIRN_TEST_DB_URL;
    const handle = createDb(url, { maxConnections: 6, applicationName: 'online-eval-child' });
    const changes = new ChangeListener(url, handle.db);
    await changes.start();
    const deps = {
      db: handle.db, changes, readYourWritesTimeoutMs: 5000,
      decideContext: { now: () => new Date(), newId: uuidv7 },
    };
    const evaluator = new OnlineEvaluator({
      deps, pool: handle.pool, batchSize: 2, maxInFlightTraces: 4, idleMs: 50,
      logger: { info: () => undefined, error: (m, e) => console.error(m, e) },
      judge: new JudgeClient({ baseUrl: process.env.CAIRN_JUDGE_BASE_URL, apiKey: 'sk-judge', baseDelayMs: 10 }),
    });
    evaluator.start();
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: path.resolve(import.meta.dirname, '../../..'),
    env: { ...process.env, CAIRN_TEST_DB_URL: databaseUrl, CAIRN_JUDGE_BASE_URL: judge.url },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.on('data', (d: Buffer) => errors.push(`child: ${d.toString()}`));
  return child;
}
