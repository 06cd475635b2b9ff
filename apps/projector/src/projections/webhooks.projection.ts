import { sql, type Transaction } from 'kysely';
import type { DB } from '@cairn/db';
import {
  assertNever,
  newEntityId,
  WEBHOOK_EVENT_SOURCES,
  type CairnEvent,
  type EventType,
  type WebhookEventKind,
} from '@cairn/events';
import { WEBHOOK_DELIVERIES_CHANNEL } from '@cairn/change-notices';
import type { Projection } from '../projection.ts';

// The channel lives in @cairn/change-notices (the API listens to it too); re-exported here.
export { WEBHOOK_DELIVERIES_CHANNEL };

const registryHandles = [
  'RegisteredModelCreated',
  'ModelVersionCreated',
  'ModelVersionStageTransitioned',
  'ModelAliasSet',
  'ModelAliasDeleted',
  'PromptVersionCreated',
  'PromptAliasSet',
  'PromptAliasDeleted',
] as const satisfies readonly EventType[];

const handles = [
  'WebhookCreated',
  'WebhookUrlChanged',
  'WebhookEventsChanged',
  'WebhookActivated',
  'WebhookDeactivated',
  'WebhookSecretRotated',
  'WebhookDeleted',
  ...registryHandles,
] as const satisfies readonly EventType[];

type Handled = Extract<CairnEvent, { type: (typeof handles)[number] }>;
type RegistryEvent = Extract<CairnEvent, { type: (typeof registryHandles)[number] }>;

const KIND_OF: Record<RegistryEvent['type'], WebhookEventKind> = Object.fromEntries(
  Object.entries(WEBHOOK_EVENT_SOURCES).map(([kind, type]) => [type, kind]),
) as Record<RegistryEvent['type'], WebhookEventKind>;

/** The JSON body a delivery POSTs, fixed when it is queued (retries send the same bytes). */
export function deliveryPayload(deliveryId: string, kind: WebhookEventKind, event: RegistryEvent) {
  return JSON.stringify({
    id: deliveryId,
    event: kind,
    eventId: event.id,
    occurredAt: event.occurredAt,
    workspace: event.workspaceId,
    data: event.data,
  });
}

/**
 * Queues one delivery per active webhook of the event's workspace that subscribes to its kind
 * (and its model or prompt, by name, when the webhook names one). The webhooks table read here is this projection's
 * own, so it reflects exactly the subscriptions before this event in log order. Idempotent on
 * (webhook, event): a replay inserts nothing new, so nothing is sent twice.
 */
async function queueDeliveries(trx: Transaction<DB>, event: RegistryEvent): Promise<number> {
  const kind = KIND_OF[event.type];
  const targets = await trx
    .selectFrom('webhooks')
    .select('webhook_id')
    .where('workspace_id', '=', event.workspaceId)
    .where('active', '=', true)
    .where(sql<boolean>`${kind} = ANY(events)`)
    .where((eb) => eb.or([eb('model_name', 'is', null), eb('model_name', '=', event.data.name)]))
    // Deliveries of this event were sent and pruned (retention): a replay queues nothing again.
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('webhook_delivery_horizons as h')
            .select('h.through_position')
            .whereRef('h.workspace_id', '=', 'webhooks.workspace_id')
            .whereRef('h.webhook_id', '=', 'webhooks.webhook_id')
            .where('h.through_position', '>=', event.globalPosition),
        ),
      ),
    )
    .execute();
  if (targets.length === 0) return 0;
  const rows = targets.map((t) => {
    const deliveryId = newEntityId();
    return {
      workspace_id: event.workspaceId,
      delivery_id: deliveryId,
      webhook_id: t.webhook_id,
      event_id: event.id,
      event: kind,
      status: 'PENDING',
      attempts: 0,
      last_status_code: null,
      last_error: null,
      next_attempt_at: sql<Date>`now()`,
      payload: deliveryPayload(deliveryId, kind, event),
      delivered_at: null,
    };
  });
  const inserted = await trx
    .insertInto('webhook_deliveries')
    .values(rows)
    .onConflict((oc) => oc.columns(['workspace_id', 'webhook_id', 'event_id']).doNothing())
    .returning('delivery_id')
    .execute();
  return inserted.length;
}

async function applyOne(trx: Transaction<DB>, event: Handled): Promise<number> {
  const ws = event.workspaceId;
  const at = event.recordedAt;
  const webhook = (webhookId: string) =>
    trx.updateTable('webhooks').where('workspace_id', '=', ws).where('webhook_id', '=', webhookId);
  switch (event.type) {
    case 'WebhookCreated': {
      const d = event.data;
      await trx
        .insertInto('webhooks')
        .values({
          workspace_id: ws,
          webhook_id: d.webhookId,
          url: d.url,
          events: d.events,
          model_name: d.modelName,
          description: d.description,
          active: true,
          encrypted_secret: d.encryptedSecret,
          created_at: at,
          updated_at: at,
        })
        .onConflict((oc) => oc.columns(['workspace_id', 'webhook_id']).doNothing())
        .execute();
      return 0;
    }
    case 'WebhookUrlChanged':
      await webhook(event.data.webhookId).set({ url: event.data.url, updated_at: at }).execute();
      return 0;
    case 'WebhookEventsChanged':
      await webhook(event.data.webhookId)
        .set({ events: event.data.events, updated_at: at })
        .execute();
      return 0;
    case 'WebhookActivated':
      await webhook(event.data.webhookId).set({ active: true, updated_at: at }).execute();
      return 0;
    case 'WebhookDeactivated':
      await webhook(event.data.webhookId).set({ active: false, updated_at: at }).execute();
      return 0;
    case 'WebhookSecretRotated':
      await webhook(event.data.webhookId)
        .set({ encrypted_secret: event.data.encryptedSecret, updated_at: at })
        .execute();
      return 0;
    case 'WebhookDeleted':
      await trx
        .deleteFrom('webhooks')
        .where('workspace_id', '=', ws)
        .where('webhook_id', '=', event.data.webhookId)
        .execute();
      return 0;
    case 'RegisteredModelCreated':
    case 'ModelVersionCreated':
    case 'ModelVersionStageTransitioned':
    case 'ModelAliasSet':
    case 'ModelAliasDeleted':
    case 'PromptVersionCreated':
    case 'PromptAliasSet':
    case 'PromptAliasDeleted':
      return queueDeliveries(trx, event);
    default:
      return assertNever(event);
  }
}

/**
 * `webhooks`: the subscriptions read model, and the dispatcher that turns registry events into
 * delivery rows (`webhook_deliveries`, the outbox the sender drains). One projection for both, so
 * that a registry event is matched against the subscriptions as they were at that point of the
 * log, live and in a rebuild alike.
 *
 * Rebuild: only `webhooks` is emptied. Delivery rows and their attempts are not read-model state
 * but a record of effects on the outside world: they are kept, and the replay's inserts collide
 * with them on (webhook, event) and do nothing, so a rebuild never sends a webhook again. Where
 * finished deliveries were pruned, `webhook_delivery_horizons` stops the replay instead.
 */
export const webhooksProjection: Projection = {
  name: 'webhooks',
  version: 1,
  handles,
  tables: ['webhooks'],
  async apply(trx, events) {
    let queued = 0;
    for (const event of events) queued += await applyOne(trx, event as Handled);
    // Delivered on commit: the sender wakes at once instead of at its next poll.
    if (queued > 0) await sql`SELECT pg_notify(${WEBHOOK_DELIVERIES_CHANNEL}, '')`.execute(trx);
  },
};
