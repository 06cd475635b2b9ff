import { sql, type Kysely, type Selectable } from 'kysely';
import type {
  DB,
  WebhookDeliveriesTable,
  WebhookDeliveryAttemptsTable,
  WebhooksTable,
} from '@cairn/db';
import { WEBHOOK_DELIVERIES_CHANNEL } from '@cairn/change-notices';

export type WebhookRow = Omit<Selectable<WebhooksTable>, 'encrypted_secret'>;
export type WebhookDeliveryRow = Selectable<WebhookDeliveriesTable>;
export type WebhookDeliveryAttemptRow = Selectable<WebhookDeliveryAttemptsTable>;

const WEBHOOK_COLUMNS = [
  'workspace_id',
  'webhook_id',
  'url',
  'events',
  'model_name',
  'description',
  'active',
  'created_at',
  'updated_at',
] as const;

/** Newest first. The sealed secret is never selected for the API. */
export function listWebhooks(db: Kysely<DB>, workspaceId: string): Promise<WebhookRow[]> {
  return db
    .selectFrom('webhooks')
    .select(WEBHOOK_COLUMNS)
    .where('workspace_id', '=', workspaceId)
    .orderBy('created_at', 'desc')
    .orderBy('webhook_id', 'desc')
    .execute();
}

export function getWebhooksByIds(
  db: Kysely<DB>,
  workspaceId: string,
  ids: readonly string[],
): Promise<WebhookRow[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return db
    .selectFrom('webhooks')
    .select(WEBHOOK_COLUMNS)
    .where('workspace_id', '=', workspaceId)
    .where('webhook_id', 'in', [...ids])
    .execute();
}

/** The newest `first` deliveries of each webhook, one query for all of them. */
export async function getDeliveries(
  db: Kysely<DB>,
  workspaceId: string,
  webhookIds: readonly string[],
  first: number,
): Promise<Map<string, WebhookDeliveryRow[]>> {
  const byWebhook = new Map<string, WebhookDeliveryRow[]>();
  if (webhookIds.length === 0) return byWebhook;
  const rows = await sql<WebhookDeliveryRow>`
    SELECT d.* FROM unnest(${[...webhookIds]}::text[]) AS w(webhook_id)
    CROSS JOIN LATERAL (
      SELECT * FROM webhook_deliveries
      WHERE workspace_id = ${workspaceId} AND webhook_id = w.webhook_id
      ORDER BY created_at DESC, delivery_id DESC
      LIMIT ${first}) d`.execute(db);
  for (const row of rows.rows) {
    const list = byWebhook.get(row.webhook_id) ?? [];
    list.push(row);
    byWebhook.set(row.webhook_id, list);
  }
  return byWebhook;
}

export function getDelivery(
  db: Kysely<DB>,
  workspaceId: string,
  deliveryId: string,
): Promise<WebhookDeliveryRow | undefined> {
  return db
    .selectFrom('webhook_deliveries')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('delivery_id', '=', deliveryId)
    .executeTakeFirst();
}

export async function getAttempts(
  db: Kysely<DB>,
  workspaceId: string,
  deliveryIds: readonly string[],
): Promise<Map<string, WebhookDeliveryAttemptRow[]>> {
  const byDelivery = new Map<string, WebhookDeliveryAttemptRow[]>();
  if (deliveryIds.length === 0) return byDelivery;
  const rows = await db
    .selectFrom('webhook_delivery_attempts')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('delivery_id', 'in', [...deliveryIds])
    .orderBy('delivery_id')
    .orderBy('attempt')
    .execute();
  for (const row of rows) {
    const list = byDelivery.get(row.delivery_id) ?? [];
    list.push(row);
    byDelivery.set(row.delivery_id, list);
  }
  return byDelivery;
}

/**
 * Queues a finished delivery (SUCCEEDED or FAILED) for one more attempt now. Deliveries are
 * operational state, not events: this changes the outbox row only. Answers the row, or null when
 * it is not finished (already queued or in flight).
 */
export async function requeueDelivery(
  db: Kysely<DB>,
  workspaceId: string,
  deliveryId: string,
): Promise<WebhookDeliveryRow | null> {
  const row = await db
    .updateTable('webhook_deliveries')
    .set({ status: 'PENDING', next_attempt_at: sql<Date>`now()` })
    .where('workspace_id', '=', workspaceId)
    .where('delivery_id', '=', deliveryId)
    .where('status', 'in', ['SUCCEEDED', 'FAILED'])
    .returningAll()
    .executeTakeFirst();
  if (row) await sql`SELECT pg_notify(${WEBHOOK_DELIVERIES_CHANNEL}, '')`.execute(db);
  return row ?? null;
}
