import { z } from 'zod';
import { entityId } from '../common.ts';

/**
 * Webhook subscriptions. One stream per webhook (`webhook-<webhookId>`). The signing secret never
 * travels in plaintext: events hold it encrypted with the server's key (AES-256-GCM, see
 * `apps/projector/src/webhooks/secret-box.ts`), because events are relayed to Kafka and kept
 * forever.
 */

/** The registry facts a v1 webhook event could subscribe to (published: never changes). */
export const webhookEventKindV1 = z.enum([
  'REGISTERED_MODEL_CREATED',
  'MODEL_VERSION_CREATED',
  'MODEL_VERSION_STAGE_TRANSITIONED',
  'MODEL_ALIAS_SET',
  'MODEL_ALIAS_DELETED',
]);

/**
 * The registry and prompt facts a webhook can subscribe to (GraphQL enum `WebhookEvent`). v2 of
 * `WebhookCreated` / `WebhookEventsChanged` added the prompt kinds; v1 data upcasts unchanged.
 */
export const webhookEventKind = z.enum([
  ...webhookEventKindV1.options,
  'PROMPT_VERSION_CREATED',
  'PROMPT_ALIAS_SET',
  'PROMPT_ALIAS_DELETED',
]);
export type WebhookEventKind = z.infer<typeof webhookEventKind>;
export const WEBHOOK_EVENT_KINDS = webhookEventKind.options;

/** The event type behind each webhook event kind. */
export const WEBHOOK_EVENT_SOURCES = {
  REGISTERED_MODEL_CREATED: 'RegisteredModelCreated',
  MODEL_VERSION_CREATED: 'ModelVersionCreated',
  MODEL_VERSION_STAGE_TRANSITIONED: 'ModelVersionStageTransitioned',
  MODEL_ALIAS_SET: 'ModelAliasSet',
  MODEL_ALIAS_DELETED: 'ModelAliasDeleted',
  PROMPT_VERSION_CREATED: 'PromptVersionCreated',
  PROMPT_ALIAS_SET: 'PromptAliasSet',
  PROMPT_ALIAS_DELETED: 'PromptAliasDeleted',
} as const satisfies Record<WebhookEventKind, string>;

/** A secret sealed with the server key: `v1.<key id>.<iv>.<tag>.<ciphertext>` (base64url parts). */
export const encryptedSecret = z.string().regex(/^v1\.[0-9a-f]{16}\.[\w-]+\.[\w-]+\.[\w-]+$/);

const webhookRef = { webhookId: entityId };
const eventsV1 = z.array(webhookEventKindV1).min(1);
const events = z.array(webhookEventKind).min(1);

export const webhookCreatedV1 = z.object({
  ...webhookRef,
  url: z.string(),
  events: eventsV1,
  /** Only events of this registered model (by its name at the time of the event); null: all. */
  modelName: z.string().nullable(),
  description: z.string().nullable(),
  encryptedSecret,
});
/** v2: `events` may name prompt kinds; `modelName` filters prompt events by the prompt's name. */
export const webhookCreatedV2 = webhookCreatedV1.extend({ events });
export const webhookUrlChangedV1 = z.object({ ...webhookRef, url: z.string() });
export const webhookEventsChangedV1 = z.object({ ...webhookRef, events: eventsV1 });
export const webhookEventsChangedV2 = z.object({ ...webhookRef, events });
export const webhookActivatedV1 = z.object({ ...webhookRef });
export const webhookDeactivatedV1 = z.object({ ...webhookRef });
export const webhookSecretRotatedV1 = z.object({ ...webhookRef, encryptedSecret });
export const webhookDeletedV1 = z.object({ ...webhookRef });
/** A finished delivery (SUCCEEDED or FAILED) queued for one more attempt by a caller. */
export const webhookDeliveryRequeuedV1 = z.object({ ...webhookRef, deliveryId: z.string() });
