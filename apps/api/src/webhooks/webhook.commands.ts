import {
  decodeEvent,
  newEntityId,
  type EventOf,
  webhookStreamId,
  type StoredEventEnvelope,
  type WebhookEventKind,
} from '@cairn/events';
import { newWebhookSecret, webhookSecretContext } from '@cairn/secrets';
import { CairnError } from '../errors.ts';
import { handleCommand, type Caller } from '../write/command-handler.ts';
import type { ServiceDeps, WebhookDeps } from '../write/services.ts';
import { webhookDecider, type WebhookCommand } from './webhook.decider.ts';

function webhookDeps(deps: ServiceDeps): WebhookDeps {
  if (!deps.webhooks)
    throw new CairnError('UNAVAILABLE', 'Webhooks are not configured on this server');
  return deps.webhooks;
}

async function execute(
  deps: ServiceDeps,
  caller: Caller,
  webhookId: string,
  command: WebhookCommand,
): Promise<StoredEventEnvelope[]> {
  const result = await handleCommand(deps, caller, {
    decider: webhookDecider,
    streamId: webhookStreamId(webhookId),
    streamType: 'webhook',
    command,
  });
  const last = result.events.at(-1);
  if (last) {
    await deps.changes.waitFor(
      caller.workspaceId,
      last.streamId,
      last.streamPosition,
      ['webhooks'],
      deps.readYourWritesTimeoutMs,
    );
  }
  return result.events;
}

/** The plaintext secret is returned to the caller once and never stored unsealed. */
export async function createWebhook(
  deps: ServiceDeps,
  caller: Caller,
  input: {
    url: string;
    events: readonly WebhookEventKind[];
    modelName: string | null;
    description: string | null;
  },
): Promise<{ webhookId: string; secret: string; created: EventOf<'WebhookCreated'> }> {
  const { secrets, hostPolicy } = webhookDeps(deps);
  const webhookId = newEntityId(deps.decideContext.newId);
  const secret = newWebhookSecret();
  const events = await execute(deps, caller, webhookId, {
    type: 'CreateWebhook',
    webhookId,
    ...input,
    encryptedSecret: secrets.seal(secret, webhookSecretContext(webhookId)),
    hostPolicy,
  });
  const created = decodeEvent(events[0]!) as EventOf<'WebhookCreated'>;
  return { webhookId, secret, created };
}

export async function updateWebhook(
  deps: ServiceDeps,
  caller: Caller,
  webhookId: string,
  input: { url: string | null; events: readonly WebhookEventKind[] | null; active: boolean | null },
): Promise<void> {
  const { hostPolicy } = webhookDeps(deps);
  await execute(deps, caller, webhookId, { type: 'UpdateWebhook', ...input, hostPolicy });
}

export async function rotateWebhookSecret(
  deps: ServiceDeps,
  caller: Caller,
  webhookId: string,
): Promise<string> {
  const { secrets } = webhookDeps(deps);
  const secret = newWebhookSecret();
  await execute(deps, caller, webhookId, {
    type: 'RotateWebhookSecret',
    encryptedSecret: secrets.seal(secret, webhookSecretContext(webhookId)),
  });
  return secret;
}

export async function deleteWebhook(
  deps: ServiceDeps,
  caller: Caller,
  webhookId: string,
): Promise<void> {
  await execute(deps, caller, webhookId, { type: 'DeleteWebhook' });
}

/**
 * Records who asked for one more attempt of a finished delivery (the audit log's entry); the
 * caller then requeues the outbox row, which is operational state and not an event.
 */
export async function recordDeliveryRequeued(
  deps: ServiceDeps,
  caller: Caller,
  webhookId: string,
  deliveryId: string,
): Promise<void> {
  await handleCommand(deps, caller, {
    decider: webhookDecider,
    streamId: webhookStreamId(webhookId),
    streamType: 'webhook',
    command: { type: 'RequeueWebhookDelivery', deliveryId },
  });
}
