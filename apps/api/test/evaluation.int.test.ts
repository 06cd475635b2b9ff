/**
 * Evaluation backend through GraphQL (issue 14): assessments (feedback, expectations, overrides
 * with history, deletion, OCC under concurrent updates), datasets (versioned, from traces),
 * evaluation runs (idempotent rows, summary, comparison), typed errors that store nothing,
 * workspace isolation, subscriptions over graphql-ws, and a rebuild equal to the live read model.
 */
import { createHash } from 'node:crypto';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { newEntityId, spanBatchStreamId, type IngestedSpan } from '@cairn/events';
import { findProjection, rebuildProjection, type Projection } from '@cairn/projector';
import {
  aNewEvent,
  appendEvents,
  canonical,
  createTestDatabase,
  randomWorkspaceId,
} from '@cairn/testing';
import { startApiHarness, type ApiHarness, type GqlResponse } from './helpers/api-harness.ts';

const evaluationProjection: Projection = findProjection('evaluation')!;

let api: ApiHarness;
let dropDb: () => Promise<void>;

beforeAll(async () => {
  const database = await createTestDatabase();
  dropDb = database.drop;
  api = await startApiHarness({ databaseUrl: database.url });
});

afterAll(async () => {
  await api?.stop();
  await dropDb?.();
});

function ok<T>(response: GqlResponse<T>): T {
  expect(response.errors).toBeUndefined();
  return response.data!;
}
const codeOf = (r: GqlResponse<unknown>) => {
  expect(r.errors?.length).toBeGreaterThan(0);
  return r.errors![0]!.extensions?.code;
};

const hex = (n: number) =>
  Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');

function client(w: string) {
  const headers = { 'x-cairn-workspace': w };
  return <T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}) =>
    api.gql<T>(query, variables, headers);
}
type Gql = ReturnType<typeof client>;

/** Appends one SpansIngested batch (one root span per trace) and waits for the traces projection. */
async function ingestTraces(w: string, traces: { traceId: string; inputs?: unknown }[]) {
  const batchId = newEntityId();
  const streamId = spanBatchStreamId(batchId);
  const start = 1_764_583_200_000n * 1_000_000n;
  const spans: IngestedSpan[] = traces.map((t, i) => ({
    traceId: t.traceId,
    spanId: hex(16),
    parentSpanId: null,
    traceState: null,
    name: 'answer',
    kind: 'INTERNAL',
    startTimeUnixNano: `${start + BigInt(i) * 1_000_000n}`,
    endTimeUnixNano: `${start + BigInt(i) * 1_000_000n + 10_000_000n}`,
    status: { code: 'OK', message: null },
    attributes: t.inputs === undefined ? {} : { 'cairn.span.inputs': JSON.stringify(t.inputs) },
    events: [],
    links: [],
    resourceIndex: 0,
    scope: { name: 'test', version: null },
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  }));
  await appendEvents(
    api.db,
    w,
    streamId,
    'span-batch',
    [aNewEvent('SpansIngested', { batchId, resources: [{ 'service.name': 'svc' }], spans })],
    'no_stream',
  );
  const deadline = Date.now() + 10_000;
  for (;;) {
    const row = await api.db
      .selectFrom('projection_stream_positions')
      .select('position')
      .where('workspace_id', '=', w)
      .where('projection', '=', 'traces')
      .where('stream_id', '=', streamId)
      .executeTakeFirst();
    if ((row?.position ?? 0) >= 1) return;
    if (Date.now() > deadline) throw new Error(`traces projection did not apply ${streamId}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function newTrace(w: string, inputs?: unknown): Promise<string> {
  const traceId = hex(32);
  await ingestTraces(w, [{ traceId, inputs }]);
  return traceId;
}

async function newRun(gql: Gql, experimentId?: string): Promise<{ runId: string; exp: string }> {
  const exp =
    experimentId ??
    ok(
      await gql<{ createExperiment: { id: string } }>(
        'mutation($n:String!){createExperiment(name:$n){id}}',
        { n: `exp-${hex(8)}` },
      ),
    ).createExperiment.id;
  const runId = ok(
    await gql<{ createRun: { id: string } }>(
      'mutation($e:String!){createRun(experimentId:$e, name:"eval"){id}}',
      { e: exp },
    ),
  ).createRun.id;
  return { runId, exp };
}

/** Rows of every evaluation table of the workspace, canonical and sorted. */
async function dumpEvaluation(w: string): Promise<Record<string, string[]>> {
  const dump: Record<string, string[]> = {};
  for (const table of evaluationProjection.tables) {
    const { rows } = await sql<Record<string, unknown>>`
      SELECT * FROM ${sql.table(table)} WHERE workspace_id = ${w}`.execute(api.db);
    dump[table] = rows.map(canonical).sort();
  }
  return dump;
}

async function countEvents(w: string, prefix: string): Promise<number> {
  const row = await api.db
    .selectFrom('events')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('workspace_id', '=', w)
    .where('stream_id', 'like', `${prefix}%`)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

const ASSESSMENT = `id traceId spanId kind name value rationale error source{type id} author runId ruleId
  metadata createdAt updatedAt history{value rationale source{type id} author at}`;

function rowKey(inputs: unknown): string {
  const canon = (v: unknown): string =>
    v === null || typeof v !== 'object'
      ? JSON.stringify(v)
      : Array.isArray(v)
        ? `[${v.map(canon).join(',')}]`
        : `{${Object.keys(v)
            .sort()
            .map((k) => `${JSON.stringify(k)}:${canon((v as Record<string, unknown>)[k])}`)
            .join(',')}}`;
  return createHash('sha256').update(canon(inputs)).digest('hex');
}

describe('assessments', () => {
  it('logs feedback and expectations, reads them on the trace and by filter, overrides keep history, deletes', async () => {
    const w = randomWorkspaceId();
    const gql = client(w);
    const traceId = await newTrace(w);
    const fb = ok(
      await gql<{ logFeedback: Record<string, unknown> }>(
        `mutation($t:String!){logFeedback(input:{traceId:$t, name:"helpful", value:true, rationale:"clear",
          metadata:{ui:"thumbs"}}){${ASSESSMENT}}}`,
        { t: traceId },
      ),
    ).logFeedback;
    expect(fb).toMatchObject({
      traceId,
      spanId: null,
      kind: 'FEEDBACK',
      name: 'helpful',
      value: true,
      rationale: 'clear',
      error: null,
      source: { type: 'HUMAN', id: expect.any(String) as string },
      runId: null,
      ruleId: null,
      metadata: { ui: 'thumbs' },
      history: [],
    });
    expect(fb.id).toMatch(/^[0-9a-f]{32}$/u);
    const spanId = hex(16);
    const ex = ok(
      await gql<{ logExpectation: Record<string, unknown> }>(
        `mutation($t:String!,$s:String!){logExpectation(input:{traceId:$t, spanId:$s, name:"expected_response",
          value:{text:"Paris"}, source:{type:CODE, id:"dataset"}}){${ASSESSMENT}}}`,
        { t: traceId, s: spanId },
      ),
    ).logExpectation;
    expect(ex).toMatchObject({
      kind: 'EXPECTATION',
      spanId,
      value: { text: 'Paris' },
      source: { type: 'CODE', id: 'dataset' },
    });
    // a scorer failure: no value, an error
    ok(
      await gql(
        `mutation($t:String!){logFeedback(input:{traceId:$t, name:"safety", error:"judge timed out",
          source:{type:LLM_JUDGE, id:"safety"}}){id value error}}`,
        { t: traceId },
      ),
    );
    // Trace.assessments: newest first
    const onTrace = ok(
      await gql<{ trace: { assessments: { name: string }[] } }>(
        `query($t:ID!){trace(id:$t){assessments{name}}}`,
        { t: traceId },
      ),
    ).trace.assessments.map((a) => a.name);
    expect(onTrace).toEqual(['safety', 'expected_response', 'helpful']);
    const byName = ok(
      await gql<{ assessments: { totalCount: number; nodes: { id: string }[] } }>(
        `query($t:String!){assessments(traceId:$t, name:"helpful"){totalCount nodes{id}}}`,
        { t: traceId },
      ),
    ).assessments;
    expect(byName).toEqual({ totalCount: 1, nodes: [{ id: fb.id }] });

    // override: the earlier value, rationale and source stay in the history
    const updated = ok(
      await gql<{ updateAssessment: Record<string, unknown> & { history: unknown[] } }>(
        `mutation($a:ID!){updateAssessment(input:{assessmentId:$a, value:false, rationale:"wrong city",
          source:{type:HUMAN, id:"reviewer@x"}}){${ASSESSMENT}}}`,
        { a: fb.id },
      ),
    ).updateAssessment;
    expect(updated).toMatchObject({
      value: false,
      rationale: 'wrong city',
      source: { type: 'HUMAN', id: 'reviewer@x' },
    });
    expect(updated.history).toEqual([
      {
        value: true,
        rationale: 'clear',
        source: fb.source,
        author: fb.author,
        at: fb.updatedAt,
      },
    ]);
    // a field left out keeps its value
    const again = ok(
      await gql<{ updateAssessment: { value: unknown; rationale: string; history: unknown[] } }>(
        `mutation($a:ID!){updateAssessment(input:{assessmentId:$a, value:0.5}){value rationale history{value}}}`,
        { a: fb.id },
      ),
    ).updateAssessment;
    expect(again).toEqual({
      value: 0.5,
      rationale: 'wrong city',
      history: [{ value: true }, { value: false }],
    });

    // delete
    expect(
      ok(
        await gql<{ deleteAssessment: string }>(
          `mutation($a:ID!){deleteAssessment(assessmentId:$a)}`,
          { a: fb.id },
        ),
      ).deleteAssessment,
    ).toBe(fb.id);
    const after = ok(
      await gql<{ trace: { assessments: { id: string }[] } }>(
        `query($t:ID!){trace(id:$t){assessments{id}}}`,
        { t: traceId },
      ),
    ).trace.assessments.map((a) => a.id);
    expect(after).not.toContain(fb.id);
    expect(
      codeOf(await gql(`mutation($a:ID!){deleteAssessment(assessmentId:$a)}`, { a: fb.id })),
    ).toBe('NOT_FOUND');
    expect(
      codeOf(
        await gql(`mutation($a:ID!){updateAssessment(input:{assessmentId:$a, value:1}){id}}`, {
          a: fb.id,
        }),
      ),
    ).toBe('NOT_FOUND');
  });

  it('refuses bad input with typed errors and stores nothing', async () => {
    const w = randomWorkspaceId();
    const gql = client(w);
    const traceId = await newTrace(w);
    const log = (input: Record<string, unknown>) =>
      gql(`mutation($i:LogFeedbackInput!){logFeedback(input:$i){id}}`, { i: input });
    const cases: [Record<string, unknown>, string][] = [
      [{ traceId, name: '' }, 'INVALID_ARGUMENT'],
      [{ traceId, name: '   ' }, 'INVALID_ARGUMENT'],
      [{ traceId, name: 'x'.repeat(257) }, 'INVALID_ARGUMENT'],
      [{ traceId, name: 'big', value: { s: 'x'.repeat(65 * 1024) } }, 'INVALID_ARGUMENT'],
      [{ traceId, name: 'r', rationale: 'x'.repeat(16 * 1024 + 1) }, 'INVALID_ARGUMENT'],
      [{ traceId, name: 'm', metadata: { s: 'x'.repeat(17 * 1024) } }, 'INVALID_ARGUMENT'],
      [{ traceId, name: 'm', metadata: [1, 2] }, 'INVALID_ARGUMENT'],
      [{ traceId: 'not-a-trace', name: 'n' }, 'INVALID_ARGUMENT'],
      [{ traceId: traceId.toUpperCase(), name: 'n' }, 'INVALID_ARGUMENT'],
      [{ traceId, spanId: 'xyz', name: 'n' }, 'INVALID_ARGUMENT'],
      [{ traceId, name: 'n', source: { type: 'HUMAN', id: '' } }, 'INVALID_ARGUMENT'],
      [{ traceId, name: 'nul\u0000' }, 'INVALID_ARGUMENT'],
      [{ traceId, name: 'n', runId: 'nope' }, 'INVALID_ARGUMENT'],
      [{ traceId, name: 'n', runId: hex(32) }, 'NOT_FOUND'],
      [{ traceId: hex(32), name: 'n' }, 'NOT_FOUND'],
    ];
    for (const [input, code] of cases)
      expect([input, codeOf(await log(input))]).toEqual([input, code]);
    expect(
      codeOf(
        await gql(
          // JSON! refuses null before the resolver runs
          `mutation($t:String!){logExpectation(input:{traceId:$t, name:"e", value:null}){id}}`,
          {
            t: traceId,
          },
        ),
      ),
    ).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(
      codeOf(await gql(`mutation{updateAssessment(input:{assessmentId:"zz", value:1}){id}}`)),
    ).toBe('INVALID_ARGUMENT');
    expect(await countEvents(w, 'assessment-')).toBe(0);
    expect((await dumpEvaluation(w)).assessments).toEqual([]);
  });

  it('serialises concurrent updates (OCC): every override lands once, in the history', async () => {
    const w = randomWorkspaceId();
    const gql = client(w);
    const traceId = await newTrace(w);
    const { id } = ok(
      await gql<{ logFeedback: { id: string } }>(
        `mutation($t:String!){logFeedback(input:{traceId:$t, name:"score", value:0}){id}}`,
        { t: traceId },
      ),
    ).logFeedback;
    const n = 12;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        gql(`mutation($a:ID!,$v:JSON){updateAssessment(input:{assessmentId:$a, value:$v}){id}}`, {
          a: id,
          v: i + 1,
        }),
      ),
    );
    for (const r of results) expect(r.errors).toBeUndefined();
    const a = ok(
      await gql<{ assessments: { nodes: { value: number; history: { value: number }[] }[] } }>(
        `query($t:String!){assessments(traceId:$t){nodes{value history{value}}}}`,
        { t: traceId },
      ),
    ).assessments.nodes[0]!;
    const seen = [...a.history.map((h) => h.value), a.value];
    expect(seen).toHaveLength(n + 1);
    expect(seen[0]).toBe(0);
    expect([...seen].sort((x, y) => x - y)).toEqual(Array.from({ length: n + 1 }, (_, i) => i));
    const stream = await api.db
      .selectFrom('streams')
      .select('version')
      .where('workspace_id', '=', w)
      .where('stream_id', '=', `assessment-${id}`)
      .executeTakeFirstOrThrow();
    expect(Number(stream.version)).toBe(n + 1);
  });
});

describe('datasets', () => {
  it('creates with unique names, appends versions, reads records as of a version, appends from traces', async () => {
    const w = randomWorkspaceId();
    const gql = client(w);
    const { exp } = await newRun(gql);
    const DS = 'id name experimentId version recordCount tags{key value} createdAt updatedAt';
    const created = ok(
      await gql<{ createEvaluationDataset: { id: string; version: number; recordCount: number } }>(
        `mutation($e:ID){createEvaluationDataset(input:{name:"qa", experimentId:$e, tags:[{key:"team",value:"ml"}]}){${DS}}}`,
        { e: exp },
      ),
    ).createEvaluationDataset;
    expect(created).toMatchObject({
      name: 'qa',
      experimentId: exp,
      version: 0,
      recordCount: 0,
      tags: [{ key: 'team', value: 'ml' }],
    });
    expect(codeOf(await gql(`mutation{createEvaluationDataset(input:{name:"qa"}){id}}`))).toBe(
      'ALREADY_EXISTS',
    );
    const append = (records: unknown[]) =>
      gql<{ appendDatasetRecords: { version: number; recordCount: number } }>(
        `mutation($d:ID!,$r:[DatasetRecordInput!]!){appendDatasetRecords(input:{datasetId:$d, records:$r}){version recordCount}}`,
        { d: created.id, r: records },
      );
    expect(
      ok(
        await append([
          { inputs: { q: 'capital of France?' }, expectations: { expected_response: 'Paris' } },
          { inputs: { q: '2+2?' }, expectations: { expected_response: '4' }, tags: { k: 'math' } },
        ]),
      ).appendDatasetRecords,
    ).toEqual({ version: 1, recordCount: 2 });
    expect(ok(await append([{ inputs: { q: 'hi' } }])).appendDatasetRecords).toEqual({
      version: 2,
      recordCount: 3,
    });
    // from traces: inputs of the trace, expectations = its EXPECTATION assessments
    const t1 = await newTrace(w, { question: 'colour of the sky?' });
    ok(
      await gql(
        `mutation($t:String!){logExpectation(input:{traceId:$t, name:"expected_response", value:"blue"}){id}}`,
        { t: t1 },
      ),
    );
    ok(
      await gql(
        `mutation($t:String!){logFeedback(input:{traceId:$t, name:"helpful", value:true}){id}}`,
        {
          t: t1,
        },
      ),
    );
    expect(
      ok(
        await gql<{ appendDatasetRecordsFromTraces: { version: number; recordCount: number } }>(
          `mutation($d:ID!,$t:[String!]!){appendDatasetRecordsFromTraces(input:{datasetId:$d, traceIds:$t}){version recordCount}}`,
          { d: created.id, t: [t1] },
        ),
      ).appendDatasetRecordsFromTraces,
    ).toEqual({ version: 3, recordCount: 4 });

    const read = async (version: number | null, first = 50, after: string | null = null) =>
      ok(
        await gql<{
          evaluationDataset: {
            records: {
              totalCount: number;
              pageInfo: { hasNextPage: boolean; endCursor: string | null };
              nodes: {
                inputs: unknown;
                expectations: unknown;
                tags: unknown;
                sourceTraceId: string | null;
                version: number;
              }[];
            };
          };
        }>(
          `query($n:String,$v:Int,$f:Int,$a:String){evaluationDataset(name:$n){records(version:$v, first:$f, after:$a){
            totalCount pageInfo{hasNextPage endCursor} nodes{inputs expectations tags sourceTraceId version}}}}`,
          { n: 'qa', v: version, f: first, a: after },
        ),
      ).evaluationDataset.records;
    const v1 = await read(1);
    expect(v1.totalCount).toBe(2);
    expect(v1.nodes.map((r) => r.inputs)).toEqual([{ q: 'capital of France?' }, { q: '2+2?' }]);
    expect(v1.nodes[1]).toMatchObject({ tags: { k: 'math' }, version: 1, sourceTraceId: null });
    const latest = await read(null);
    expect(latest.totalCount).toBe(4);
    expect(latest.nodes[3]).toEqual({
      inputs: { question: 'colour of the sky?' },
      expectations: { expected_response: 'blue' },
      tags: {},
      sourceTraceId: t1,
      version: 3,
    });
    // pagination
    const p1 = await read(null, 3);
    expect(p1.pageInfo.hasNextPage).toBe(true);
    const p2 = await read(null, 3, p1.pageInfo.endCursor);
    expect([...p1.nodes, ...p2.nodes]).toEqual(latest.nodes);
    expect(p2.pageInfo.hasNextPage).toBe(false);
    expect(
      codeOf(await gql(`{evaluationDataset(name:"qa"){records(version:9){totalCount}}}`)),
    ).toBe('INVALID_ARGUMENT');
    // list
    ok(await gql(`mutation{createEvaluationDataset(input:{name:"other"}){id}}`));
    const list = ok(
      await gql<{ evaluationDatasets: { totalCount: number; nodes: { name: string }[] } }>(
        `{evaluationDatasets{totalCount nodes{name}}}`,
      ),
    ).evaluationDatasets;
    expect(list).toEqual({ totalCount: 2, nodes: [{ name: 'other' }, { name: 'qa' }] });
    expect(
      ok(
        await gql<{ evaluationDatasets: { nodes: { name: string }[] } }>(
          `{evaluationDatasets(nameContains:"Q"){nodes{name}}}`,
        ),
      ).evaluationDatasets.nodes,
    ).toEqual([{ name: 'qa' }]);
    expect(
      ok(
        await gql<{ evaluationDataset: { id: string } }>(
          `query($i:ID){evaluationDataset(id:$i){id}}`,
          { i: created.id },
        ),
      ).evaluationDataset.id,
    ).toBe(created.id);
  });

  it('refuses bad dataset input with typed errors and stores nothing', async () => {
    const w = randomWorkspaceId();
    const gql = client(w);
    const bad: [string, Record<string, unknown>, string][] = [
      [
        `mutation($i:CreateEvaluationDatasetInput!){createEvaluationDataset(input:$i){id}}`,
        { i: { name: '' } },
        'INVALID_ARGUMENT',
      ],
      [
        `mutation($i:CreateEvaluationDatasetInput!){createEvaluationDataset(input:$i){id}}`,
        { i: { name: 'x'.repeat(300) } },
        'INVALID_ARGUMENT',
      ],
      [
        `mutation($i:CreateEvaluationDatasetInput!){createEvaluationDataset(input:$i){id}}`,
        { i: { name: 'a', experimentId: hex(32) } },
        'NOT_FOUND',
      ],
      [
        `mutation($i:CreateEvaluationDatasetInput!){createEvaluationDataset(input:$i){id}}`,
        { i: { name: 'a', tags: [{ key: '', value: 'v' }] } },
        'INVALID_ARGUMENT',
      ],
      [
        `mutation($i:AppendDatasetRecordsInput!){appendDatasetRecords(input:$i){id}}`,
        { i: { datasetId: hex(32), records: [{ inputs: {} }] } },
        'NOT_FOUND',
      ],
    ];
    for (const [q, v, code] of bad) expect([v, codeOf(await gql(q, v))]).toEqual([v, code]);
    const { id } = ok(
      await gql<{ createEvaluationDataset: { id: string } }>(
        `mutation{createEvaluationDataset(input:{name:"d"}){id}}`,
      ),
    ).createEvaluationDataset;
    const append = (records: unknown) =>
      gql(
        `mutation($d:ID!,$r:[DatasetRecordInput!]!){appendDatasetRecords(input:{datasetId:$d, records:$r}){id}}`,
        {
          d: id,
          r: records,
        },
      );
    for (const records of [
      [],
      [{ inputs: 'a string' }],
      [{ inputs: [1] }],
      [{ inputs: {}, expectations: 'x' }],
      [{ inputs: { big: 'x'.repeat(130 * 1024) } }],
      [{ inputs: {}, sourceTraceId: 'bad' }],
      [{ inputs: {}, sourceTraceId: hex(32) }],
      Array.from({ length: 501 }, () => ({ inputs: {} })),
    ])
      expect(['NOT_FOUND', 'INVALID_ARGUMENT']).toContain(codeOf(await append(records)));
    expect(
      codeOf(
        await gql(
          `mutation($d:ID!){appendDatasetRecordsFromTraces(input:{datasetId:$d, traceIds:["${hex(32)}"]}){id}}`,
          {
            d: id,
          },
        ),
      ),
    ).toBe('NOT_FOUND');
    expect(codeOf(await gql(`{evaluationDataset(id:"${id}", name:"d"){id}}`))).toBe(
      'INVALID_ARGUMENT',
    );
    // only the creation is stored
    expect(await countEvents(w, 'evaluation-dataset-')).toBe(1);
    const dump = await dumpEvaluation(w);
    expect(dump.evaluation_dataset_records).toEqual([]);
    expect(dump.evaluation_datasets).toHaveLength(1);
  });
});

describe('evaluation runs', () => {
  async function setup(w: string) {
    const gql = client(w);
    const inputs = [{ q: 'a' }, { q: 'b' }, { q: 'c' }];
    const traces = inputs.map(() => hex(32));
    await ingestTraces(
      w,
      traces.map((traceId, i) => ({ traceId, inputs: inputs[i] })),
    );
    const base = await newRun(gql);
    const cand = await newRun(gql, base.exp);
    return { gql, inputs, traces, base: base.runId, cand: cand.runId, exp: base.exp };
  }
  const register = (gql: Gql, runId: string, extra = '') =>
    gql<{ registerEvaluationRun: Record<string, unknown> }>(
      `mutation($r:ID!){registerEvaluationRun(input:{runId:$r, scorers:["correctness","length"] ${extra}}){
        runId name experimentId scorers rowCount datasetId datasetVersion modelId run{id name}}}`,
      { r: runId },
    );
  const record = (gql: Gql, runId: string, rows: unknown[]) =>
    gql<{ recordEvaluationRows: number }>(
      `mutation($r:ID!,$rows:[EvaluationRowInput!]!){recordEvaluationRows(input:{runId:$r, rows:$rows})}`,
      { r: runId, rows },
    );
  const judge = { type: 'LLM_JUDGE', id: 'correctness' };
  const code = { type: 'CODE', id: 'length' };
  const row = (
    inputs: unknown,
    traceId: string,
    correctness: unknown,
    length: unknown,
    extra = {},
  ) => ({
    rowKey: rowKey(inputs),
    traceId,
    inputs,
    outputs: { answer: `${JSON.stringify(inputs)}!` },
    expectations: { expected_response: 'x' },
    scores: [
      { name: 'correctness', value: correctness, rationale: 'because', source: judge },
      { name: 'length', value: length, source: code },
    ],
    ...extra,
  });

  it('registers, records rows idempotently, summarises, lists, and compares two runs', async () => {
    const w = randomWorkspaceId();
    const { gql, inputs, traces, base, cand, exp } = await setup(w);
    const reg = ok(await register(gql, base, ', modelId:"m-1"')).registerEvaluationRun;
    expect(reg).toMatchObject({
      runId: base,
      name: 'eval',
      experimentId: exp,
      scorers: ['correctness', 'length'],
      rowCount: 0,
      modelId: 'm-1',
      run: { id: base, name: 'eval' },
    });
    ok(await register(gql, base)); // again: no change
    ok(await register(gql, cand));
    expect(
      ok(
        await record(gql, base, [
          row(inputs[0], traces[0]!, 'yes', 10),
          row(inputs[1], traces[1]!, 'yes', 20),
        ]),
      ).recordEvaluationRows,
    ).toBe(2);
    // re-sending a rowKey is idempotent; a new row is added
    expect(
      ok(
        await record(gql, base, [
          row(inputs[1], traces[1]!, 'no', 99),
          row(inputs[2], traces[2]!, 'no', 30),
        ]),
      ).recordEvaluationRows,
    ).toBe(2);
    ok(
      await record(gql, cand, [
        row(inputs[0], traces[0]!, 'yes', 10),
        row(inputs[1], traces[1]!, 'no', 25),
        {
          ...row({ q: 'd' }, traces[2]!, true, 1),
          scores: [{ name: 'correctness', error: 'judge failed', source: judge }],
        },
      ]),
    );
    const RUN = `runId rowCount summary{name mean count errorCount}
      rows(first:2){totalCount pageInfo{hasNextPage endCursor} nodes{rowKey traceId inputs outputs expectations assessments{name value rationale runId kind source{type id}}}}`;
    const b = ok(
      await gql<{
        evaluationRun: {
          rowCount: number;
          summary: unknown[];
          rows: {
            totalCount: number;
            pageInfo: { hasNextPage: boolean; endCursor: string };
            nodes: { rowKey: string; assessments: { name: string; value: unknown }[] }[];
          };
        };
      }>(`query($r:ID!){evaluationRun(runId:$r){${RUN}}}`, { r: base }),
    ).evaluationRun;
    expect(b.rowCount).toBe(3);
    expect(b.summary).toEqual([
      { name: 'correctness', mean: 2 / 3, count: 3, errorCount: 0 },
      { name: 'length', mean: 20, count: 3, errorCount: 0 },
    ]);
    expect(b.rows.totalCount).toBe(3);
    expect(b.rows.pageInfo.hasNextPage).toBe(true);
    expect(b.rows.nodes.map((r) => r.rowKey)).toEqual([rowKey(inputs[0]), rowKey(inputs[1])]);
    // the first recording of row b is kept (value 'yes', length 20)
    expect(b.rows.nodes[1]!.assessments.map((a) => [a.name, a.value])).toEqual([
      ['correctness', 'yes'],
      ['length', 20],
    ]);
    const next = ok(
      await gql<{
        evaluationRun: {
          rows: { nodes: { rowKey: string }[]; pageInfo: { hasNextPage: boolean } };
        };
      }>(
        `query($r:ID!,$a:String){evaluationRun(runId:$r){rows(first:2, after:$a){nodes{rowKey} pageInfo{hasNextPage}}}}`,
        { r: base, a: b.rows.pageInfo.endCursor },
      ),
    ).evaluationRun.rows;
    expect(next).toEqual({
      nodes: [{ rowKey: rowKey(inputs[2]) }],
      pageInfo: { hasNextPage: false },
    });
    // score assessments are FEEDBACK on the row's trace, with runId set
    const onTrace = ok(
      await gql<{ assessments: { nodes: { kind: string; runId: string; traceId: string }[] } }>(
        `query($r:String!){assessments(runId:$r){nodes{kind runId traceId}}}`,
        { r: base },
      ),
    ).assessments.nodes;
    expect(onTrace).toHaveLength(6);
    for (const a of onTrace) expect(a).toMatchObject({ kind: 'FEEDBACK', runId: base });
    const c = ok(
      await gql<{ evaluationRun: { summary: unknown[] } }>(
        `query($r:ID!){evaluationRun(runId:$r){summary{name mean count errorCount}}}`,
        {
          r: cand,
        },
      ),
    ).evaluationRun;
    expect(c.summary).toEqual([
      { name: 'correctness', mean: 0.5, count: 3, errorCount: 1 },
      { name: 'length', mean: 17.5, count: 2, errorCount: 0 },
    ]);
    // list, newest first
    const runs = ok(
      await gql<{ evaluationRuns: { totalCount: number; nodes: { runId: string }[] } }>(
        `query($e:ID){evaluationRuns(experimentId:$e){totalCount nodes{runId}}}`,
        { e: exp },
      ),
    ).evaluationRuns;
    expect(runs).toEqual({ totalCount: 2, nodes: [{ runId: cand }, { runId: base }] });

    // comparison
    const CMP = `base{runId} candidate{runId} scorers{name baseMean candidateMean regressions improvements}
      rows(first:$f, after:$a){totalCount pageInfo{hasNextPage endCursor} nodes{rowKey inputs regressed improved
        base{rowKey} candidate{rowKey} scores{name base candidate change}}}`;
    type Cmp = {
      compareEvaluationRuns: {
        scorers: unknown[];
        rows: {
          totalCount: number;
          pageInfo: { hasNextPage: boolean; endCursor: string };
          nodes: {
            rowKey: string;
            regressed: boolean;
            improved: boolean;
            base: unknown;
            candidate: unknown;
            scores: unknown[];
          }[];
        };
      };
    };
    const compare = (onlyChanged: boolean) => paged(onlyChanged, 50, null);
    // rows are paginated through the field arguments of compareEvaluationRuns
    const paged = (onlyChanged: boolean, f: number, a: string | null) =>
      gql<Cmp>(
        `query($b:ID!,$c:ID!,$o:Boolean,$f:Int,$a:String){compareEvaluationRuns(baseRunId:$b, candidateRunId:$c, onlyChanged:$o, first:$f, after:$a){${CMP.replace('rows(first:$f, after:$a)', 'rows')}}}`,
        { b: base, c: cand, o: onlyChanged, f, a },
      );
    const all = ok(await compare(false)).compareEvaluationRuns;
    expect(all.scorers).toEqual([
      { name: 'correctness', baseMean: 2 / 3, candidateMean: 0.5, regressions: 1, improvements: 0 },
      { name: 'length', baseMean: 20, candidateMean: 17.5, regressions: 0, improvements: 1 },
    ]);
    expect(all.rows.totalCount).toBe(4);
    const byKey = new Map(all.rows.nodes.map((n) => [n.rowKey, n]));
    expect(byKey.get(rowKey(inputs[0]))).toMatchObject({ regressed: false, improved: false });
    expect(byKey.get(rowKey(inputs[1]))).toMatchObject({
      regressed: true,
      improved: true,
      scores: [
        { name: 'correctness', base: 'yes', candidate: 'no', change: 'REGRESSED' },
        { name: 'length', base: 20, candidate: 25, change: 'IMPROVED' },
      ],
    });
    expect(byKey.get(rowKey(inputs[2]))).toMatchObject({
      candidate: null,
      base: { rowKey: rowKey(inputs[2]) },
    });
    expect(byKey.get(rowKey({ q: 'd' }))).toMatchObject({
      base: null,
      scores: [{ name: 'correctness', base: null, candidate: null, change: 'ADDED' }],
    });
    const changed = ok(await compare(true)).compareEvaluationRuns.rows;
    expect(changed.totalCount).toBe(3);
    expect(changed.nodes.map((n) => n.rowKey)).not.toContain(rowKey(inputs[0]));
    const p1 = ok(await paged(true, 2, null)).compareEvaluationRuns.rows;
    expect(p1.pageInfo.hasNextPage).toBe(true);
    const p2 = ok(await paged(true, 2, p1.pageInfo.endCursor)).compareEvaluationRuns.rows;
    expect([...p1.nodes, ...p2.nodes].map((n) => n.rowKey)).toEqual(
      changed.nodes.map((n) => n.rowKey),
    );
    expect(p2.pageInfo.hasNextPage).toBe(false);

    // an assessment of a run can be overridden like any other (history kept, run summary follows)
    const target = onTrace[0] as unknown as { id?: string };
    expect(target).toBeDefined();
    const ids = ok(
      await gql<{ assessments: { nodes: { id: string; name: string; traceId: string }[] } }>(
        `query($r:String!,$t:String!){assessments(runId:$r, traceId:$t, name:"length"){nodes{id name traceId}}}`,
        { r: base, t: traces[0] },
      ),
    ).assessments.nodes;
    expect(ids).toHaveLength(1);
    const over = ok(
      await gql<{
        updateAssessment: { value: unknown; history: { value: unknown }[]; runId: string };
      }>(
        `mutation($a:ID!){updateAssessment(input:{assessmentId:$a, value:40}){value runId history{value}}}`,
        { a: ids[0]!.id },
      ),
    ).updateAssessment;
    expect(over).toEqual({ value: 40, runId: base, history: [{ value: 10 }] });
    const s = ok(
      await gql<{ evaluationRun: { summary: { name: string; mean: number }[] } }>(
        `query($r:ID!){evaluationRun(runId:$r){summary{name mean}}}`,
        {
          r: base,
        },
      ),
    ).evaluationRun.summary;
    expect(s.find((x) => x.name === 'length')?.mean).toBe(30);
  });

  it('refuses bad run input with typed errors and stores nothing', async () => {
    const w = randomWorkspaceId();
    const { gql, inputs, traces, base } = await setup(w);
    expect(codeOf(await register(gql, hex(32)))).toBe('NOT_FOUND');
    expect(codeOf(await register(gql, 'short'))).toBe('INVALID_ARGUMENT');
    expect(codeOf(await register(gql, base, `, datasetId:"${hex(32)}"`))).toBe('NOT_FOUND');
    expect(codeOf(await register(gql, base, ', datasetVersion:2'))).toBe('INVALID_ARGUMENT');
    // rows before registration
    expect(codeOf(await record(gql, base, [row(inputs[0], traces[0]!, 1, 1)]))).toBe('NOT_FOUND');
    ok(await register(gql, base));
    const good = row(inputs[0], traces[0]!, 1, 1);
    const badRows: unknown[][] = [
      [],
      Array.from({ length: 101 }, (_, i) => row({ i }, traces[0]!, 1, 1)),
      [{ ...good, rowKey: '' }],
      [{ ...good, rowKey: 'has space' }],
      [{ ...good, traceId: 'nope' }],
      [{ ...good, traceId: hex(32) }],
      [{ ...good, inputs: { big: 'x'.repeat(130 * 1024) } }],
      [{ ...good, scores: [{ name: '', value: 1, source: code }] }],
      [{ ...good, scores: [{ name: 'v', value: 'x'.repeat(65 * 1024), source: code }] }],
      [
        {
          ...good,
          scores: [{ name: 'v', value: 1, rationale: 'x'.repeat(17 * 1024), source: code }],
        },
      ],
      [{ ...good, scores: [{ name: 'v', value: 1, source: { type: 'CODE', id: ' ' } }] }],
      [
        {
          ...good,
          scores: Array.from({ length: 51 }, (_, i) => ({ name: `s${i}`, value: 1, source: code })),
        },
      ],
    ];
    for (const rows of badRows) {
      const c = codeOf(await record(gql, base, rows));
      expect(['INVALID_ARGUMENT', 'NOT_FOUND']).toContain(c);
    }
    expect(codeOf(await record(gql, base, [{ ...good, traceId: hex(32) }]))).toBe('NOT_FOUND');
    expect(await countEvents(w, 'evaluation-run-')).toBe(1);
    const dump = await dumpEvaluation(w);
    expect(dump.evaluation_rows).toEqual([]);
    expect(dump.assessments).toEqual([]);
    expect(
      codeOf(
        await gql(
          `query($b:ID!){compareEvaluationRuns(baseRunId:$b, candidateRunId:"${hex(32)}"){base{runId}}}`,
          {
            b: base,
          },
        ),
      ),
    ).toBe('NOT_FOUND');
    expect(codeOf(await gql(`{evaluationRuns(first:201){totalCount}}`))).toBe('INVALID_ARGUMENT');
  });
});

describe('workspaces, subscriptions, rebuild', () => {
  it('keeps workspaces apart: B cannot see or change A’s assessments, datasets and runs', async () => {
    const a = randomWorkspaceId();
    const b = randomWorkspaceId();
    const ga = client(a);
    const gb = client(b);
    const traceId = await newTrace(a);
    const { id } = ok(
      await ga<{ logFeedback: { id: string } }>(
        `mutation($t:String!){logFeedback(input:{traceId:$t, name:"n", value:1}){id}}`,
        { t: traceId },
      ),
    ).logFeedback;
    const ds = ok(
      await ga<{ createEvaluationDataset: { id: string } }>(
        `mutation{createEvaluationDataset(input:{name:"shared-name"}){id}}`,
      ),
    ).createEvaluationDataset.id;
    const { runId } = await newRun(ga);
    ok(
      await ga(`mutation($r:ID!){registerEvaluationRun(input:{runId:$r, scorers:["s"]}){runId}}`, {
        r: runId,
      }),
    );

    // B: the trace does not exist there
    expect(
      codeOf(
        await gb(`mutation($t:String!){logFeedback(input:{traceId:$t, name:"n", value:1}){id}}`, {
          t: traceId,
        }),
      ),
    ).toBe('NOT_FOUND');
    expect(
      codeOf(
        await gb(`mutation($a:ID!){updateAssessment(input:{assessmentId:$a, value:2}){id}}`, {
          a: id,
        }),
      ),
    ).toBe('NOT_FOUND');
    expect(codeOf(await gb(`mutation($a:ID!){deleteAssessment(assessmentId:$a)}`, { a: id }))).toBe(
      'NOT_FOUND',
    );
    expect(
      ok(await gb<{ assessments: { totalCount: number } }>(`{assessments{totalCount}}`)).assessments
        .totalCount,
    ).toBe(0);
    expect(
      ok(
        await gb<{ evaluationDataset: unknown }>(`query($i:ID){evaluationDataset(id:$i){id}}`, {
          i: ds,
        }),
      ).evaluationDataset,
    ).toBeNull();
    expect(
      codeOf(
        await gb(
          `mutation($d:ID!){appendDatasetRecords(input:{datasetId:$d, records:[{inputs:{}}]}){id}}`,
          { d: ds },
        ),
      ),
    ).toBe('NOT_FOUND');
    expect(
      ok(
        await gb<{ evaluationDatasets: { totalCount: number } }>(
          `{evaluationDatasets{totalCount}}`,
        ),
      ).evaluationDatasets.totalCount,
    ).toBe(0);
    // names are per workspace
    ok(await gb(`mutation{createEvaluationDataset(input:{name:"shared-name"}){id}}`));
    expect(
      ok(
        await gb<{ evaluationRun: unknown }>(`query($r:ID!){evaluationRun(runId:$r){runId}}`, {
          r: runId,
        }),
      ).evaluationRun,
    ).toBeNull();
    expect(
      ok(await gb<{ evaluationRuns: { totalCount: number } }>(`{evaluationRuns{totalCount}}`))
        .evaluationRuns.totalCount,
    ).toBe(0);
    expect(
      codeOf(
        await gb(
          `mutation($r:ID!){registerEvaluationRun(input:{runId:$r, scorers:["s"]}){runId}}`,
          { r: runId },
        ),
      ),
    ).toBe('NOT_FOUND');
    // A still sees its own, unchanged
    const mine = ok(
      await ga<{ assessments: { nodes: { value: unknown; history: unknown[] }[] } }>(
        `{assessments{nodes{value history{value}}}}`,
      ),
    ).assessments.nodes;
    expect(mine).toEqual([{ value: 1, history: [] }]);
  });

  it('pushes assessmentsChanged and evaluationRunChanged over graphql-ws', async () => {
    const w = randomWorkspaceId();
    const gql = client(w);
    const traceId = await newTrace(w);
    const other = await newTrace(w);
    const { runId } = await newRun(gql);
    const ws = createClient({
      url: `${api.url.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { 'x-cairn-workspace': w },
    });
    try {
      const changes: { assessmentId: string; traceId: string; runId: string | null }[] = [];
      const runChanges: string[] = [];
      let gotTwo!: () => void;
      const two = new Promise<void>((resolve) => (gotTwo = resolve));
      let gotRun!: () => void;
      const run = new Promise<void>((resolve) => (gotRun = resolve));
      ws.subscribe<{ assessmentsChanged: (typeof changes)[number] }>(
        {
          query: `subscription{assessmentsChanged(traceId:"${traceId}"){assessmentId traceId runId}}`,
        },
        {
          next: (msg) => {
            if (msg.data) changes.push(msg.data.assessmentsChanged);
            if (changes.length >= 2) gotTwo();
          },
          error: () => undefined,
          complete: () => undefined,
        },
      );
      ws.subscribe<{ evaluationRunChanged: { runId: string } }>(
        { query: `subscription{evaluationRunChanged(runId:"${runId}"){runId}}` },
        {
          next: (msg) => {
            if (msg.data) runChanges.push(msg.data.evaluationRunChanged.runId);
            gotRun();
          },
          error: () => undefined,
          complete: () => undefined,
        },
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      ok(
        await gql(`mutation($t:String!){logFeedback(input:{traceId:$t, name:"x", value:1}){id}}`, {
          t: other,
        }),
      );
      const { id } = ok(
        await gql<{ logFeedback: { id: string } }>(
          `mutation($t:String!){logFeedback(input:{traceId:$t, name:"x", value:1}){id}}`,
          {
            t: traceId,
          },
        ),
      ).logFeedback;
      ok(
        await gql(`mutation($a:ID!){updateAssessment(input:{assessmentId:$a, value:2}){id}}`, {
          a: id,
        }),
      );
      ok(
        await gql(
          `mutation($r:ID!){registerEvaluationRun(input:{runId:$r, scorers:["s"]}){runId}}`,
          { r: runId },
        ),
      );
      const timeout = (what: string) =>
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error(`no ${what} within 5 s`)), 5000),
        );
      await Promise.race([two, timeout('assessment pushes')]);
      await Promise.race([run, timeout('run push')]);
      expect(changes.slice(0, 2)).toEqual([
        { assessmentId: id, traceId, runId: null },
        { assessmentId: id, traceId, runId: null },
      ]);
      expect(runChanges[0]).toBe(runId);
    } finally {
      await ws.dispose();
    }
  });

  it('rebuilds the evaluation read models from the log identically', async () => {
    const w = randomWorkspaceId();
    const gql = client(w);
    const [t1, t2] = [hex(32), hex(32)];
    await ingestTraces(w, [
      { traceId: t1, inputs: { q: 1 } },
      { traceId: t2, inputs: { q: 2 } },
    ]);
    const { id } = ok(
      await gql<{ logFeedback: { id: string } }>(
        `mutation($t:String!){logFeedback(input:{traceId:$t, name:"a", value:"yes"}){id}}`,
        {
          t: t1,
        },
      ),
    ).logFeedback;
    ok(
      await gql(
        `mutation($a:ID!){updateAssessment(input:{assessmentId:$a, value:"no", rationale:"r"}){id}}`,
        { a: id },
      ),
    );
    const gone = ok(
      await gql<{ logExpectation: { id: string } }>(
        `mutation($t:String!){logExpectation(input:{traceId:$t, name:"e", value:"v"}){id}}`,
        {
          t: t2,
        },
      ),
    ).logExpectation.id;
    ok(
      await gql(
        `mutation($t:String!){logExpectation(input:{traceId:$t, name:"kept", value:[1,2]}){id}}`,
        { t: t2 },
      ),
    );
    ok(await gql(`mutation($a:ID!){deleteAssessment(assessmentId:$a)}`, { a: gone }));
    const ds = ok(
      await gql<{ createEvaluationDataset: { id: string } }>(
        `mutation{createEvaluationDataset(input:{name:"rb"}){id}}`,
      ),
    ).createEvaluationDataset.id;
    ok(
      await gql(
        `mutation($d:ID!){appendDatasetRecords(input:{datasetId:$d, records:[{inputs:{x:1}},{inputs:{x:2}}]}){id}}`,
        { d: ds },
      ),
    );
    ok(
      await gql(
        `mutation($d:ID!,$t:[String!]!){appendDatasetRecordsFromTraces(input:{datasetId:$d, traceIds:$t}){id}}`,
        { d: ds, t: [t1, t2] },
      ),
    );
    const { runId } = await newRun(gql);
    ok(
      await gql(`mutation($r:ID!){registerEvaluationRun(input:{runId:$r, scorers:["s"]}){runId}}`, {
        r: runId,
      }),
    );
    const score = (v: unknown) => [{ name: 's', value: v, source: { type: 'CODE', id: 's' } }];
    ok(
      await gql(
        `mutation($r:ID!,$rows:[EvaluationRowInput!]!){recordEvaluationRows(input:{runId:$r, rows:$rows})}`,
        {
          r: runId,
          rows: [
            { rowKey: 'k1', traceId: t1, inputs: { q: 1 }, scores: score(1) },
            { rowKey: 'k2', traceId: t2, inputs: { q: 2 }, outputs: 'o', scores: score(0) },
          ],
        },
      ),
    );
    const runScore = ok(
      await gql<{ assessments: { nodes: { id: string }[] } }>(
        `query($r:String!){assessments(runId:$r, traceId:"${t1}"){nodes{id}}}`,
        {
          r: runId,
        },
      ),
    ).assessments.nodes[0]!.id;
    ok(
      await gql(`mutation($a:ID!){updateAssessment(input:{assessmentId:$a, value:0.25}){id}}`, {
        a: runScore,
      }),
    );

    const before = await dumpEvaluation(w);
    expect(before.assessments).toHaveLength(4);
    expect(before.evaluation_dataset_records).toHaveLength(4);
    expect(before.evaluation_rows).toHaveLength(2);
    const graph = `{ assessments(first:200){ nodes{ ${ASSESSMENT} } }
      evaluationDataset(name:"rb"){ id version recordCount records{ nodes{ id inputs expectations version } } }
      evaluationRuns{ nodes{ runId rowCount summary{name mean count errorCount} rows{ nodes{ rowKey assessments{ id value } } } } } }`;
    const graphBefore = ok(await gql(graph));
    await rebuildProjection(api.db, evaluationProjection);
    const after = await dumpEvaluation(w);
    expect(after).toEqual(before);
    expect(ok(await gql(graph))).toEqual(graphBefore);
  });
});
