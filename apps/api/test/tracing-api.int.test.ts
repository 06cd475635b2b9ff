import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newEntityId, spanBatchStreamId, type IngestedSpan } from '@cairn/events';
import { aNewEvent, appendEvents, createTestDatabase, randomWorkspaceId } from '@cairn/testing';
import { startApiHarness, type ApiHarness, type GqlResponse } from './helpers/api-harness.ts';

let api: ApiHarness;
let dropDb: () => Promise<void>;
const queries: string[] = [];
let counting = false;

beforeAll(async () => {
  const database = await createTestDatabase();
  dropDb = database.drop;
  api = await startApiHarness({
    databaseUrl: database.url,
    onQuery: (sql) => {
      if (counting && !/log_checkpoints|from "events"|projection_stream_positions/.test(sql))
        queries.push(sql);
    },
  });
});

afterAll(async () => {
  await api?.stop();
  await dropDb?.();
});

const ws = (w: string) => ({ 'x-cairn-workspace': w });
const hex = (n: number) =>
  Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');
const aTraceId = () => hex(32);
const aSpanId = () => hex(16);
/** 2025-12-01T10:00:00Z in ns, plus an offset in ms (and a ns remainder to check exactness). */
const T0 = 1_764_583_200_000n * 1_000_000n;
const at = (ms: number, ns = 0n) => `${T0 + BigInt(ms) * 1_000_000n + ns}`;

function span(overrides: Partial<IngestedSpan> & { traceId: string }): IngestedSpan {
  const start = overrides.startTimeUnixNano ?? at(0);
  return {
    spanId: aSpanId(),
    parentSpanId: null,
    traceState: null,
    name: 'span',
    kind: 'INTERNAL',
    startTimeUnixNano: start,
    endTimeUnixNano: `${BigInt(start) + 10_000_000n}`,
    status: { code: 'UNSET', message: null },
    attributes: {},
    events: [],
    links: [],
    resourceIndex: 0,
    scope: { name: 'test', version: null },
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
    ...overrides,
  };
}

/** Appends one SpansIngested batch and waits until the traces projection has applied it. */
async function ingest(w: string, spans: IngestedSpan[]): Promise<void> {
  const batchId = newEntityId();
  const streamId = spanBatchStreamId(batchId);
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

function ok<T>(response: GqlResponse<T>): T {
  expect(response.errors).toBeUndefined();
  return response.data!;
}

const codeOf = (r: GqlResponse<unknown>) => r.errors?.[0]?.extensions?.code;

/** A chat trace: root CHAIN span, one LLM child with GenAI attributes. */
async function chatTrace(
  w: string,
  opts: {
    ms: number;
    model?: string;
    session?: string;
    user?: string;
    error?: boolean;
    route?: string;
  },
): Promise<string> {
  const traceId = aTraceId();
  const root = aSpanId();
  await ingest(w, [
    span({
      traceId,
      spanId: root,
      name: 'answer',
      startTimeUnixNano: at(opts.ms, 7n),
      endTimeUnixNano: at(opts.ms + 100, 7n),
      status: { code: opts.error ? 'ERROR' : 'OK', message: opts.error ? 'boom' : null },
      attributes: {
        'openinference.span.kind': 'CHAIN',
        'input.value': '{"question":"hi"}',
        'cairn.trace.tags': '{"team":"nlp"}',
        ...(opts.session ? { 'session.id': opts.session } : {}),
        ...(opts.user ? { 'user.id': opts.user } : {}),
        ...(opts.route ? { 'http.route': opts.route } : {}),
      },
    }),
    span({
      traceId,
      parentSpanId: root,
      name: 'chat',
      kind: 'CLIENT',
      startTimeUnixNano: at(opts.ms + 10),
      endTimeUnixNano: at(opts.ms + 60),
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.request.model': opts.model ?? 'gpt-4o',
        'gen_ai.usage.input_tokens': 100,
        'gen_ai.usage.output_tokens': 20,
        retries: 2,
      },
      events: [{ name: 'token', timeUnixNano: at(opts.ms + 20), attributes: { i: 1 } }],
    }),
  ]);
  return traceId;
}

const TRACE_FIELDS = `id name status startTime endTime startTimeUnixNano endTimeUnixNano durationMs inputs
  sessionId userId spanCount errorCount tags { key value } metadata { key value } runId run { id }
  tokenUsage { inputTokens outputTokens totalTokens } cost
  spans { id parentId name kind spanType startTimeUnixNano durationMs status { code message } model
    tokenUsage { inputTokens outputTokens } attributes resource events { name timeUnixNano attributes } }`;

describe('tracing API', () => {
  it('reads a trace with its spans, exact nanosecond times, tags and token roll-ups', async () => {
    const w = randomWorkspaceId();
    const traceId = await chatTrace(w, { ms: 0, session: 's1', user: 'u1' });
    const { trace } = ok(
      await api.gql<{ trace: Record<string, unknown> & { spans: Record<string, unknown>[] } }>(
        `query($id: ID!){ trace(id: $id) { ${TRACE_FIELDS} } }`,
        { id: traceId },
        ws(w),
      ),
    );
    expect(trace).toMatchObject({
      id: traceId,
      name: 'answer',
      status: 'OK',
      startTime: 1_764_583_200_000,
      endTime: 1_764_583_200_100,
      startTimeUnixNano: at(0, 7n),
      endTimeUnixNano: at(100, 7n),
      durationMs: 100,
      sessionId: 's1',
      userId: 'u1',
      spanCount: 2,
      errorCount: 0,
      tags: [{ key: 'team', value: 'nlp' }],
      metadata: [],
      runId: null,
      run: null,
      tokenUsage: { inputTokens: 100, outputTokens: 20, totalTokens: 120 },
    });
    expect(trace.spans.map((s) => [s.name, s.kind, s.spanType, s.model])).toEqual([
      ['answer', 'INTERNAL', 'CHAIN', null],
      ['chat', 'CLIENT', 'CHAT_MODEL', 'gpt-4o'],
    ]);
    expect(trace.spans[1]).toMatchObject({
      parentId: trace.spans[0]!.id,
      startTimeUnixNano: at(10),
      durationMs: 50,
      status: { code: 'UNSET', message: null },
      tokenUsage: { inputTokens: 100, outputTokens: 20 },
      resource: { 'service.name': 'svc' },
      events: [{ name: 'token', timeUnixNano: at(20), attributes: { i: 1 } }],
    });
    expect((trace.spans[1]!.attributes as Record<string, unknown>).retries).toBe(2);
  });

  it('answers null for unknown traces, INVALID_ARGUMENT for malformed ids, nothing across workspaces', async () => {
    const w = randomWorkspaceId();
    const traceId = await chatTrace(w, { ms: 0 });
    const other = randomWorkspaceId();
    expect(ok(await api.gql(`{ trace(id: "${traceId}") { id } }`, {}, ws(other)))).toEqual({
      trace: null,
    });
    const list = ok(
      await api.gql<{ traces: { totalCount: number; nodes: unknown[] } }>(
        '{ traces { totalCount nodes { id } } sessions { totalCount } traceStats { count } }',
        {},
        ws(other),
      ),
    );
    expect(list).toEqual({
      traces: { totalCount: 0, nodes: [] },
      sessions: { totalCount: 0 },
      traceStats: [{ count: 0 }],
    });
    expect(ok(await api.gql(`{ trace(id: "${aTraceId()}") { id } }`, {}, ws(w)))).toEqual({
      trace: null,
    });
    const bad = await api.gql('{ trace(id: "nope") { id } }', {}, ws(w));
    expect(codeOf(bad)).toBe('INVALID_ARGUMENT');
  });

  it('searches, orders and pages traces with keyset cursors', async () => {
    const w = randomWorkspaceId();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push(
        await chatTrace(w, {
          ms: i * 1000,
          model: i % 2 === 0 ? 'gpt-4o' : 'claude-sonnet-4',
          error: i === 4,
          route: i < 2 ? '/api/chat' : '/api/other',
        }),
      );
    const search = async (
      filter: string | null,
      orderBy: string[] | null = null,
      first = 50,
      after: string | null = null,
    ) =>
      ok(
        await api.gql<{
          traces: {
            totalCount: number;
            nodes: { id: string }[];
            pageInfo: { hasNextPage: boolean; endCursor: string | null };
          };
        }>(
          'query($f:String,$o:[String!],$n:Int,$a:String){ traces(filter:$f, orderBy:$o, first:$n, after:$a) { totalCount nodes { id } pageInfo { hasNextPage endCursor } } }',
          { f: filter, o: orderBy, n: first, a: after },
          ws(w),
        ),
      ).traces;
    // Newest first by default.
    expect((await search(null)).nodes.map((n) => n.id)).toEqual([...ids].reverse());
    expect(
      (await search("attributes.`gen_ai.request.model` = 'claude-sonnet-4'")).nodes.map(
        (n) => n.id,
      ),
    ).toEqual([ids[3], ids[1]]);
    expect(
      (await search("attributes.`http.route` = '/api/chat' AND status = 'ok'")).nodes.map(
        (n) => n.id,
      ),
    ).toEqual([ids[1], ids[0]]);
    expect((await search("attributes.retries >= 2 AND NOT status = 'ERROR'")).totalCount).toBe(4);
    expect(
      (await search("span.model LIKE 'claude%' OR status = 'ERROR'")).nodes.map((n) => n.id),
    ).toEqual([ids[4], ids[3], ids[1]]);
    expect(
      (await search(`timestamp_ms >= ${1_764_583_200_000 + 3000}`)).nodes.map((n) => n.id),
    ).toEqual([ids[4], ids[3]]);
    expect((await search("tags.team = 'nlp' AND total_tokens = 120")).totalCount).toBe(5);
    // Pages of two, oldest first.
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page = await search(null, ['timestamp_ms ASC'], 2, after);
      expect(page.totalCount).toBe(5);
      seen.push(...page.nodes.map((n) => n.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(ids);
    const badFilter = await api.gql('{ traces(filter: "spam = 1") { totalCount } }', {}, ws(w));
    expect(codeOf(badFilter)).toBe('INVALID_ARGUMENT');
    expect(badFilter.errors?.[0]?.extensions?.position).toBe(0);
  });

  it('sets and deletes tags and metadata with read-your-writes, and deletes traces', async () => {
    const w = randomWorkspaceId();
    const traceId = await chatTrace(w, { ms: 0 });
    const tagged = ok(
      await api.gql<{ setTraceTag: { tags: unknown[] } }>(
        `mutation{ setTraceTag(traceId: "${traceId}", key: "reviewed", value: "yes") { tags { key value } } }`,
        {},
        ws(w),
      ),
    );
    expect(tagged.setTraceTag.tags).toEqual([
      { key: 'reviewed', value: 'yes' },
      { key: 'team', value: 'nlp' },
    ]);
    // A tag from span attributes can be deleted too.
    const untagged = ok(
      await api.gql<{ deleteTraceTag: { tags: unknown[] } }>(
        `mutation{ deleteTraceTag(traceId: "${traceId}", key: "team") { tags { key value } } }`,
        {},
        ws(w),
      ),
    );
    expect(untagged.deleteTraceTag.tags).toEqual([{ key: 'reviewed', value: 'yes' }]);
    const annotated = ok(
      await api.gql<{ setTraceMetadata: { metadata: unknown[] } }>(
        `mutation{ setTraceMetadata(traceId: "${traceId}", key: "ticket", value: "T-1") { metadata { key value } } }`,
        {},
        ws(w),
      ),
    );
    expect(annotated.setTraceMetadata.metadata).toEqual([{ key: 'ticket', value: 'T-1' }]);
    expect(
      ok(
        await api.gql<{ traces: { totalCount: number } }>(
          `{ traces(filter: "metadata.ticket = 'T-1' AND tags.team IS NULL") { totalCount } }`,
          {},
          ws(w),
        ),
      ).traces.totalCount,
    ).toBe(1);
    // A metadata key goes the same way; deleting it again changes nothing.
    for (let i = 0; i < 2; i++) {
      const unannotated = ok(
        await api.gql<{ deleteTraceMetadata: { metadata: unknown[] } }>(
          `mutation{ deleteTraceMetadata(traceId: "${traceId}", key: "ticket") { metadata { key value } } }`,
          {},
          ws(w),
        ),
      );
      expect(unannotated.deleteTraceMetadata.metadata).toEqual([]);
    }
    const stream = await api.db
      .selectFrom('events')
      .select('type')
      .where('workspace_id', '=', w)
      .where('stream_id', '=', `trace-${traceId}`)
      .where('type', '=', 'TraceMetadataDeleted')
      .execute();
    expect(stream).toHaveLength(1);
    expect(
      codeOf(
        await api.gql(
          `mutation{ deleteTraceMetadata(traceId: "${traceId}", key: "") { id } }`,
          {},
          ws(w),
        ),
      ),
    ).toBe('INVALID_ARGUMENT');
    const unknown = await api.gql(
      `mutation{ setTraceTag(traceId: "${aTraceId()}", key: "a", value: "b") { id } }`,
      {},
      ws(w),
    );
    expect(codeOf(unknown)).toBe('NOT_FOUND');
    const tooLong = await api.gql(
      `mutation{ setTraceTag(traceId: "${traceId}", key: "${'k'.repeat(251)}", value: "b") { id } }`,
      {},
      ws(w),
    );
    expect(codeOf(tooLong)).toBe('INVALID_ARGUMENT');
    const deleted = ok(
      await api.gql<{ deleteTraces: number }>(
        `mutation{ deleteTraces(traceIds: ["${traceId}", "${aTraceId()}"]) }`,
        {},
        ws(w),
      ),
    );
    expect(deleted.deleteTraces).toBe(1);
    expect(
      ok(await api.gql(`{ trace(id: "${traceId}") { id } traces { totalCount } }`, {}, ws(w))),
    ).toEqual({
      trace: null,
      traces: { totalCount: 0 },
    });
    expect(
      ok(await api.gql(`mutation{ deleteTraces(traceIds: ["${traceId}"]) }`, {}, ws(w))),
    ).toEqual({ deleteTraces: 0 });
    const tooMany = await api.gql(
      'mutation($ids:[ID!]!){ deleteTraces(traceIds: $ids) }',
      { ids: Array.from({ length: 1001 }, aTraceId) },
      ws(w),
    );
    expect(codeOf(tooMany)).toBe('INVALID_ARGUMENT');
  });

  it('lists sessions newest first with their traces oldest first', async () => {
    const w = randomWorkspaceId();
    const a1 = await chatTrace(w, { ms: 0, session: 'sa', user: 'ann' });
    const b1 = await chatTrace(w, { ms: 1000, session: 'sb', user: 'bob' });
    const a2 = await chatTrace(w, { ms: 2000, session: 'sa', user: 'ann' });
    await chatTrace(w, { ms: 3000 });
    const { sessions } = ok(
      await api.gql<{ sessions: { totalCount: number; nodes: Record<string, unknown>[] } }>(
        '{ sessions { totalCount nodes { id userId traceCount firstTraceAt lastTraceAt tokenUsage { totalTokens } traces { totalCount nodes { id } } } } }',
        {},
        ws(w),
      ),
    );
    expect(sessions.totalCount).toBe(2);
    expect(sessions.nodes).toEqual([
      {
        id: 'sa',
        userId: 'ann',
        traceCount: 2,
        firstTraceAt: 1_764_583_200_000,
        lastTraceAt: 1_764_583_202_000,
        tokenUsage: { totalTokens: 240 },
        traces: { totalCount: 2, nodes: [{ id: a1 }, { id: a2 }] },
      },
      {
        id: 'sb',
        userId: 'bob',
        traceCount: 1,
        firstTraceAt: 1_764_583_201_000,
        lastTraceAt: 1_764_583_201_000,
        tokenUsage: { totalTokens: 120 },
        traces: { totalCount: 1, nodes: [{ id: b1 }] },
      },
    ]);
    expect(
      ok(
        await api.gql<{ sessions: { nodes: { id: string }[] } }>(
          `{ sessions(filter: "user = 'bob'") { nodes { id } } }`,
          {},
          ws(w),
        ),
      ).sessions.nodes,
    ).toEqual([{ id: 'sb' }]);
    const first = ok(
      await api.gql<{ sessions: { pageInfo: { endCursor: string } } }>(
        '{ sessions(first: 1) { pageInfo { endCursor } } }',
        {},
        ws(w),
      ),
    );
    expect(
      ok(
        await api.gql<{ sessions: { nodes: { id: string }[] } }>(
          'query($a:String){ sessions(first: 1, after: $a) { nodes { id } } }',
          { a: first.sessions.pageInfo.endCursor },
          ws(w),
        ),
      ).sessions.nodes,
    ).toEqual([{ id: 'sb' }]);
    expect(
      ok(
        await api.gql(
          '{ session(id: "sa") { traceCount } missing: session(id: "zz") { id } }',
          {},
          ws(w),
        ),
      ),
    ).toEqual({
      session: { traceCount: 2 },
      missing: null,
    });
  });

  it('aggregates stats per trace, day and model', async () => {
    const w = randomWorkspaceId();
    await chatTrace(w, { ms: 0, model: 'gpt-4o' });
    await chatTrace(w, { ms: 1000, model: 'gpt-4o', error: true });
    await chatTrace(w, { ms: 2000, model: 'claude-sonnet-4' });
    const q = (groupBy: string) =>
      api.gql<{ traceStats: Record<string, unknown>[] }>(
        `{ traceStats(groupBy: ${groupBy}) { key count errorCount errorRate latencyP50Ms latencyP95Ms inputTokens outputTokens totalTokens } }`,
        {},
        ws(w),
      );
    expect(ok(await q('NONE')).traceStats).toEqual([
      {
        key: null,
        count: 3,
        errorCount: 1,
        errorRate: 1 / 3,
        latencyP50Ms: 100,
        latencyP95Ms: 100,
        inputTokens: 300,
        outputTokens: 60,
        totalTokens: 360,
      },
    ]);
    expect(ok(await q('DAY')).traceStats.map((b) => [b.key, b.count])).toEqual([
      ['2025-12-01T00:00:00.000Z', 3],
    ]);
    expect(
      ok(await q('MODEL')).traceStats.map((b) => [b.key, b.count, b.latencyP50Ms, b.totalTokens]),
    ).toEqual([
      ['gpt-4o', 2, 50, 240],
      ['claude-sonnet-4', 1, 50, 120],
    ]);
  });

  it('manages the workspace price table', async () => {
    const w = randomWorkspaceId();
    const set = ok(
      await api.gql<{ setModelPrice: Record<string, unknown> }>(
        'mutation{ setModelPrice(input: { modelPattern: "my-model-.*", inputPerMillion: 1, outputPerMillion: 2, effectiveFrom: 1700000000000 }) { id modelPattern provider inputPerMillion outputPerMillion cachedInputPerMillion effectiveFrom builtIn } }',
        {},
        ws(w),
      ),
    ).setModelPrice;
    expect(set).toMatchObject({
      modelPattern: 'my-model-.*',
      provider: null,
      inputPerMillion: 1,
      outputPerMillion: 2,
      cachedInputPerMillion: null,
      effectiveFrom: 1_700_000_000_000,
      builtIn: false,
    });
    const listed = ok(
      await api.gql<{ modelPrices: { id: string; builtIn: boolean }[] }>(
        '{ modelPrices { id builtIn } }',
        {},
        ws(w),
      ),
    ).modelPrices;
    expect(listed.filter((p) => !p.builtIn)).toEqual([{ id: set.id, builtIn: false }]);
    const invalid = await api.gql(
      'mutation{ setModelPrice(input: { modelPattern: "gpt-(4", inputPerMillion: 1, outputPerMillion: 2 }) { id } }',
      {},
      ws(w),
    );
    expect(codeOf(invalid)).toBe('INVALID_ARGUMENT');
    expect(invalid.errors?.[0]?.message).toMatch(/modelPattern is not a valid regular expression/);
    expect(
      ok(await api.gql(`mutation{ deleteModelPrice(id: "${String(set.id)}") }`, {}, ws(w))),
    ).toEqual({
      deleteModelPrice: true,
    });
    expect(
      ok(
        await api.gql<{ modelPrices: { builtIn: boolean }[] }>(
          '{ modelPrices { builtIn } }',
          {},
          ws(w),
        ),
      ).modelPrices.filter((p) => !p.builtIn),
    ).toEqual([]);
  });

  it('serves traces(first: N) with spans, tags, metadata and run in a constant number of queries', async () => {
    const w = randomWorkspaceId();
    for (let i = 0; i < 30; i++) await chatTrace(w, { ms: i });
    const counts: number[] = [];
    for (const n of [3, 30]) {
      queries.length = 0;
      counting = true;
      const page = ok(
        await api.gql<{ traces: { nodes: { spans: unknown[] }[] } }>(
          'query($n:Int){ traces(first: $n) { totalCount nodes { id tags { key } metadata { key } run { id } spans { id } } } }',
          { n },
          ws(w),
        ),
      );
      counting = false;
      expect(page.traces.nodes).toHaveLength(n);
      expect(page.traces.nodes.every((t) => t.spans.length === 2)).toBe(true);
      counts.push(queries.length);
    }
    // page, count, spans, tags, metadata (run is never loaded: no trace has a run id).
    expect(counts).toEqual([5, 5]);
  });

  it('pushes changed traces matching the filter to a graphql-ws subscriber', async () => {
    const w = randomWorkspaceId();
    const client = createClient({
      url: `${api.url.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: ws(w),
    });
    try {
      const pushes: { id: string; status: string }[][] = [];
      let resolveDone!: () => void;
      const done = new Promise<void>((resolve) => (resolveDone = resolve));
      const unsubscribe = client.subscribe<{ tracesChanged: { id: string; status: string }[] }>(
        { query: `subscription{ tracesChanged(filter: "status = 'ERROR'") { id status } }` },
        {
          next: (msg) => {
            pushes.push(msg.data?.tracesChanged ?? []);
            resolveDone();
          },
          error: () => undefined,
          complete: () => undefined,
        },
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      await chatTrace(w, { ms: 0 });
      // Another workspace's errors never reach this subscriber.
      await chatTrace(randomWorkspaceId(), { ms: 0, error: true });
      const failing = await chatTrace(w, { ms: 10, error: true });
      await Promise.race([
        done,
        new Promise((_, reject) => setTimeout(() => reject(new Error('no push within 5 s')), 5000)),
      ]);
      await new Promise((resolve) => setTimeout(resolve, 300));
      unsubscribe();
      // Only the matching trace, and no empty pushes for the OK one.
      expect(pushes).toEqual([[{ id: failing, status: 'ERROR' }]]);
    } finally {
      await client.dispose();
    }
  });

  it('tracesLeft names traces that leave the filter (a tag removed) or are deleted', async () => {
    const w = randomWorkspaceId();
    const keep = await chatTrace(w, { ms: 0 });
    const untag = await chatTrace(w, { ms: 0 });
    const remove = await chatTrace(w, { ms: 0 });
    for (const id of [keep, untag, remove])
      ok(
        await api.gql(
          `mutation{ setTraceTag(traceId:"${id}", key:"team", value:"a"){ id } }`,
          {},
          ws(w),
        ),
      );
    const client = createClient({
      url: `${api.url.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: ws(w),
    });
    try {
      const left: string[] = [];
      const unsubscribe = client.subscribe<{ tracesLeft: string[] }>(
        { query: `subscription{ tracesLeft(filter: "tags.team = 'a'") }` },
        {
          next: (msg) => left.push(...(msg.data?.tracesLeft ?? [])),
          error: () => undefined,
          complete: () => undefined,
        },
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      ok(
        await api.gql(
          `mutation{ setTraceMetadata(traceId:"${keep}", key:"k", value:"v"){ id } }`,
          {},
          ws(w),
        ),
      );
      ok(
        await api.gql(
          `mutation{ deleteTraceTag(traceId:"${untag}", key:"team"){ id } }`,
          {},
          ws(w),
        ),
      );
      ok(await api.gql(`mutation{ deleteTraces(traceIds:["${remove}"]) }`, {}, ws(w)));
      const deadline = Date.now() + 5000;
      while (left.length < 2 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 50));
      await new Promise((resolve) => setTimeout(resolve, 300));
      unsubscribe();
      // The trace that changed but still matches is not named.
      expect(new Set(left)).toEqual(new Set([untag, remove]));
    } finally {
      await client.dispose();
    }
  });
  it('modelPricesChanged pushes the price list after an entry is added, edited or deleted', async () => {
    const w = randomWorkspaceId();
    const client = createClient({
      url: `${api.url.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: ws(w),
    });
    type Price = { id: string; modelPattern: string; inputPerMillion: number; builtIn: boolean };
    try {
      const pushes: Price[][] = [];
      const unsubscribe = client.subscribe<{ modelPricesChanged: Price[] }>(
        { query: 'subscription{ modelPricesChanged { id modelPattern inputPerMillion builtIn } }' },
        {
          next: (msg) => pushes.push(msg.data?.modelPricesChanged ?? []),
          error: () => undefined,
          complete: () => undefined,
        },
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      const own = (list: Price[] | undefined) => (list ?? []).filter((p) => !p.builtIn);
      const waitFor = async (check: (list: Price[]) => boolean) => {
        const deadline = Date.now() + 5000;
        while (!check(own(pushes.at(-1))) && Date.now() < deadline)
          await new Promise((resolve) => setTimeout(resolve, 50));
        expect(check(own(pushes.at(-1)))).toBe(true);
      };
      const set = ok(
        await api.gql<{ setModelPrice: { id: string } }>(
          `mutation{ setModelPrice(input:{ modelPattern:"live-model-.*", inputPerMillion: 1, outputPerMillion: 2 }){ id } }`,
          {},
          ws(w),
        ),
      );
      await waitFor((l) => l.length === 1 && l[0]!.inputPerMillion === 1);
      ok(
        await api.gql(
          `mutation{ setModelPrice(input:{ id:"${set.setModelPrice.id}", modelPattern:"live-model-.*", inputPerMillion: 3, outputPerMillion: 2 }){ id } }`,
          {},
          ws(w),
        ),
      );
      await waitFor((l) => l.length === 1 && l[0]!.inputPerMillion === 3);
      ok(await api.gql(`mutation{ deleteModelPrice(id:"${set.setModelPrice.id}") }`, {}, ws(w)));
      await waitFor((l) => l.length === 0);
      // The shipped defaults come with every push, as modelPrices lists them.
      expect(pushes.at(-1)!.some((p) => p.builtIn)).toBe(true);
      unsubscribe();
    } finally {
      await client.dispose();
    }
  });
});
