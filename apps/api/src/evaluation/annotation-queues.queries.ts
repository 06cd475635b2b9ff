import type { Kysely, Selectable } from 'kysely';
import type { AnnotationQueueItemsTable, AnnotationQueuesTable, DB } from '@cairn/db';

export type AnnotationQueueRow = Selectable<AnnotationQueuesTable>;
export type AnnotationQueueItemRow = Selectable<AnnotationQueueItemsTable>;

export function getQueuesByIds(
  db: Kysely<DB>,
  workspaceId: string,
  ids: readonly string[],
): Promise<AnnotationQueueRow[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return db
    .selectFrom('annotation_queues')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('queue_id', 'in', [...ids])
    .execute();
}

/** Newest first (queue ids are uuidv7: their order is creation order); keyset on the id. */
export async function listQueues(
  db: Kysely<DB>,
  workspaceId: string,
  first: number,
  after: string | null,
): Promise<{ rows: AnnotationQueueRow[]; hasNextPage: boolean }> {
  let q = db.selectFrom('annotation_queues').selectAll().where('workspace_id', '=', workspaceId);
  if (after !== null) q = q.where('queue_id', '<', after);
  const rows = await q
    .orderBy('queue_id', 'desc')
    .limit(first + 1)
    .execute();
  return { rows: rows.slice(0, first), hasNextPage: rows.length > first };
}

export function countQueues(db: Kysely<DB>, workspaceId: string): Promise<number> {
  return db
    .selectFrom('annotation_queues')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('workspace_id', '=', workspaceId)
    .executeTakeFirstOrThrow()
    .then((r) => Number(r.n));
}

export interface ItemCursor {
  p: number;
  i: number;
}

/** A queue's items in the order they were added, optionally of one status; keyset cursors. */
export async function listItems(
  db: Kysely<DB>,
  workspaceId: string,
  queueId: string,
  status: string | null,
  first: number,
  after: ItemCursor | null,
): Promise<{ rows: AnnotationQueueItemRow[]; hasNextPage: boolean }> {
  let q = db
    .selectFrom('annotation_queue_items')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('queue_id', '=', queueId);
  if (status !== null) q = q.where('status', '=', status);
  if (after !== null)
    q = q.where((eb) =>
      eb.or([
        eb('added_position', '>', after.p),
        eb.and([eb('added_position', '=', after.p), eb('added_index', '>', after.i)]),
      ]),
    );
  const rows = await q
    .orderBy('added_position')
    .orderBy('added_index')
    .limit(first + 1)
    .execute();
  return { rows: rows.slice(0, first), hasNextPage: rows.length > first };
}

export function countItems(
  db: Kysely<DB>,
  workspaceId: string,
  queueId: string,
  status: string | null,
): Promise<number> {
  let q = db
    .selectFrom('annotation_queue_items')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('workspace_id', '=', workspaceId)
    .where('queue_id', '=', queueId);
  if (status !== null) q = q.where('status', '=', status);
  return q.executeTakeFirstOrThrow().then((r) => Number(r.n));
}

/** Items by (queue id, trace id) pairs, one query. */
export async function getItems(
  db: Kysely<DB>,
  workspaceId: string,
  keys: readonly { queueId: string; traceId: string }[],
): Promise<AnnotationQueueItemRow[]> {
  if (keys.length === 0) return [];
  return db
    .selectFrom('annotation_queue_items')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('queue_id', 'in', [...new Set(keys.map((k) => k.queueId))])
    .where('trace_id', 'in', [...new Set(keys.map((k) => k.traceId))])
    .execute();
}

/** The queues holding each trace (the trace page's "in queues"), one query. */
export async function queuesOfTraces(
  db: Kysely<DB>,
  workspaceId: string,
  traceIds: readonly string[],
): Promise<Map<string, AnnotationQueueItemRow[]>> {
  const out = new Map<string, AnnotationQueueItemRow[]>();
  if (traceIds.length === 0) return out;
  const rows = await db
    .selectFrom('annotation_queue_items')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('trace_id', 'in', [...traceIds])
    .orderBy('queue_id')
    .execute();
  for (const r of rows) out.set(r.trace_id, [...(out.get(r.trace_id) ?? []), r]);
  return out;
}
