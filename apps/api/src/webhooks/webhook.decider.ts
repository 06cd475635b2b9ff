import { assertNever, WEBHOOK_EVENT_KINDS, type WebhookEventKind } from '@cairn/events';
import { checkWebhookUrl, type WebhookHostPolicy } from '@cairn/net-policy';
import { CairnError, invalidArgument } from '../errors.ts';
import { checkText, STRING_LIMITS } from '../input-hygiene.ts';
import { newEvent, type Decider } from '../write/decider.ts';

export const WEBHOOK_LIMITS = { description: 1000, modelName: 500 } as const;

export type WebhookCommand =
  | {
      type: 'CreateWebhook';
      webhookId: string;
      url: string;
      events: readonly WebhookEventKind[];
      modelName: string | null;
      description: string | null;
      /** The new signing secret, sealed with the server key by the service (never plaintext). */
      encryptedSecret: string;
      hostPolicy: WebhookHostPolicy;
    }
  | {
      type: 'UpdateWebhook';
      url: string | null;
      events: readonly WebhookEventKind[] | null;
      active: boolean | null;
      hostPolicy: WebhookHostPolicy;
    }
  | { type: 'RotateWebhookSecret'; encryptedSecret: string }
  | { type: 'DeleteWebhook' }
  | { type: 'RequeueWebhookDelivery'; deliveryId: string };

export interface WebhookState {
  webhookId: string | null;
  url: string;
  events: readonly WebhookEventKind[];
  active: boolean;
  deleted: boolean;
}

function validUrl(url: string, policy: WebhookHostPolicy): string {
  const check = checkWebhookUrl(checkText('url', url, STRING_LIMITS.webhookUrl), policy);
  if (!check.ok) throw invalidArgument(`Invalid webhook url: ${check.reason}`, { field: 'url' });
  return check.url;
}

/** Distinct, in the enum's order, at least one. */
function validEvents(events: readonly WebhookEventKind[]): WebhookEventKind[] {
  const set = new Set(events);
  const ordered = WEBHOOK_EVENT_KINDS.filter((k) => set.has(k));
  if (ordered.length === 0)
    throw invalidArgument('A webhook must subscribe to at least one event', { field: 'events' });
  return ordered;
}

function validText(field: 'description' | 'modelName', value: string | null): string | null {
  if (value === null) return null;
  const trimmed = value.trim();
  if (trimmed === '') {
    if (field === 'modelName') throw invalidArgument('modelName must not be empty', { field });
    return null;
  }
  if (trimmed.length > WEBHOOK_LIMITS[field])
    throw invalidArgument(`${field} is longer than ${WEBHOOK_LIMITS[field]} characters`, {
      field,
    });
  return trimmed;
}

const sameEvents = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

export const webhookDecider: Decider<WebhookCommand, WebhookState> = {
  initialState: () => ({ webhookId: null, url: '', events: [], active: false, deleted: false }),

  evolve(state, event) {
    switch (event.type) {
      case 'WebhookCreated':
        return {
          webhookId: event.data.webhookId,
          url: event.data.url,
          events: event.data.events,
          active: true,
          deleted: false,
        };
      case 'WebhookUrlChanged':
        return { ...state, url: event.data.url };
      case 'WebhookEventsChanged':
        return { ...state, events: event.data.events };
      case 'WebhookActivated':
        return { ...state, active: true };
      case 'WebhookDeactivated':
        return { ...state, active: false };
      case 'WebhookDeleted':
        return { ...state, deleted: true, active: false };
      default:
        return state;
    }
  },

  decide(command, state, ctx) {
    if (command.type === 'CreateWebhook') {
      if (state.webhookId !== null)
        throw new CairnError('ALREADY_EXISTS', `Webhook ${command.webhookId} already exists`);
      return [
        newEvent(ctx, 'WebhookCreated', {
          webhookId: command.webhookId,
          url: validUrl(command.url, command.hostPolicy),
          events: validEvents(command.events),
          modelName: validText('modelName', command.modelName),
          description: validText('description', command.description),
          encryptedSecret: command.encryptedSecret,
        }),
      ];
    }
    if (state.webhookId === null || state.deleted)
      throw new CairnError('NOT_FOUND', 'Webhook not found');
    const webhookId = state.webhookId;
    switch (command.type) {
      case 'UpdateWebhook': {
        const events = [];
        if (command.url !== null) {
          const url = validUrl(command.url, command.hostPolicy);
          if (url !== state.url)
            events.push(newEvent(ctx, 'WebhookUrlChanged', { webhookId, url }));
        }
        if (command.events !== null) {
          const kinds = validEvents(command.events);
          if (!sameEvents(kinds, state.events))
            events.push(newEvent(ctx, 'WebhookEventsChanged', { webhookId, events: kinds }));
        }
        if (command.active !== null && command.active !== state.active) {
          events.push(
            command.active
              ? newEvent(ctx, 'WebhookActivated', { webhookId })
              : newEvent(ctx, 'WebhookDeactivated', { webhookId }),
          );
        }
        return events;
      }
      case 'RotateWebhookSecret':
        return [
          newEvent(ctx, 'WebhookSecretRotated', {
            webhookId,
            encryptedSecret: command.encryptedSecret,
          }),
        ];
      case 'DeleteWebhook':
        return [newEvent(ctx, 'WebhookDeleted', { webhookId })];
      case 'RequeueWebhookDelivery':
        if (!state.active)
          throw new CairnError('FAILED_PRECONDITION', 'The webhook is inactive; activate it first');
        return [
          newEvent(ctx, 'WebhookDeliveryRequeued', { webhookId, deliveryId: command.deliveryId }),
        ];
      default:
        return assertNever(command);
    }
  },
};
