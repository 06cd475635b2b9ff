import DataLoader from 'dataloader';
import { GraphQLError } from 'graphql';
import {
  ANNOTATION_ITEM_STATUSES,
  ANNOTATION_LABEL_KINDS,
  annotationQueueStreamId,
  ENTITY_ID_PATTERN,
  type AnnotationItemStatus,
  type AnnotationLabelSpecData,
} from '@cairn/events';
import { CairnError } from '../errors.ts';
import { builder } from '../graphql/builder.ts';
import { connectionType, type Connection } from '../graphql/connection.ts';
import type { GraphQLContext } from '../graphql/context.ts';
import { decodeCursor, encodeCursor, pageSize } from '../graphql/scalars.ts';
import { mapNotices } from '../runs/run.subscriptions.ts';
import { TraceRef } from '../tracing/trace.graphql.ts';
import {
  addTracesToAnnotationQueue,
  ANNOTATION_QUEUES_PROJECTION,
  assignAnnotationQueueItem,
  checkQueueId,
  completeAnnotationQueueItem,
  createAnnotationQueue,
  deleteAnnotationQueue,
  nextAnnotationQueueItem,
  skipAnnotationQueueItem,
  updateAnnotationQueue,
} from './annotation-queue.commands.ts';
import type { LabelSpecInput } from './annotation-queue.decider.ts';
import {
  countItems,
  countQueues,
  getItems,
  getQueuesByIds,
  listItems,
  listQueues,
  type AnnotationQueueItemRow,
  type AnnotationQueueRow,
  type ItemCursor,
} from './annotation-queues.queries.ts';
import { AssessmentRef } from './evaluation.graphql.ts';
import { assessmentsOfTraces, type AssessmentRow } from './evaluation.queries.ts';
import { checkTraceId } from './evaluation-limits.ts';

/** Per-request loaders (one batch query per edge). */
function createLoaders(ctx: GraphQLContext) {
  const { db } = ctx.deps;
  const ws = ctx.workspaceId;
  return {
    queue: new DataLoader<string, AnnotationQueueRow | null>(async (ids) => {
      const rows = await getQueuesByIds(db, ws, ids);
      const byId = new Map(rows.map((r) => [r.queue_id, r]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    /** Keyed by `<queueId>:<traceId>`. */
    item: new DataLoader<string, AnnotationQueueItemRow | null>(async (keys) => {
      const pairs = keys.map((k) => {
        const [queueId = '', traceId = ''] = k.split(':');
        return { queueId, traceId };
      });
      const rows = await getItems(db, ws, pairs);
      const byKey = new Map(rows.map((r) => [`${r.queue_id}:${r.trace_id}`, r]));
      return keys.map((k) => byKey.get(k) ?? null);
    }),
    assessments: new DataLoader<string, AssessmentRow[]>(async (traceIds) => {
      const byTrace = await assessmentsOfTraces(db, ws, traceIds);
      return traceIds.map((id) => byTrace.get(id) ?? []);
    }),
  };
}

const loaderCache = new WeakMap<GraphQLContext, ReturnType<typeof createLoaders>>();
function loaders(ctx: GraphQLContext) {
  let found = loaderCache.get(ctx);
  if (!found) loaderCache.set(ctx, (found = createLoaders(ctx)));
  return found;
}

const ms = (d: Date) => d.getTime();
const size = (first: number | null | undefined) => pageSize(first ?? 50, 200);

const AnnotationLabelKindEnum = builder.enumType('AnnotationLabelKind', {
  values: ANNOTATION_LABEL_KINDS,
});
const AnnotationItemStatusEnum = builder.enumType('AnnotationItemStatus', {
  values: ANNOTATION_ITEM_STATUSES,
});

const AnnotationLabelRef = builder.objectRef<AnnotationLabelSpecData>('AnnotationLabel').implement({
  description:
    'One label of a queue: reviewers answer it with a HUMAN FEEDBACK assessment of this name.',
  fields: (t) => ({
    name: t.exposeString('name'),
    kind: t.field({ type: AnnotationLabelKindEnum, resolve: (l) => l.kind }),
    min: t.exposeFloat('min', { nullable: true }),
    max: t.exposeFloat('max', { nullable: true }),
    options: t.exposeStringList('options'),
    required: t.exposeBoolean('required'),
    instructions: t.exposeString('instructions', { nullable: true }),
  }),
});

const AnnotationQueueItemRef = builder
  .objectRef<AnnotationQueueItemRow>('AnnotationQueueItem')
  .implement({
    fields: (t) => ({
      queueId: t.exposeID('queue_id'),
      traceId: t.exposeString('trace_id'),
      trace: t.field({
        type: TraceRef,
        nullable: true,
        description: 'Null when the trace was deleted.',
        resolve: (i, _a, ctx) => ctx.loaders.tracing.trace.load(i.trace_id),
      }),
      status: t.field({
        type: AnnotationItemStatusEnum,
        resolve: (i) => i.status as AnnotationItemStatus,
      }),
      assignee: t.exposeString('assignee', { nullable: true }),
      completedBy: t.exposeString('completed_by', {
        nullable: true,
        description: 'Who completed or skipped it.',
      }),
      addedAt: t.field({ type: 'Timestamp', resolve: (i) => ms(i.added_at) }),
      updatedAt: t.field({ type: 'Timestamp', resolve: (i) => ms(i.updated_at) }),
      labels: t.field({
        type: [AssessmentRef],
        description:
          "The trace's FEEDBACK assessments named after a label of the queue's schema, newest first.",
        resolve: async (i, _a, ctx) => {
          const [queue, assessments] = await Promise.all([
            loaders(ctx).queue.load(i.queue_id),
            loaders(ctx).assessments.load(i.trace_id),
          ]);
          const names = new Set((queue?.label_schema ?? []).map((l) => l.name));
          return assessments.filter((a) => a.kind === 'FEEDBACK' && names.has(a.name));
        },
      }),
    }),
  });

const AnnotationQueueItemConnection = connectionType('AnnotationQueueItem', AnnotationQueueItemRef);

const isItemCursor = (v: unknown): v is ItemCursor =>
  typeof v === 'object' &&
  v !== null &&
  Number.isInteger((v as { p?: unknown }).p) &&
  Number.isInteger((v as { i?: unknown }).i);

const AnnotationQueueRef = builder.objectRef<AnnotationQueueRow>('AnnotationQueue').implement({
  description: 'Traces to review by people, with the labels to give each (docs/evaluation.md).',
  fields: (t) => ({
    id: t.exposeID('queue_id'),
    name: t.exposeString('name'),
    description: t.exposeString('description', { nullable: true }),
    labelSchema: t.field({ type: [AnnotationLabelRef], resolve: (q) => q.label_schema }),
    createdBy: t.exposeString('created_by'),
    createdAt: t.field({ type: 'Timestamp', resolve: (q) => ms(q.created_at) }),
    updatedAt: t.field({ type: 'Timestamp', resolve: (q) => ms(q.updated_at) }),
    itemCount: t.exposeInt('item_count'),
    pendingCount: t.exposeInt('pending_count'),
    assignedCount: t.exposeInt('assigned_count'),
    completedCount: t.exposeInt('completed_count'),
    skippedCount: t.exposeInt('skipped_count'),
    items: t.field({
      type: AnnotationQueueItemConnection,
      description: 'In the order they were added; of one status when given.',
      args: {
        first: t.arg.int(),
        after: t.arg.string(),
        status: t.arg({ type: AnnotationItemStatusEnum }),
      },
      resolve: async (q, args, ctx): Promise<Connection<AnnotationQueueItemRow>> => {
        const first = size(args.first);
        const after = decodeCursor(args.after, isItemCursor);
        const status = args.status ?? null;
        const { db } = ctx.deps;
        const { rows, hasNextPage } = await listItems(
          db,
          ctx.workspaceId,
          q.queue_id,
          status,
          first,
          after,
        );
        const edges = rows.map((node) => ({
          node,
          cursor: encodeCursor({ p: node.added_position, i: node.added_index }),
        }));
        return {
          edges,
          pageInfo: { hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
          totalCount: () => countItems(db, ctx.workspaceId, q.queue_id, status),
        };
      },
    }),
  }),
});

const AnnotationQueueConnection = connectionType('AnnotationQueue', AnnotationQueueRef);

const AnnotationLabelInput = builder.inputType('AnnotationLabelInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    kind: t.field({ type: AnnotationLabelKindEnum, required: true }),
    min: t.float({ description: 'SCORE only; default 0.' }),
    max: t.float({ description: 'SCORE only; default 1.' }),
    options: t.stringList({ description: 'CATEGORICAL only: 2 to 100 distinct values.' }),
    required: t.boolean({ description: 'Default false.' }),
    instructions: t.string(),
  }),
});

const CreateAnnotationQueueInput = builder.inputType('CreateAnnotationQueueInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    description: t.string(),
    labelSchema: t.field({ type: [AnnotationLabelInput], required: true }),
  }),
});

const UpdateAnnotationQueueInput = builder.inputType('UpdateAnnotationQueueInput', {
  fields: (t) => ({
    queueId: t.id({ required: true }),
    name: t.string(),
    description: t.string({ description: 'Omitted: unchanged; null or blank: none.' }),
    labelSchema: t.field({ type: [AnnotationLabelInput] }),
  }),
});

const AddTracesToAnnotationQueueInput = builder.inputType('AddTracesToAnnotationQueueInput', {
  fields: (t) => ({
    queueId: t.id({ required: true }),
    traceIds: t.stringList({ description: 'At most 1000; exactly one of traceIds and filter.' }),
    filter: t.string({
      description:
        'A trace search filter (docs/tracing.md): the newest matching traces, at most `limit`.',
    }),
    limit: t.int({ description: 'With filter: 1 to 1000 (default 1000).' }),
  }),
});

interface AddResult {
  queue: AnnotationQueueRow;
  added: number;
  matched: number;
}
const AddTracesResultRef = builder
  .objectRef<AddResult>('AddTracesToAnnotationQueueResult')
  .implement({
    fields: (t) => ({
      queue: t.field({ type: AnnotationQueueRef, resolve: (r) => r.queue }),
      added: t.exposeInt('added', { description: 'Traces new to the queue.' }),
      matched: t.exposeInt('matched', {
        description: 'Traces given or matched (those in the queue already included).',
      }),
    }),
  });

const labelsOf = (list: readonly LabelSpecInput[]): LabelSpecInput[] =>
  list.map((l) => ({
    name: l.name,
    kind: l.kind,
    min: l.min ?? null,
    max: l.max ?? null,
    options: l.options ?? null,
    required: l.required ?? null,
    instructions: l.instructions ?? null,
  }));

/** The queue after a write (the mutation waited for the projection). */
async function queueAfter(ctx: GraphQLContext, queueId: string): Promise<AnnotationQueueRow> {
  const l = loaders(ctx);
  l.queue.clear(queueId);
  const row = await l.queue.load(queueId);
  if (row) return row;
  throw new CairnError('UNAVAILABLE', `Annotation queue ${queueId} is saved but not readable yet`);
}

async function itemAfter(
  ctx: GraphQLContext,
  queueId: string,
  traceId: string,
): Promise<AnnotationQueueItemRow> {
  const l = loaders(ctx);
  const key = `${queueId}:${traceId}`;
  l.item.clear(key);
  l.queue.clear(queueId);
  const row = await l.item.load(key);
  if (row) return row;
  throw new CairnError('UNAVAILABLE', `The item of trace ${traceId} is saved but not readable yet`);
}

const isIdCursor = (v: unknown): v is { id: string } =>
  typeof v === 'object' && v !== null && typeof (v as { id?: unknown }).id === 'string';

builder.queryFields((t) => ({
  annotationQueues: t.field({
    type: AnnotationQueueConnection,
    description: 'Annotation queues, newest first.',
    args: { first: t.arg.int(), after: t.arg.string() },
    resolve: async (_r, args, ctx): Promise<Connection<AnnotationQueueRow>> => {
      const first = size(args.first);
      const after = decodeCursor(args.after, isIdCursor)?.id ?? null;
      const { rows, hasNextPage } = await listQueues(ctx.deps.db, ctx.workspaceId, first, after);
      const edges = rows.map((node) => ({ node, cursor: encodeCursor({ id: node.queue_id }) }));
      return {
        edges,
        pageInfo: { hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
        totalCount: () => countQueues(ctx.deps.db, ctx.workspaceId),
      };
    },
  }),
  annotationQueue: t.field({
    type: AnnotationQueueRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_r, { id }, ctx) =>
      ENTITY_ID_PATTERN.test(String(id)) ? loaders(ctx).queue.load(String(id)) : null,
  }),
}));

builder.mutationFields((t) => ({
  createAnnotationQueue: t.field({
    type: AnnotationQueueRef,
    description: 'Names are unique per workspace (ALREADY_EXISTS).',
    args: { input: t.arg({ type: CreateAnnotationQueueInput, required: true }) },
    resolve: async (_r, { input }, ctx) => {
      const { queueId } = await createAnnotationQueue(ctx.deps, ctx.caller, {
        name: input.name,
        description: input.description ?? null,
        labelSchema: labelsOf(input.labelSchema),
      });
      return queueAfter(ctx, queueId);
    },
  }),
  updateAnnotationQueue: t.field({
    type: AnnotationQueueRef,
    args: { input: t.arg({ type: UpdateAnnotationQueueInput, required: true }) },
    resolve: async (_r, { input }, ctx) => {
      const queueId = checkQueueId(String(input.queueId));
      await updateAnnotationQueue(ctx.deps, ctx.caller, queueId, {
        name: input.name ?? undefined,
        description: input.description === undefined ? undefined : input.description,
        labelSchema: input.labelSchema ? labelsOf(input.labelSchema) : undefined,
      });
      return queueAfter(ctx, queueId);
    },
  }),
  deleteAnnotationQueue: t.field({
    type: 'ID',
    description: 'Deletes the queue and its items; the labels (assessments) stay on the traces.',
    args: { queueId: t.arg.id({ required: true }) },
    resolve: async (_r, { queueId }, ctx) => {
      const id = checkQueueId(String(queueId));
      await deleteAnnotationQueue(ctx.deps, ctx.caller, id);
      return id;
    },
  }),
  addTracesToAnnotationQueue: t.field({
    type: AddTracesResultRef,
    args: { input: t.arg({ type: AddTracesToAnnotationQueueInput, required: true }) },
    resolve: async (_r, { input }, ctx): Promise<AddResult> => {
      const queueId = checkQueueId(String(input.queueId));
      const result = await addTracesToAnnotationQueue(ctx.deps, ctx.caller, {
        queueId,
        traceIds: input.traceIds ?? null,
        filter: input.filter ?? null,
        limit: input.limit ?? null,
      });
      return { ...result, queue: await queueAfter(ctx, queueId) };
    },
  }),
  assignAnnotationQueueItem: t.field({
    type: AnnotationQueueItemRef,
    description: 'Assigns (or reassigns) an open item; assignee defaults to the caller.',
    args: {
      queueId: t.arg.id({ required: true }),
      traceId: t.arg.string({ required: true }),
      assignee: t.arg.string(),
    },
    resolve: async (_r, args, ctx) => {
      const queueId = checkQueueId(String(args.queueId));
      const traceId = checkTraceId('traceId', args.traceId);
      await assignAnnotationQueueItem(ctx.deps, ctx.caller, {
        queueId,
        traceId,
        assignee: args.assignee ?? null,
      });
      return itemAfter(ctx, queueId, traceId);
    },
  }),
  nextAnnotationQueueItem: t.field({
    type: AnnotationQueueItemRef,
    nullable: true,
    description:
      'Assigns the oldest pending item to the caller and answers it (null when none is pending). Two concurrent callers never get the same item.',
    args: { queueId: t.arg.id({ required: true }) },
    resolve: async (_r, args, ctx) => {
      const queueId = checkQueueId(String(args.queueId));
      const traceId = await nextAnnotationQueueItem(ctx.deps, ctx.caller, queueId);
      return traceId === null ? null : itemAfter(ctx, queueId, traceId);
    },
  }),
  completeAnnotationQueueItem: t.field({
    type: AnnotationQueueItemRef,
    description:
      "FAILED_PRECONDITION unless every required label is on the trace as the caller's HUMAN feedback with a valid value (logFeedback first).",
    args: {
      queueId: t.arg.id({ required: true }),
      traceId: t.arg.string({ required: true }),
    },
    resolve: async (_r, args, ctx) => {
      const queueId = checkQueueId(String(args.queueId));
      const traceId = checkTraceId('traceId', args.traceId);
      await completeAnnotationQueueItem(ctx.deps, ctx.caller, { queueId, traceId });
      return itemAfter(ctx, queueId, traceId);
    },
  }),
  skipAnnotationQueueItem: t.field({
    type: AnnotationQueueItemRef,
    args: {
      queueId: t.arg.id({ required: true }),
      traceId: t.arg.string({ required: true }),
    },
    resolve: async (_r, args, ctx) => {
      const queueId = checkQueueId(String(args.queueId));
      const traceId = checkTraceId('traceId', args.traceId);
      await skipAnnotationQueueItem(ctx.deps, ctx.caller, { queueId, traceId });
      return itemAfter(ctx, queueId, traceId);
    },
  }),
}));

builder.subscriptionFields((t) => ({
  annotationQueueChanged: t.field({
    type: AnnotationQueueRef,
    nullable: true,
    description:
      'The queue, re-read, each time a change to it (settings, items, statuses) is projected; null once it is deleted (then the subscription ends).',
    args: { id: t.arg.id({ required: true }) },
    subscribe: async (_r, { id }, ctx) => {
      const queueId = String(id);
      const exists =
        ENTITY_ID_PATTERN.test(queueId) &&
        (await getQueuesByIds(ctx.deps.db, ctx.workspaceId, [queueId])).length > 0;
      // graphql-ws does not run the HTTP error mapper: the code travels in the error itself.
      if (!exists)
        throw new GraphQLError(`Annotation queue ${queueId} not found`, {
          extensions: { code: 'NOT_FOUND', id: queueId },
        });
      const streamId = annotationQueueStreamId(queueId);
      const changes = mapNotices<true>(ctx, (n) =>
        n.p === ANNOTATION_QUEUES_PROJECTION && n.s.some(([s]) => s === streamId) ? true : null,
      );
      return (async function* () {
        for await (const _ of changes) {
          loaderCache.delete(ctx);
          const row = await loaders(ctx).queue.load(queueId);
          yield row;
          if (row === null) return;
        }
      })();
    },
    resolve: (row: AnnotationQueueRow | null) => row,
  }),
}));
