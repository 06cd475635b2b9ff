import { sql, type Transaction } from 'kysely';
import type { DB } from '@cairn/db';
import { assertNever, type CairnEvent, type EventType } from '@cairn/events';
import type { Projection } from '../projection.ts';

const handles = [
  'AnnotationQueueCreated',
  'AnnotationQueueUpdated',
  'AnnotationQueueItemsAdded',
  'AnnotationQueueItemAssigned',
  'AnnotationQueueItemCompleted',
  'AnnotationQueueItemSkipped',
  'AnnotationQueueDeleted',
] as const satisfies readonly EventType[];

type Handled = Extract<CairnEvent, { type: (typeof handles)[number] }>;

async function setItem(
  trx: Transaction<DB>,
  event: Handled,
  traceId: string,
  set: { status: string; assignee?: string | null; completed_by?: string | null },
): Promise<void> {
  await trx
    .updateTable('annotation_queue_items')
    .set({ ...set, updated_at: event.recordedAt })
    .where('workspace_id', '=', event.workspaceId)
    .where('queue_id', '=', event.data.queueId)
    .where('trace_id', '=', traceId)
    .execute();
}

/** Applies one event; answers the queue whose counts changed (or null). */
async function applyOne(trx: Transaction<DB>, event: Handled): Promise<string | null> {
  const ws = event.workspaceId;
  const at = event.recordedAt;
  switch (event.type) {
    case 'AnnotationQueueCreated': {
      const d = event.data;
      await trx
        .insertInto('annotation_queues')
        .values({
          workspace_id: ws,
          queue_id: d.queueId,
          name: d.name,
          description: d.description,
          label_schema: JSON.stringify(d.labelSchema),
          created_by: event.actor,
          created_at: at,
          updated_at: at,
        })
        .onConflict((oc) => oc.columns(['workspace_id', 'queue_id']).doNothing())
        .execute();
      return null;
    }
    case 'AnnotationQueueUpdated': {
      const d = event.data;
      await trx
        .updateTable('annotation_queues')
        .set({
          name: d.name,
          description: d.description,
          label_schema: JSON.stringify(d.labelSchema),
          updated_at: at,
        })
        .where('workspace_id', '=', ws)
        .where('queue_id', '=', d.queueId)
        .execute();
      return null;
    }
    case 'AnnotationQueueItemsAdded': {
      const d = event.data;
      await trx
        .insertInto('annotation_queue_items')
        .values(
          d.items.map((traceId, index) => ({
            workspace_id: ws,
            queue_id: d.queueId,
            trace_id: traceId,
            added_position: event.streamPosition,
            added_index: index,
            status: 'PENDING',
            assignee: null,
            completed_by: null,
            added_at: at,
            updated_at: at,
          })),
        )
        .onConflict((oc) => oc.columns(['workspace_id', 'queue_id', 'trace_id']).doNothing())
        .execute();
      return d.queueId;
    }
    case 'AnnotationQueueItemAssigned':
      await setItem(trx, event, event.data.traceId, {
        status: 'ASSIGNED',
        assignee: event.data.assignee,
      });
      return event.data.queueId;
    case 'AnnotationQueueItemCompleted':
      await setItem(trx, event, event.data.traceId, {
        status: 'COMPLETED',
        completed_by: event.data.by,
      });
      return event.data.queueId;
    case 'AnnotationQueueItemSkipped':
      await setItem(trx, event, event.data.traceId, {
        status: 'SKIPPED',
        completed_by: event.data.by,
      });
      return event.data.queueId;
    case 'AnnotationQueueDeleted':
      await trx
        .deleteFrom('annotation_queue_items')
        .where('workspace_id', '=', ws)
        .where('queue_id', '=', event.data.queueId)
        .execute();
      await trx
        .deleteFrom('annotation_queues')
        .where('workspace_id', '=', ws)
        .where('queue_id', '=', event.data.queueId)
        .execute();
      return null;
    default:
      return assertNever(event);
  }
}

/** The queue's counts, recounted from its items (idempotent, whatever was applied before). */
async function recount(trx: Transaction<DB>, workspaceId: string, queueId: string) {
  await sql`
    UPDATE annotation_queues q SET
      item_count = c.total, pending_count = c.pending, assigned_count = c.assigned,
      completed_count = c.completed, skipped_count = c.skipped
    FROM (
      SELECT count(*)::int AS total,
        (count(*) FILTER (WHERE status = 'PENDING'))::int AS pending,
        (count(*) FILTER (WHERE status = 'ASSIGNED'))::int AS assigned,
        (count(*) FILTER (WHERE status = 'COMPLETED'))::int AS completed,
        (count(*) FILTER (WHERE status = 'SKIPPED'))::int AS skipped
      FROM annotation_queue_items WHERE workspace_id = ${workspaceId} AND queue_id = ${queueId}
    ) c
    WHERE q.workspace_id = ${workspaceId} AND q.queue_id = ${queueId}`.execute(trx);
}

/**
 * `annotation-queues`: annotation queues for human review (docs/evaluation.md, "Annotation
 * queues"): one row per live queue with its label schema and item counts, one row per item with
 * its status and assignee. The labels are assessments (the `evaluation` projection's).
 */
export const annotationQueuesProjection: Projection = {
  name: 'annotation-queues',
  version: 1,
  handles,
  tables: ['annotation_queues', 'annotation_queue_items'],
  async apply(trx, events) {
    const touched = new Map<string, [string, string]>();
    for (const event of events) {
      const queueId = await applyOne(trx, event as Handled);
      if (queueId !== null)
        touched.set(`${event.workspaceId}\0${queueId}`, [event.workspaceId, queueId]);
    }
    for (const [ws, queueId] of touched.values()) await recount(trx, ws, queueId);
  },
};
