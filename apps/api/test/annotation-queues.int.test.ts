/**
 * Annotation queues through GraphQL (issue 14, "Human review"): a queue with a label schema,
 * traces added by id and by filter, next-item assignment decided on the queue's stream (concurrent
 * reviewers get different items), completion that requires the labels as the reviewer's own
 * HUMAN assessments, typed errors that store nothing, workspace isolation, and a rebuild equal to
 * the live read model.
 */
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

const projection: Projection = findProjection('annotation-queues')!;

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
async function ingestTraces(w: string, traceIds: string[], name = 'answer') {
  const batchId = newEntityId();
  const streamId = spanBatchStreamId(batchId);
  const start = 1_764_583_200_000n * 1_000_000n;
  const spans: IngestedSpan[] = traceIds.map((traceId, i) => ({
    traceId,
    spanId: hex(16),
    parentSpanId: null,
    traceState: null,
    name,
    kind: 'INTERNAL',
    startTimeUnixNano: `${start + BigInt(i) * 1_000_000n}`,
    endTimeUnixNano: `${start + BigInt(i) * 1_000_000n + 10_000_000n}`,
    status: { code: 'OK', message: null },
    attributes: {},
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

async function newTraces(w: string, n: number, name = 'answer'): Promise<string[]> {
  const ids = Array.from({ length: n }, () => hex(32));
  await ingestTraces(w, ids, name);
  return ids;
}

const LABELS = [
  { name: 'correct', kind: 'BOOL', required: true, instructions: 'Is the answer right?' },
  { name: 'quality', kind: 'SCORE', min: 1, max: 5, required: true },
  { name: 'tone', kind: 'CATEGORICAL', options: ['friendly', 'neutral', 'rude'] },
  { name: 'comment', kind: 'TEXT' },
];

const QUEUE = `id name description itemCount pendingCount assignedCount completedCount skippedCount
  labelSchema { name kind min max options required instructions }`;
const ITEM = `queueId traceId status assignee completedBy trace { id } labels { name value source { type id } }`;

interface Queue {
  id: string;
  name: string;
  itemCount: number;
  pendingCount: number;
  assignedCount: number;
  completedCount: number;
  skippedCount: number;
  labelSchema: { name: string; kind: string; min: number | null; options: string[] }[];
}
interface Item {
  traceId: string;
  status: string;
  assignee: string | null;
  completedBy: string | null;
  trace: { id: string } | null;
  labels: { name: string; value: unknown }[];
}

function createQueue(gql: Gql, input: Record<string, unknown>) {
  return gql<{ createAnnotationQueue: Queue }>(
    `mutation($input: CreateAnnotationQueueInput!) { createAnnotationQueue(input: $input) { ${QUEUE} } }`,
    { input },
  );
}

function addTraces(gql: Gql, input: Record<string, unknown>) {
  return gql<{ addTracesToAnnotationQueue: { added: number; matched: number; queue: Queue } }>(
    `mutation($input: AddTracesToAnnotationQueueInput!) {
      addTracesToAnnotationQueue(input: $input) { added matched queue { ${QUEUE} } } }`,
    { input },
  );
}

const next = (gql: Gql, queueId: string) =>
  gql<{ nextAnnotationQueueItem: Item | null }>(
    `mutation($q: ID!) { nextAnnotationQueueItem(queueId: $q) { ${ITEM} } }`,
    { q: queueId },
  );

const complete = (gql: Gql, queueId: string, traceId: string) =>
  gql<{ completeAnnotationQueueItem: Item }>(
    `mutation($q: ID!, $t: String!) { completeAnnotationQueueItem(queueId: $q, traceId: $t) { ${ITEM} } }`,
    { q: queueId, t: traceId },
  );

const skip = (gql: Gql, queueId: string, traceId: string) =>
  gql<{ skipAnnotationQueueItem: Item }>(
    `mutation($q: ID!, $t: String!) { skipAnnotationQueueItem(queueId: $q, traceId: $t) { ${ITEM} } }`,
    { q: queueId, t: traceId },
  );

const feedback = (gql: Gql, traceId: string, name: string, value: unknown) =>
  gql<{ logFeedback: { id: string } }>(
    `mutation($input: LogFeedbackInput!) { logFeedback(input: $input) { id } }`,
    { input: { traceId, name, value } },
  );

const getQueue = (gql: Gql, id: string, status?: string) =>
  gql<{
    annotationQueue:
      | (Queue & {
          items: {
            totalCount: number;
            nodes: Item[];
            pageInfo: { hasNextPage: boolean; endCursor: string | null };
          };
        })
      | null;
  }>(
    `query($id: ID!, $s: AnnotationItemStatus) { annotationQueue(id: $id) { ${QUEUE}
      items(first: 200, status: $s) { totalCount nodes { ${ITEM} } pageInfo { hasNextPage endCursor } } } }`,
    { id, s: status ?? null },
  );

async function countEvents(w: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    SELECT count(*)::int AS n FROM events
    WHERE workspace_id = ${w} AND stream_id LIKE 'annotation-queue-%'`.execute(api.db);
  return rows[0]!.n;
}

describe('annotation queues', () => {
  it('creates a queue with a label schema; names are unique per workspace', async () => {
    const w = randomWorkspaceId();
    const gql = client(w);
    const q = ok(
      await createQueue(gql, { name: 'support', description: 'Weekly', labelSchema: LABELS }),
    ).createAnnotationQueue;
    expect(q.name).toBe('support');
    expect(q.itemCount).toBe(0);
    expect(q.labelSchema.map((l) => [l.name, l.kind, l.min])).toEqual([
      ['correct', 'BOOL', null],
      ['quality', 'SCORE', 1],
      ['tone', 'CATEGORICAL', null],
      ['comment', 'TEXT', null],
    ]);
    expect(q.labelSchema[2]!.options).toEqual(['friendly', 'neutral', 'rude']);
    expect(codeOf(await createQueue(gql, { name: 'support', labelSchema: LABELS }))).toBe(
      'ALREADY_EXISTS',
    );
    // Another workspace may use the name, and does not see the first one.
    const other = client(randomWorkspaceId());
    ok(await createQueue(other, { name: 'support', labelSchema: LABELS }));
    expect(ok(await getQueue(other, q.id)).annotationQueue).toBeNull();
    // A rename frees the old name; a delete frees the new one.
    ok(
      await gql(
        `mutation($input: UpdateAnnotationQueueInput!) { updateAnnotationQueue(input: $input) { name } }`,
        { input: { queueId: q.id, name: 'support-2' } },
      ),
    );
    const again = ok(await createQueue(gql, { name: 'support', labelSchema: LABELS }));
    expect(again.createAnnotationQueue.name).toBe('support');
    ok(await gql(`mutation($q: ID!) { deleteAnnotationQueue(queueId: $q) }`, { q: q.id }));
    ok(await createQueue(gql, { name: 'support-2', labelSchema: LABELS }));
    expect(ok(await getQueue(gql, q.id)).annotationQueue).toBeNull();
    const list = ok(
      await gql<{ annotationQueues: { totalCount: number; nodes: { name: string }[] } }>(
        `{ annotationQueues(first: 10) { totalCount nodes { name } } }`,
      ),
    ).annotationQueues;
    expect(list.totalCount).toBe(2);
    expect(list.nodes.map((n) => n.name)).toEqual(['support-2', 'support']);
  });

  it('refuses bad input with typed errors and stores nothing', async () => {
    const w = randomWorkspaceId();
    const gql = client(w);
    const bad = [
      { name: ' ', labelSchema: LABELS },
      { name: 'q', labelSchema: [] },
      { name: 'q', labelSchema: [LABELS[0], LABELS[0]] },
      { name: 'q', labelSchema: [{ name: 'x', kind: 'SCORE', min: 5, max: 1 }] },
      { name: 'q', labelSchema: [{ name: 'x', kind: 'CATEGORICAL', options: ['only'] }] },
      { name: 'q', labelSchema: [{ name: 'x', kind: 'BOOL', options: ['a', 'b'] }] },
      { name: 'q', labelSchema: [{ name: 'x', kind: 'TEXT', min: 0 }] },
    ];
    for (const input of bad) expect(codeOf(await createQueue(gql, input))).toBe('INVALID_ARGUMENT');
    expect(codeOf(await gql(`{ annotationQueues(first: 0) { totalCount } }`))).toBe(
      'INVALID_ARGUMENT',
    );
    const q = ok(await createQueue(gql, { name: 'q', labelSchema: LABELS })).createAnnotationQueue;
    const before = await countEvents(w);
    const [trace] = await newTraces(w, 1);
    expect(codeOf(await addTraces(gql, { queueId: q.id }))).toBe('INVALID_ARGUMENT');
    expect(
      codeOf(await addTraces(gql, { queueId: q.id, traceIds: [trace], filter: "name = 'x'" })),
    ).toBe('INVALID_ARGUMENT');
    expect(codeOf(await addTraces(gql, { queueId: q.id, traceIds: [] }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(await addTraces(gql, { queueId: q.id, traceIds: ['nothex'] }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(codeOf(await addTraces(gql, { queueId: q.id, filter: 'name ==' }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(
      codeOf(await addTraces(gql, { queueId: q.id, filter: "name = 'answer'", limit: 1001 })),
    ).toBe('INVALID_ARGUMENT');
    expect(codeOf(await addTraces(gql, { queueId: q.id, traceIds: [hex(32)] }))).toBe('NOT_FOUND');
    expect(codeOf(await addTraces(gql, { queueId: hex(32), traceIds: [trace] }))).toBe('NOT_FOUND');
    // A trace of another workspace is not found here.
    const [foreign] = await newTraces(randomWorkspaceId(), 1);
    expect(codeOf(await addTraces(gql, { queueId: q.id, traceIds: [foreign] }))).toBe('NOT_FOUND');
    expect(codeOf(await next(gql, hex(32)))).toBe('NOT_FOUND');
    expect(codeOf(await complete(gql, q.id, trace!))).toBe('NOT_FOUND');
    expect(codeOf(await skip(gql, q.id, 'x'))).toBe('INVALID_ARGUMENT');
    expect(await countEvents(w)).toBe(before);
  });

  it('adds traces by id and by filter, once each, in order', async () => {
    const w = randomWorkspaceId();
    const gql = client(w);
    const q = ok(await createQueue(gql, { name: 'q', labelSchema: LABELS })).createAnnotationQueue;
    const a = await newTraces(w, 3, 'answer');
    const b = await newTraces(w, 2, 'retrieve');
    const first = ok(
      await addTraces(gql, { queueId: q.id, traceIds: [a[0], a[1], a[0]] }),
    ).addTracesToAnnotationQueue;
    expect(first).toMatchObject({ added: 2, matched: 2 });
    expect(first.queue).toMatchObject({ itemCount: 2, pendingCount: 2 });
    const byFilter = ok(
      await addTraces(gql, { queueId: q.id, filter: "name = 'answer'" }),
    ).addTracesToAnnotationQueue;
    expect(byFilter).toMatchObject({ added: 1, matched: 3 });
    const again = ok(
      await addTraces(gql, { queueId: q.id, traceIds: b }),
    ).addTracesToAnnotationQueue;
    expect(again.queue.itemCount).toBe(5);
    const items = ok(await getQueue(gql, q.id)).annotationQueue!.items;
    expect(items.totalCount).toBe(5);
    expect(items.nodes.map((i) => i.traceId)).toEqual([a[0], a[1], a[2], b[0], b[1]]);
    expect(items.nodes.every((i) => i.status === 'PENDING' && i.trace !== null)).toBe(true);
    // Pages follow the same order.
    const page = ok(
      await gql<{ annotationQueue: { items: { nodes: Item[]; pageInfo: { endCursor: string } } } }>(
        `query($id: ID!) { annotationQueue(id: $id) { items(first: 2) { nodes { traceId } pageInfo { endCursor } } } }`,
        { id: q.id },
      ),
    ).annotationQueue.items;
    const rest = ok(
      await gql<{ annotationQueue: { items: { nodes: Item[] } } }>(
        `query($id: ID!, $a: String) { annotationQueue(id: $id) { items(first: 10, after: $a) { nodes { traceId } } } }`,
        { id: q.id, a: page.pageInfo.endCursor },
      ),
    ).annotationQueue.items;
    expect([...page.nodes, ...rest.nodes].map((i) => i.traceId)).toEqual(
      items.nodes.map((i) => i.traceId),
    );
  });

  it('gives concurrent reviewers different items, then none', async () => {
    const w = randomWorkspaceId();
    const gql = client(w);
    const q = ok(await createQueue(gql, { name: 'q', labelSchema: LABELS })).createAnnotationQueue;
    const traces = await newTraces(w, 6);
    ok(await addTraces(gql, { queueId: q.id, traceIds: traces }));
    // Two at once, then the rest at once.
    const pair = await Promise.all([next(gql, q.id), next(gql, q.id)]);
    const firstTwo = pair.map((r) => ok(r).nextAnnotationQueueItem!.traceId);
    expect(new Set(firstTwo).size).toBe(2);
    const four = await Promise.all([1, 2, 3, 4, 5].map(() => next(gql, q.id)));
    const got = four.map((r) => ok(r).nextAnnotationQueueItem?.traceId ?? null);
    expect(got.filter((t) => t === null)).toHaveLength(1);
    const all = [...firstTwo, ...got.filter((t): t is string => t !== null)];
    expect(new Set(all).size).toBe(6);
    expect(new Set(all)).toEqual(new Set(traces));
    const queue = ok(await getQueue(gql, q.id, 'ASSIGNED')).annotationQueue!;
    expect(queue).toMatchObject({ pendingCount: 0, assignedCount: 6 });
    expect(queue.items.nodes.every((i) => i.assignee === 'anonymous')).toBe(true);
    expect(ok(await next(gql, q.id)).nextAnnotationQueueItem).toBeNull();
  });

  it('completes an item only with the required labels as valid assessments', async () => {
    const w = randomWorkspaceId();
    const gql = client(w);
    const q = ok(await createQueue(gql, { name: 'q', labelSchema: LABELS })).createAnnotationQueue;
    const [t1, t2] = await newTraces(w, 2);
    ok(await addTraces(gql, { queueId: q.id, traceIds: [t1, t2] }));
    const item = ok(await next(gql, q.id)).nextAnnotationQueueItem!;
    expect(item).toMatchObject({ traceId: t1, status: 'ASSIGNED', labels: [] });
    const refused = await complete(gql, q.id, t1!);
    expect(codeOf(refused)).toBe('FAILED_PRECONDITION');
    expect(refused.errors![0]!.message).toContain('correct');
    expect(refused.errors![0]!.message).toContain('quality');
    ok(await feedback(gql, t1!, 'correct', true));
    // Out of the schema's range: not an answer yet.
    ok(await feedback(gql, t1!, 'quality', 9));
    const stillRefused = await complete(gql, q.id, t1!);
    expect(codeOf(stillRefused)).toBe('FAILED_PRECONDITION');
    expect(stillRefused.errors![0]!.message).toContain('quality');
    expect(stillRefused.errors![0]!.message).not.toContain('correct (');
    // An LLM judge's assessment is not the reviewer's label.
    ok(
      await gql(`mutation($input: LogFeedbackInput!) { logFeedback(input: $input) { id } }`, {
        input: { traceId: t1, name: 'quality', value: 4, source: { type: 'LLM_JUDGE', id: 'j' } },
      }),
    );
    expect(codeOf(await complete(gql, q.id, t1!))).toBe('FAILED_PRECONDITION');
    ok(await feedback(gql, t1!, 'quality', 4));
    ok(await feedback(gql, t1!, 'tone', 'friendly'));
    const done = ok(await complete(gql, q.id, t1!)).completeAnnotationQueueItem;
    expect(done).toMatchObject({ status: 'COMPLETED', completedBy: 'anonymous' });
    expect(done.labels.map((l) => l.name).sort()).toEqual([
      'correct',
      'quality',
      'quality',
      'quality',
      'tone',
    ]);
    // A retry of the same completion is no change; skipping it now is refused.
    const events = await countEvents(w);
    ok(await complete(gql, q.id, t1!));
    expect(await countEvents(w)).toBe(events);
    expect(codeOf(await skip(gql, q.id, t1!))).toBe('FAILED_PRECONDITION');
    // Skipping needs no labels; a skipped item is not handed out and cannot be completed.
    expect(ok(await skip(gql, q.id, t2!)).skipAnnotationQueueItem.status).toBe('SKIPPED');
    expect(codeOf(await complete(gql, q.id, t2!))).toBe('FAILED_PRECONDITION');
    expect(ok(await next(gql, q.id)).nextAnnotationQueueItem).toBeNull();
    const queue = ok(await getQueue(gql, q.id)).annotationQueue!;
    expect(queue).toMatchObject({ itemCount: 2, completedCount: 1, skippedCount: 1 });
    // The labels are ordinary assessments on the trace.
    const onTrace = ok(
      await gql<{ assessments: { nodes: { name: string; value: unknown }[] } }>(
        `query($t: String!) { assessments(traceId: $t, name: "tone") { nodes { name value } } }`,
        { t: t1 },
      ),
    ).assessments.nodes;
    expect(onTrace).toEqual([{ name: 'tone', value: 'friendly' }]);
  });

  it('assigns an item explicitly; a done item cannot be reassigned', async () => {
    const w = randomWorkspaceId();
    const gql = client(w);
    const q = ok(
      await createQueue(gql, {
        name: 'q',
        labelSchema: [{ name: 'note', kind: 'TEXT', required: false }],
      }),
    ).createAnnotationQueue;
    const [t1, t2] = await newTraces(w, 2);
    ok(await addTraces(gql, { queueId: q.id, traceIds: [t1, t2] }));
    const assign = (traceId: string, assignee: string | null) =>
      gql<{ assignAnnotationQueueItem: Item }>(
        `mutation($q: ID!, $t: String!, $a: String) { assignAnnotationQueueItem(queueId: $q, traceId: $t, assignee: $a) { ${ITEM} } }`,
        { q: q.id, t: traceId, a: assignee },
      );
    expect(ok(await assign(t1!, 'alice')).assignAnnotationQueueItem).toMatchObject({
      status: 'ASSIGNED',
      assignee: 'alice',
    });
    expect(codeOf(await assign(t1!, ' '))).toBe('INVALID_ARGUMENT');
    // The next pending item skips the one assigned to alice.
    expect(ok(await next(gql, q.id)).nextAnnotationQueueItem!.traceId).toBe(t2);
    // No required label: completing needs none.
    ok(await complete(gql, q.id, t2!));
    expect(codeOf(await assign(t2!, 'bob'))).toBe('FAILED_PRECONDITION');
    expect(codeOf(await assign(hex(32), 'bob'))).toBe('NOT_FOUND');
  });

  it('rebuilds the annotation read models from the log identically', async () => {
    const w = randomWorkspaceId();
    const gql = client(w);
    const q1 = ok(
      await createQueue(gql, { name: 'kept', labelSchema: LABELS }),
    ).createAnnotationQueue;
    const q2 = ok(
      await createQueue(gql, { name: 'gone', labelSchema: LABELS }),
    ).createAnnotationQueue;
    const traces = await newTraces(w, 4);
    ok(await addTraces(gql, { queueId: q1.id, traceIds: traces }));
    ok(await addTraces(gql, { queueId: q2.id, traceIds: traces.slice(0, 2) }));
    const item = ok(await next(gql, q1.id)).nextAnnotationQueueItem!;
    ok(await feedback(gql, item.traceId, 'correct', false));
    ok(await feedback(gql, item.traceId, 'quality', 2));
    ok(await complete(gql, q1.id, item.traceId));
    ok(await skip(gql, q1.id, traces[3]!));
    ok(await next(gql, q1.id));
    ok(
      await gql(
        `mutation($input: UpdateAnnotationQueueInput!) { updateAnnotationQueue(input: $input) { name } }`,
        { input: { queueId: q1.id, description: 'changed', name: 'kept-2' } },
      ),
    );
    ok(await gql(`mutation($q: ID!) { deleteAnnotationQueue(queueId: $q) }`, { q: q2.id }));
    const dump = async () => {
      const out: Record<string, string[]> = {};
      for (const table of projection.tables) {
        const { rows } = await sql<Record<string, unknown>>`
          SELECT * FROM ${sql.table(table)} WHERE workspace_id = ${w}`.execute(api.db);
        out[table] = rows.map(canonical).sort();
      }
      return out;
    };
    const before = await dump();
    expect(before.annotation_queues).toHaveLength(1);
    expect(before.annotation_queue_items).toHaveLength(4);
    const graphBefore = ok(await getQueue(gql, q1.id));
    expect(graphBefore.annotationQueue).toMatchObject({
      name: 'kept-2',
      pendingCount: 1,
      assignedCount: 1,
      completedCount: 1,
      skippedCount: 1,
    });
    await rebuildProjection(api.db, projection);
    expect(await dump()).toEqual(before);
    expect(ok(await getQueue(gql, q1.id))).toEqual(graphBefore);
  });
});
