import pg from 'pg';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, loadLogCheckpoint, readAllAfter, type DB, type DbHandle } from '@cairn/db';
import {
  ALL_EVENT_TYPES,
  MODEL_PRICES_STREAM_ID,
  spanBatchStreamId,
  traceStreamId,
  type IngestedSpan,
  type NewEvent,
  type StoredEventEnvelope,
} from '@cairn/events';
import {
  aModelPriceDeleted,
  aModelPriceSet,
  aSpanId,
  aSpansIngested,
  aTraceDeleted,
  aTraceId,
  aTraceMetadataSet,
  aTraceTagDeleted,
  aTraceTagSet,
  anIngestedSpan,
  appendEvents,
  createTestDatabase,
  randomWorkspaceId,
  type TestDatabase,
} from '@cairn/testing';
import {
  CHANGES_CHANNEL,
  TRACES_CHANGED_NOTICE,
  applyBatch,
  checkpointName,
  decodeChangeNotice,
  rebuildProjection,
  tracesProjection,
} from '../src/index.ts';

let testDb: TestDatabase;
let handle: DbHandle;
let db: Kysely<DB>;

beforeAll(async () => {
  testDb = await createTestDatabase();
  handle = createDb(testDb.url, { maxConnections: 4, applicationName: 'traces-projection-test' });
  db = handle.db;
});

afterAll(async () => {
  await handle?.destroy();
  await testDb?.drop();
});

// ---------------------------------------------------------------------------------------------
// helpers

/** Appends each event to the stream its type lives on; returns the stored envelopes. */
async function store(ws: string, events: readonly NewEvent[]): Promise<StoredEventEnvelope[]> {
  const out: StoredEventEnvelope[] = [];
  for (const e of events) {
    const data = e.data as { batchId?: string; traceId?: string };
    const [streamId, streamType] =
      e.type === 'SpansIngested'
        ? [spanBatchStreamId(data.batchId!), 'span-batch']
        : e.type === 'ModelPriceSet' || e.type === 'ModelPriceDeleted'
          ? [MODEL_PRICES_STREAM_ID, 'model-prices']
          : [traceStreamId(data.traceId!), 'trace'];
    const result = await appendEvents(db, ws, streamId, streamType, [e]);
    out.push(...result.events);
  }
  return out;
}

async function project(ws: string, events: readonly NewEvent[]): Promise<StoredEventEnvelope[]> {
  const stored = await store(ws, events);
  await applyBatch(db, tracesProjection, stored);
  return stored;
}

const TABLES = ['trace_spans', 'traces', 'trace_tags', 'trace_metadata', 'model_prices'] as const;

/** The workspace's trace tables as sorted JSON text (exact int8), without workspace and updated_at. */
async function dump(
  ws: string,
  tables: readonly string[] = TABLES,
): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const table of tables) {
    const { rows } = await sql<{ row: string }>`
      SELECT (to_jsonb(t) - 'workspace_id' - 'updated_at')::text AS row
      FROM ${sql.table(table)} t WHERE workspace_id = ${ws}`.execute(db);
    out[table] = rows.map((r) => r.row).sort();
  }
  return out;
}

async function traceRow(ws: string, traceId: string) {
  return db
    .selectFrom('traces')
    .selectAll()
    .select([
      sql<string>`start_ns::text`.as('start_ns'),
      sql<string | null>`end_ns::text`.as('end_ns'),
    ])
    .where('workspace_id', '=', ws)
    .where('trace_id', '=', traceId)
    .executeTakeFirst();
}

async function spanRows(ws: string, traceId: string) {
  return db
    .selectFrom('trace_spans')
    .selectAll()
    .select([
      sql<string>`start_ns::text`.as('start_ns'),
      sql<string | null>`end_ns::text`.as('end_ns'),
    ])
    .where('workspace_id', '=', ws)
    .where('trace_id', '=', traceId)
    .orderBy(sql`trace_spans.start_ns`)
    .orderBy('span_id')
    .execute();
}

async function effective(
  table: 'trace_tags_effective' | 'trace_metadata_effective',
  ws: string,
  traceId: string,
) {
  const rows = await db
    .selectFrom(table)
    .select(['key', 'value'])
    .where('workspace_id', '=', ws)
    .where('trace_id', '=', traceId)
    .orderBy('key')
    .execute();
  return Object.fromEntries(rows.map((r) => [r.key, r.value]));
}

const T0 = 1_764_000_000_000_000_000n; // 2025-11-24T16:00:00Z in ns

function ns(offsetMs: number): string {
  return `${T0 + BigInt(offsetMs) * 1_000_000n + 123n}`;
}

/**
 * One trace: an agent root with session/user/tags, a chat LLM child (OTel GenAI, priced by the
 * defaults), a tool call, a Vercel AI SDK call below it, and an errored retriever; spread over
 * three batches, one span sent first without an end and then complete.
 */
function aTrace() {
  const traceId = aTraceId();
  const [root, chat, tool, vercel, retriever] = [
    aSpanId(),
    aSpanId(),
    aSpanId(),
    aSpanId(),
    aSpanId(),
  ];
  const span = (o: Partial<IngestedSpan>) => anIngestedSpan({ traceId, ...o });
  const rootSpan = span({
    spanId: root,
    name: 'agent',
    startTimeUnixNano: ns(0),
    endTimeUnixNano: ns(1000),
    status: { code: 'OK', message: null },
    attributes: {
      'cairn.span.type': 'AGENT',
      'cairn.span.inputs': '{"question":"why?"}',
      'cairn.span.outputs': '"because"',
      'cairn.trace.session_id': 'session-1',
      'cairn.trace.user_id': 'user-root',
      'cairn.trace.tags': '{"team":"search","shared":"from-root"}',
      'cairn.trace.metadata': '{"release":"r1"}',
      'cairn.trace.prompt_versions': '["prompts:/greeting/3"]',
    },
  });
  const chatSpan = span({
    spanId: chat,
    parentSpanId: root,
    name: 'chat gpt-4o-mini',
    kind: 'CLIENT',
    startTimeUnixNano: ns(10),
    endTimeUnixNano: ns(400),
    attributes: {
      'gen_ai.operation.name': 'chat',
      'gen_ai.system': 'openai',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.response.model': 'gpt-4o-mini-2024-07-18',
      'gen_ai.usage.input_tokens': 1000,
      'gen_ai.usage.output_tokens': 200,
      'gen_ai.usage.cached_tokens': 400,
      'gen_ai.prompt.0.role': 'user',
      'gen_ai.prompt.0.content': 'why?',
      'gen_ai.completion.0.role': 'assistant',
      'gen_ai.completion.0.content': 'because',
      'user.id': 'user-child',
      'cairn.trace.tags': '{"shared":"from-child","model":"small"}',
    },
  });
  const toolOpen = span({
    spanId: tool,
    parentSpanId: root,
    name: 'search',
    startTimeUnixNano: ns(500),
    endTimeUnixNano: '0',
    attributes: { 'openinference.span.kind': 'TOOL', 'input.value': 'query', 'partial.only': true },
  });
  const toolDone = span({
    ...toolOpen,
    endTimeUnixNano: ns(900),
    status: { code: 'OK', message: null },
    attributes: {
      'openinference.span.kind': 'TOOL',
      'input.value': 'query',
      'output.value': '[1,2]',
    },
    events: [{ name: 'found', timeUnixNano: ns(800), attributes: { n: 2 } }],
  });
  const vercelSpan = span({
    spanId: vercel,
    parentSpanId: tool,
    name: 'ai.generateText',
    startTimeUnixNano: ns(510),
    endTimeUnixNano: ns(700),
    attributes: {
      'ai.operationId': 'ai.generateText',
      'ai.model.id': 'claude-3-5-haiku-20241022',
      'ai.model.provider': 'anthropic.messages',
      'ai.usage.promptTokens': 50,
      'ai.usage.completionTokens': 10,
      'ai.prompt': '{"prompt":"summarise"}',
      'ai.response.text': 'summary',
    },
  });
  const retrieverSpan = span({
    spanId: retriever,
    parentSpanId: root,
    name: 'retrieve',
    startTimeUnixNano: ns(950),
    endTimeUnixNano: ns(990),
    status: { code: 'ERROR', message: 'index offline' },
    attributes: { 'mlflow.spanType': '"RETRIEVER"', 'mlflow.trace.session': 'session-other' },
  });
  const resources = [{ 'service.name': 'agent', 'deployment.environment.name': 'prod' }];
  const batches = [[chatSpan, toolOpen], [vercelSpan, retrieverSpan, toolDone], [rootSpan]];
  return {
    traceId,
    ids: { root, chat, tool, vercel, retriever },
    batches,
    events: () => batches.map((spans) => aSpansIngested({ spans, resources })),
  };
}

// ---------------------------------------------------------------------------------------------

describe('traces projection', () => {
  it('projects spans into trace_spans, the roll-up into traces, span tags and metadata', async () => {
    const ws = randomWorkspaceId();
    const t = aTrace();
    await project(ws, t.events());

    const spans = await spanRows(ws, t.traceId);
    expect(spans.map((s) => [s.span_id, s.span_type])).toEqual([
      [t.ids.root, 'AGENT'],
      [t.ids.chat, 'CHAT_MODEL'],
      [t.ids.tool, 'TOOL'],
      [t.ids.vercel, 'LLM'],
      [t.ids.retriever, 'RETRIEVER'],
    ]);
    const byId = new Map(spans.map((s) => [s.span_id, s]));
    const chat = byId.get(t.ids.chat)!;
    expect(chat).toMatchObject({
      model: 'gpt-4o-mini-2024-07-18',
      provider: 'openai',
      input_tokens: 1000,
      output_tokens: 200,
      total_tokens: 1200,
      cached_tokens: 400,
      reasoning_tokens: null,
      inputs: [{ role: 'user', content: 'why?' }],
      outputs: [{ role: 'assistant', content: 'because' }],
      start_ns: ns(10),
      end_ns: ns(400),
      duration_ms: 390,
      kind: 'CLIENT',
      resource: { 'service.name': 'agent', 'deployment.environment.name': 'prod' },
    });
    // gpt-4o-mini: $0.15 in, $0.075 cached, $0.60 out per million.
    expect(chat.cost_usd).toBeCloseTo((600 * 0.15 + 400 * 0.075 + 200 * 0.6) / 1e6, 12);
    expect(chat.start_time).toEqual(new Date(Number((T0 + 10_000_000n) / 1_000_000n)));
    const vercel = byId.get(t.ids.vercel)!;
    expect(vercel).toMatchObject({
      model: 'claude-3-5-haiku-20241022',
      provider: 'anthropic.messages',
      input_tokens: 50,
      output_tokens: 10,
      inputs: { prompt: 'summarise' },
      outputs: 'summary',
    });
    expect(vercel.cost_usd).toBeCloseTo((50 * 0.8 + 10 * 4) / 1e6, 12);
    // The tool span was sent open, then complete: the complete version wins, attributes united.
    const tool = byId.get(t.ids.tool)!;
    expect(tool).toMatchObject({
      end_ns: ns(900),
      status_code: 'OK',
      inputs: 'query',
      outputs: [1, 2],
      attributes: {
        'openinference.span.kind': 'TOOL',
        'input.value': 'query',
        'output.value': '[1,2]',
        'partial.only': true,
      },
      events: [{ name: 'found', timeUnixNano: ns(800), attributes: { n: 2 } }],
    });
    expect(byId.get(t.ids.root)).toMatchObject({
      inputs: { question: 'why?' },
      outputs: 'because',
      cost_usd: null,
      model: null,
    });

    const trace = await traceRow(ws, t.traceId);
    expect(trace).toMatchObject({
      name: 'agent',
      root_span_id: t.ids.root,
      status: 'ERROR',
      start_ns: ns(0),
      end_ns: ns(1000),
      duration_ms: 1000,
      inputs: { question: 'why?' },
      outputs: 'because',
      session_id: 'session-1',
      user_id: 'user-root',
      environment: 'prod',
      run_id: null,
      model_version: null,
      prompt_versions: ['prompts:/greeting/3'],
      span_count: 5,
      error_count: 1,
      input_tokens: 1050,
      output_tokens: 210,
      total_tokens: 1260,
      cached_tokens: 400,
      reasoning_tokens: 0,
      deleted: false,
    });
    expect(trace!.start_time).toEqual(new Date(Number(T0 / 1_000_000n)));
    expect(trace!.cost_usd).toBeCloseTo(chat.cost_usd! + vercel.cost_usd!, 15);
    // Tags: the root's value wins over the child's for a shared key; keys of both are kept.
    expect(await effective('trace_tags_effective', ws, t.traceId)).toEqual({
      team: 'search',
      shared: 'from-root',
      model: 'small',
    });
    expect(await effective('trace_metadata_effective', ws, t.traceId)).toEqual({ release: 'r1' });
    const sources = await db
      .selectFrom('trace_tags')
      .select('source')
      .distinct()
      .where('workspace_id', '=', ws)
      .execute();
    expect(sources).toEqual([{ source: 'span' }]);
  });

  it('before the root arrives the earliest orphan is the root; the real root takes over', async () => {
    const ws = randomWorkspaceId();
    const t = aTrace();
    const [b1, b2, b3] = t.events();
    await project(ws, [b1!, b2!]);
    expect(await traceRow(ws, t.traceId)).toMatchObject({
      name: 'chat gpt-4o-mini',
      root_span_id: t.ids.chat,
      user_id: 'user-child',
      session_id: 'session-other',
      status: 'ERROR',
      span_count: 4,
    });
    expect(await effective('trace_tags_effective', ws, t.traceId)).toEqual({
      shared: 'from-child',
      model: 'small',
    });
    await project(ws, [b3!]);
    expect(await traceRow(ws, t.traceId)).toMatchObject({
      name: 'agent',
      root_span_id: t.ids.root,
      user_id: 'user-root',
      session_id: 'session-1',
      span_count: 5,
    });
    expect(await effective('trace_tags_effective', ws, t.traceId)).toEqual({
      team: 'search',
      shared: 'from-root',
      model: 'small',
    });
  });

  it('any order, batch split and repetition of the spans gives the same rows', async () => {
    const t = aTrace();
    const dumps: { label: string; dump: Record<string, string[]> }[] = [];
    const permutations = [
      [0, 1, 2],
      [2, 1, 0],
      [1, 2, 0],
      [2, 0, 1],
      [0, 2, 1],
      [1, 0, 2],
    ];
    for (const order of permutations) {
      for (const repeat of [null, order[0]!, order[2]!]) {
        const ws = randomWorkspaceId();
        const events = t.events();
        const sequence = order.map((i) => events[i]!);
        for (const e of sequence) await project(ws, [e]);
        if (repeat !== null) {
          // The same spans again as a new ingest request, and a redelivery of a stored event.
          const again = aSpansIngested({
            spans: t.batches[repeat]!,
            resources: events[0]!.data.resources,
          });
          const stored = await project(ws, [again]);
          await applyBatch(db, tracesProjection, stored);
        }
        dumps.push({ label: `${order.join('')} repeat ${String(repeat)}`, dump: await dump(ws) });
      }
    }
    // All in one projector batch (the in-memory fold), in reverse order.
    const ws = randomWorkspaceId();
    const events = t.events();
    const resources = events[0]!.data.resources;
    await project(ws, [
      events[2]!,
      events[1]!,
      events[0]!,
      aSpansIngested({ spans: t.batches[1]!, resources }),
    ]);
    dumps.push({ label: 'one batch', dump: await dump(ws) });

    const first = dumps[0]!.dump;
    expect(first['trace_spans']).toHaveLength(5);
    expect(first['traces']).toHaveLength(1);
    for (const d of dumps) expect(d.dump, d.label).toEqual(first);
  });

  it('a deleted trace keeps a deleted row and ignores spans, tags and metadata in any order', async () => {
    const t = aTrace();
    const deletion = () => aTraceDeleted({ traceId: t.traceId });
    const tag = () => aTraceTagSet({ traceId: t.traceId, key: 'k', value: 'v' });
    const meta = () => aTraceMetadataSet({ traceId: t.traceId, key: 'm', value: 'v' });

    const before = randomWorkspaceId(); // spans and tags, then the deletion
    for (const e of [...t.events(), tag(), meta()]) await project(before, [e]);
    expect(await traceRow(before, t.traceId)).toMatchObject({ deleted: false, span_count: 5 });
    await project(before, [deletion()]);

    const after = randomWorkspaceId(); // the deletion first
    await project(after, [deletion()]);
    for (const e of [tag(), ...t.events(), meta()]) await project(after, [e]);

    const mixed = randomWorkspaceId(); // all in one batch, deletion in the middle
    const events = t.events();
    await project(mixed, [events[0]!, tag(), deletion(), events[1]!, meta(), events[2]!]);

    for (const ws of [before, after, mixed]) {
      const d = await dump(ws);
      expect(d['trace_spans'], ws).toEqual([]);
      expect(d['trace_tags'], ws).toEqual([]);
      expect(d['trace_metadata'], ws).toEqual([]);
      expect(await traceRow(ws, t.traceId), ws).toMatchObject({
        deleted: true,
        name: '',
        span_count: 0,
        start_ns: '0',
        session_id: null,
        cost_usd: null,
        prompt_versions: [],
      });
    }
    expect(await dump(after)).toEqual(await dump(before));
    expect(await dump(mixed)).toEqual(await dump(before));
  });

  it("tags and metadata set by people win over the spans'; a deleted tag hides the span's", async () => {
    const ws = randomWorkspaceId();
    const t = aTrace();
    await project(ws, [
      aTraceTagSet({ traceId: t.traceId, key: 'team', value: 'people' }),
      aTraceTagSet({ traceId: t.traceId, key: 'extra', value: 'x' }),
    ]);
    expect(await effective('trace_tags_effective', ws, t.traceId)).toEqual({
      team: 'people',
      extra: 'x',
    });
    await project(ws, t.events());
    await project(ws, [
      aTraceTagDeleted({ traceId: t.traceId, key: 'shared' }),
      aTraceMetadataSet({ traceId: t.traceId, key: 'release', value: 'r2' }),
      aTraceMetadataSet({ traceId: t.traceId, key: 'ticket', value: 'T-1' }),
    ]);
    expect(await effective('trace_tags_effective', ws, t.traceId)).toEqual({
      team: 'people',
      extra: 'x',
      model: 'small',
    });
    expect(await effective('trace_metadata_effective', ws, t.traceId)).toEqual({
      release: 'r2',
      ticket: 'T-1',
    });
    const rows = await db
      .selectFrom('trace_tags')
      .select(['key', 'source', 'value'])
      .where('workspace_id', '=', ws)
      .orderBy('key')
      .orderBy('source')
      .execute();
    expect(rows).toEqual([
      { key: 'extra', source: 'user', value: 'x' },
      { key: 'model', source: 'span', value: 'small' },
      { key: 'shared', source: 'span', value: 'from-root' },
      { key: 'shared', source: 'user', value: null },
      { key: 'team', source: 'span', value: 'search' },
      { key: 'team', source: 'user', value: 'people' },
    ]);
  });

  it('price changes re-price the matching spans and their traces, whatever the order', async () => {
    const t = aTrace();
    const priceId = 'a'.repeat(32);
    const set = () =>
      aModelPriceSet({
        priceId,
        modelPattern: 'gpt-4o-mini.*',
        provider: 'openai',
        inputPerMillion: 1,
        outputPerMillion: 10,
        cachedInputPerMillion: 0.5,
        effectiveFrom: '2025-01-01T00:00:00.000Z',
      });
    const later = () =>
      aModelPriceSet({
        priceId: 'b'.repeat(32),
        modelPattern: 'gpt-4o-mini.*',
        provider: null,
        inputPerMillion: 100,
        outputPerMillion: 100,
        cachedInputPerMillion: null,
        effectiveFrom: '2030-01-01T00:00:00.000Z', // after the spans: never applies to them
      });
    const ownCost = (600 * 1 + 400 * 0.5 + 200 * 10) / 1e6;
    const defaultCost = (600 * 0.15 + 400 * 0.075 + 200 * 0.6) / 1e6;
    const vercelCost = (50 * 0.8 + 10 * 4) / 1e6;

    const spansFirst = randomWorkspaceId();
    await project(spansFirst, t.events());
    await project(spansFirst, [set(), later()]);
    const pricesFirst = randomWorkspaceId();
    await project(pricesFirst, [later(), set()]);
    await project(pricesFirst, t.events());
    for (const ws of [spansFirst, pricesFirst]) {
      const chat = (await spanRows(ws, t.traceId)).find((s) => s.span_id === t.ids.chat)!;
      expect(chat.cost_usd).toBe(ownCost);
      expect((await traceRow(ws, t.traceId))!.cost_usd).toBe(ownCost + vercelCost);
    }
    expect(await dump(pricesFirst)).toEqual(await dump(spansFirst));

    // A price replaced by its id: the old pattern's spans fall back to the defaults.
    await project(spansFirst, [
      aModelPriceSet({ ...set().data, modelPattern: 'gpt-5.*', inputPerMillion: 3 }),
    ]);
    let chat = (await spanRows(spansFirst, t.traceId)).find((s) => s.span_id === t.ids.chat)!;
    expect(chat.cost_usd).toBe(defaultCost);
    await project(spansFirst, [set()]);
    await project(spansFirst, [aModelPriceDeleted({ priceId })]);
    chat = (await spanRows(spansFirst, t.traceId)).find((s) => s.span_id === t.ids.chat)!;
    expect(chat.cost_usd).toBe(defaultCost);
    expect((await traceRow(spansFirst, t.traceId))!.cost_usd).toBe(defaultCost + vercelCost);
    expect(await dump(spansFirst, ['model_prices'])).toEqual({
      model_prices: [expect.stringContaining('"price_id": "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"')],
    });
  });

  it('sends traces:changed notices naming the changed traces, at commit', async () => {
    const client = new pg.Client({ connectionString: testDb.url });
    await client.connect();
    const notices: string[] = [];
    client.on('notification', (n) => {
      if (n.channel === CHANGES_CHANNEL && n.payload) notices.push(n.payload);
    });
    try {
      await client.query(`LISTEN ${CHANGES_CHANNEL}`);
      const ws = randomWorkspaceId();
      const a = aTrace();
      const b = aTrace();
      await project(ws, [...a.events(), ...b.events()]);
      await project(ws, [aTraceTagSet({ traceId: a.traceId })]);
      const deadline = Date.now() + 5000;
      const traced = () =>
        notices
          .map((p) => decodeChangeNotice(p))
          .filter((n) => n?.p === TRACES_CHANGED_NOTICE && n.w === ws);
      while (traced().length < 2 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 10));
      const got = traced();
      expect(got.map((n) => n!.s.map(([id]) => id).sort())).toEqual([
        [a.traceId, b.traceId].sort(),
        [a.traceId],
      ]);
      expect(got.flatMap((n) => n!.s.map(([, p]) => p))).toEqual([0, 0, 0]);
      // The ordinary stream notice of the projection comes too.
      expect(
        notices.map((p) => decodeChangeNotice(p)).some((n) => n?.p === 'traces' && n.w === ws),
      ).toBe(true);
    } finally {
      await client.end();
    }
  });

  it('a rebuild from the log gives identical tables', async () => {
    // Everything the tests above stored, plus one more workspace with a normal trace.
    const ws = randomWorkspaceId();
    await project(ws, aTrace().events());
    const workspaces = (
      await sql<{ w: string }>`SELECT DISTINCT workspace_id AS w FROM events`.execute(db)
    ).rows.map((r) => r.w);
    expect(workspaces.length).toBeGreaterThan(10);
    const before = await Promise.all(workspaces.map((w) => dump(w)));
    const total = (
      await sql<{ n: number }>`
        SELECT count(*)::int AS n FROM events WHERE type = ANY(${[...tracesProjection.handles]}::text[])`.execute(
        db,
      )
    ).rows[0]!.n;
    expect(total).toBeGreaterThan(100);
    // The rebuild reads up to the log's safe boundary (transactions still open anywhere on the
    // server, e.g. other test files' databases, hold it back); the tailer's part is the rest.
    let applied = (await rebuildProjection(db, tracesProjection)).events;
    const deadline = Date.now() + 20_000;
    while (applied < total) {
      expect(Date.now()).toBeLessThan(deadline);
      const from = await loadLogCheckpoint(db, checkpointName(tracesProjection));
      const events = await readAllAfter(db, from, 2000, {
        types: tracesProjection.handles,
        orNotIn: ALL_EVENT_TYPES,
      });
      const last = events.at(-1);
      if (!last) {
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      await applyBatch(db, tracesProjection, events, {
        checkpoint: { transactionId: last.transactionId, globalPosition: last.globalPosition },
      });
      applied += events.length;
    }
    expect(applied).toBe(total);
    const after = await Promise.all(workspaces.map((w) => dump(w)));
    expect(after).toEqual(before);
  });
});
