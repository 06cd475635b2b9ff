import DataLoader from 'dataloader';
import { WEBHOOK_EVENT_KINDS, type EventOf, type WebhookEventKind } from '@cairn/events';
import { CairnError, invalidArgument, notFound } from '../errors.ts';
import { builder } from '../graphql/builder.ts';
import type { GraphQLContext } from '../graphql/context.ts';
import { pageSize } from '../graphql/scalars.ts';
import {
  createWebhook,
  deleteWebhook,
  recordDeliveryRequeued,
  rotateWebhookSecret,
  updateWebhook,
} from './webhook.commands.ts';
import {
  getAttempts,
  getDeliveries,
  getDelivery,
  getWebhooksByIds,
  listWebhooks,
  requeueDelivery,
  type WebhookDeliveryAttemptRow,
  type WebhookDeliveryRow,
  type WebhookRow,
} from './webhooks.queries.ts';

const DELIVERY_STATUSES = ['PENDING', 'RETRYING', 'SUCCEEDED', 'FAILED'] as const;
type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export const WebhookEvent = builder.enumType('WebhookEvent', { values: WEBHOOK_EVENT_KINDS });
const WebhookDeliveryStatus = builder.enumType('WebhookDeliveryStatus', {
  values: DELIVERY_STATUSES,
});

/** Per-request loaders of this domain, kept beside the context (one batch query per edge). */
function createWebhookLoaders(ctx: GraphQLContext) {
  const { db } = ctx.deps;
  const ws = ctx.workspaceId;
  return {
    webhook: new DataLoader<string, WebhookRow | null>(async (ids) => {
      const rows = await getWebhooksByIds(db, ws, ids);
      const byId = new Map(rows.map((r) => [r.webhook_id, r]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    /** Keyed by `<first>|<webhookId>`; one query per distinct `first`. */
    deliveries: new DataLoader<string, WebhookDeliveryRow[]>(async (keys) => {
      const byFirst = new Map<number, string[]>();
      for (const key of keys) {
        const [first, id] = key.split('|') as [string, string];
        byFirst.set(Number(first), [...(byFirst.get(Number(first)) ?? []), id]);
      }
      const results = new Map<string, WebhookDeliveryRow[]>();
      for (const [first, ids] of byFirst) {
        const found = await getDeliveries(db, ws, ids, first);
        for (const id of ids) results.set(`${first}|${id}`, found.get(id) ?? []);
      }
      return keys.map((k) => results.get(k) ?? []);
    }),
    attempts: new DataLoader<string, WebhookDeliveryAttemptRow[]>(async (ids) => {
      const found = await getAttempts(db, ws, ids);
      return ids.map((id) => found.get(id) ?? []);
    }),
  };
}

const loaderCache = new WeakMap<GraphQLContext, ReturnType<typeof createWebhookLoaders>>();
function loaders(ctx: GraphQLContext) {
  let found = loaderCache.get(ctx);
  if (!found) loaderCache.set(ctx, (found = createWebhookLoaders(ctx)));
  return found;
}

const toTime = (d: Date | null) => (d === null ? null : d.getTime());

const WebhookDeliveryAttempt = builder
  .objectRef<WebhookDeliveryAttemptRow>('WebhookDeliveryAttempt')
  .implement({
    description: 'One POST of a delivery, as the sender recorded it.',
    fields: (t) => ({
      attempt: t.exposeInt('attempt'),
      startedAt: t.field({ type: 'Timestamp', resolve: (a) => a.started_at.getTime() }),
      durationMs: t.exposeInt('duration_ms'),
      statusCode: t.exposeInt('status_code', { nullable: true }),
      error: t.exposeString('error', { nullable: true }),
    }),
  });

export const WebhookDeliveryRef = builder
  .objectRef<WebhookDeliveryRow>('WebhookDelivery')
  .implement({
    fields: (t) => ({
      id: t.exposeString('delivery_id'),
      webhookId: t.exposeString('webhook_id'),
      eventId: t.exposeString('event_id'),
      event: t.field({ type: WebhookEvent, resolve: (d) => d.event as WebhookEventKind }),
      status: t.field({ type: WebhookDeliveryStatus, resolve: (d) => d.status as DeliveryStatus }),
      attempts: t.exposeInt('attempts'),
      lastStatusCode: t.exposeInt('last_status_code', { nullable: true }),
      lastError: t.exposeString('last_error', { nullable: true }),
      nextAttemptAt: t.field({
        type: 'Timestamp',
        nullable: true,
        resolve: (d) => toTime(d.next_attempt_at),
      }),
      createdAt: t.field({ type: 'Timestamp', resolve: (d) => d.created_at.getTime() }),
      deliveredAt: t.field({
        type: 'Timestamp',
        nullable: true,
        resolve: (d) => toTime(d.delivered_at),
      }),
      payload: t.exposeString('payload'),
      attemptLog: t.field({
        type: [WebhookDeliveryAttempt],
        description: 'Every attempt so far, oldest first.',
        resolve: (d, _a, ctx) => loaders(ctx).attempts.load(d.delivery_id),
      }),
    }),
  });

export const WebhookRef = builder.objectRef<WebhookRow>('Webhook').implement({
  fields: (t) => ({
    id: t.exposeString('webhook_id'),
    url: t.exposeString('url'),
    events: t.field({ type: [WebhookEvent], resolve: (w) => w.events as WebhookEventKind[] }),
    modelName: t.exposeString('model_name', { nullable: true }),
    description: t.exposeString('description', { nullable: true }),
    active: t.exposeBoolean('active'),
    createdAt: t.field({ type: 'Timestamp', resolve: (w) => w.created_at.getTime() }),
    deliveries: t.field({
      type: [WebhookDeliveryRef],
      description: 'Newest first.',
      args: { first: t.arg.int({ defaultValue: 50 }) },
      resolve: (w, args, ctx) =>
        loaders(ctx).deliveries.load(`${pageSize(args.first, 500)}|${w.webhook_id}`),
    }),
  }),
});

const CreatedWebhook = builder
  .objectRef<{ webhook: WebhookRow; secret: string }>('CreatedWebhook')
  .implement({
    fields: (t) => ({
      webhook: t.field({ type: WebhookRef, resolve: (c) => c.webhook }),
      secret: t.exposeString('secret', {
        description: 'The signing secret. Shown once: store it now.',
      }),
    }),
  });

async function loadWebhook(
  ctx: GraphQLContext,
  id: string,
  created?: EventOf<'WebhookCreated'>,
): Promise<WebhookRow> {
  const l = loaders(ctx).webhook;
  l.clear(id);
  const row = await l.load(id);
  if (row) return row;
  // Past the read-your-writes deadline the projection may not show it yet: a create answers
  // with the row its committed event produces.
  if (created) return webhookRowFromCreated(created);
  throw new CairnError('UNAVAILABLE', `Webhook ${id} is saved but not readable yet`);
}

function webhookRowFromCreated(event: EventOf<'WebhookCreated'>): WebhookRow {
  const at = new Date(event.recordedAt);
  return {
    workspace_id: event.workspaceId,
    webhook_id: event.data.webhookId,
    url: event.data.url,
    events: event.data.events,
    model_name: event.data.modelName,
    description: event.data.description,
    active: true,
    created_at: at,
    updated_at: at,
  };
}

builder.queryFields((t) => ({
  webhooks: t.field({
    type: [WebhookRef],
    resolve: (_r, _a, ctx) => listWebhooks(ctx.deps.db, ctx.workspaceId),
  }),
  webhook: t.field({
    type: WebhookRef,
    nullable: true,
    args: { id: t.arg.string({ required: true }) },
    resolve: (_r, { id }, ctx) => loaders(ctx).webhook.load(id),
  }),
}));

builder.mutationFields((t) => ({
  createWebhook: t.field({
    type: CreatedWebhook,
    args: {
      url: t.arg.string({ required: true }),
      events: t.arg({ type: [WebhookEvent], required: true }),
      modelName: t.arg.string(),
      description: t.arg.string(),
    },
    resolve: async (_r, args, ctx) => {
      const { webhookId, secret, created } = await createWebhook(ctx.deps, ctx.caller, {
        url: args.url,
        events: args.events,
        modelName: args.modelName ?? null,
        description: args.description ?? null,
      });
      return { webhook: await loadWebhook(ctx, webhookId, created), secret };
    },
  }),
  updateWebhook: t.field({
    type: WebhookRef,
    args: {
      id: t.arg.string({ required: true }),
      url: t.arg.string(),
      events: t.arg({ type: [WebhookEvent] }),
      active: t.arg.boolean(),
    },
    resolve: async (_r, args, ctx) => {
      await updateWebhook(ctx.deps, ctx.caller, args.id, {
        url: args.url ?? null,
        events: args.events ?? null,
        active: args.active ?? null,
      });
      return loadWebhook(ctx, args.id);
    },
  }),
  deleteWebhook: t.boolean({
    args: { id: t.arg.string({ required: true }) },
    resolve: async (_r, { id }, ctx) => {
      await deleteWebhook(ctx.deps, ctx.caller, id);
      return true;
    },
  }),
  rotateWebhookSecret: t.field({
    type: CreatedWebhook,
    args: { id: t.arg.string({ required: true }) },
    resolve: async (_r, { id }, ctx) => {
      const secret = await rotateWebhookSecret(ctx.deps, ctx.caller, id);
      return { webhook: await loadWebhook(ctx, id), secret };
    },
  }),
  redeliverWebhookDelivery: t.field({
    type: WebhookDeliveryRef,
    description:
      'Queues a finished (SUCCEEDED or FAILED) delivery for one more attempt now, same payload.',
    args: { id: t.arg.string({ required: true }) },
    resolve: async (_r, { id }, ctx) => {
      const { db } = ctx.deps;
      const delivery = await getDelivery(db, ctx.workspaceId, id);
      if (!delivery) throw notFound('Webhook delivery', id);
      const webhook = await loaders(ctx).webhook.load(delivery.webhook_id);
      if (!webhook) throw notFound('Webhook', delivery.webhook_id);
      if (!webhook.active) throw invalidArgument('The webhook is inactive; activate it first');
      if (delivery.status !== 'SUCCEEDED' && delivery.status !== 'FAILED')
        throw new CairnError('CONFLICT', `Delivery ${id} is already queued`, { id });
      // The event first: an acknowledged requeue is always in the audit log. A requeue that
      // loses a race with another one after it answers CONFLICT; the event then records the ask.
      await recordDeliveryRequeued(ctx.deps, ctx.caller, delivery.webhook_id, id);
      const requeued = await requeueDelivery(db, ctx.workspaceId, id);
      if (!requeued) throw new CairnError('CONFLICT', `Delivery ${id} is already queued`, { id });
      return requeued;
    },
  }),
}));
