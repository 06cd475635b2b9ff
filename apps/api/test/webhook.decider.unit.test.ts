import { describe, expect, it } from 'vitest';
import { uuidv7, type CairnEvent, type NewEvent } from '@cairn/events';
import { OPEN_HOST_POLICY } from '@cairn/projector';
import { CairnError } from '../src/errors.ts';
import {
  webhookDecider,
  type WebhookCommand,
  type WebhookState,
} from '../src/webhooks/webhook.decider.ts';

const ctx = { now: () => new Date('2026-11-26T08:00:00Z'), newId: uuidv7 };
const webhookId = 'a'.repeat(32);
const sealed = `v1.${'0'.repeat(16)}.aaaa.bbbb.cccc`;

/** given events → state (as the command handler folds a stream) */
function given(events: NewEvent[]): WebhookState {
  let position = 0;
  return events.reduce(
    (state, e) =>
      webhookDecider.evolve(state, {
        ...e,
        workspaceId: 'w',
        streamId: `webhook-${webhookId}`,
        streamPosition: ++position,
        globalPosition: position,
        transactionId: '1',
        recordedAt: e.occurredAt,
        actor: 'test',
        correlationId: 'c',
        causationId: null,
      } as CairnEvent),
    webhookDecider.initialState(),
  );
}

const when = (state: WebhookState, command: WebhookCommand) =>
  webhookDecider.decide(command, state, ctx);

const create = (overrides: Partial<Extract<WebhookCommand, { type: 'CreateWebhook' }>> = {}) =>
  ({
    type: 'CreateWebhook',
    webhookId,
    url: 'https://hooks.example.com/x',
    events: ['MODEL_ALIAS_SET', 'MODEL_VERSION_CREATED', 'MODEL_ALIAS_SET'],
    modelName: null,
    description: '  ci hook ',
    encryptedSecret: sealed,
    hostPolicy: OPEN_HOST_POLICY,
    ...overrides,
  }) satisfies WebhookCommand;

const update = (overrides: Partial<Extract<WebhookCommand, { type: 'UpdateWebhook' }>>) =>
  ({
    type: 'UpdateWebhook',
    url: null,
    events: null,
    active: null,
    hostPolicy: OPEN_HOST_POLICY,
    ...overrides,
  }) satisfies WebhookCommand;

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof CairnError) return error.code;
    throw error;
  }
  return undefined;
}

describe('webhook decider', () => {
  it('creates with distinct events in enum order and the sealed secret only', () => {
    const [event] = when(given([]), create());
    expect(event).toMatchObject({
      type: 'WebhookCreated',
      data: {
        webhookId,
        url: 'https://hooks.example.com/x',
        events: ['MODEL_VERSION_CREATED', 'MODEL_ALIAS_SET'],
        modelName: null,
        description: 'ci hook',
        encryptedSecret: sealed,
      },
    });
  });

  it('rejects bad input with INVALID_ARGUMENT', () => {
    const s = given([]);
    expect(code(() => when(s, create({ url: 'ftp://x/' })))).toBe('INVALID_ARGUMENT');
    expect(code(() => when(s, create({ url: 'https://u:p@x.example/' })))).toBe('INVALID_ARGUMENT');
    expect(code(() => when(s, create({ events: [] })))).toBe('INVALID_ARGUMENT');
    expect(code(() => when(s, create({ modelName: '  ' })))).toBe('INVALID_ARGUMENT');
    expect(code(() => when(s, create({ description: 'x'.repeat(1001) })))).toBe('INVALID_ARGUMENT');
    expect(code(() => when(s, create({ hostPolicy: { allowedHosts: ['other.example'] } })))).toBe(
      'INVALID_ARGUMENT',
    );
  });

  it('updates only what changes, as separate facts', () => {
    const s = given(when(given([]), create()));
    expect(when(s, update({ url: 'https://hooks.example.com/x' }))).toEqual([]);
    expect(
      when(
        s,
        update({ url: 'https://b.example/', events: ['MODEL_ALIAS_DELETED'], active: false }),
      ).map((e) => e.type),
    ).toEqual(['WebhookUrlChanged', 'WebhookEventsChanged', 'WebhookDeactivated']);
    const off = given([...when(given([]), create()), ...when(s, update({ active: false }))]);
    expect(off.active).toBe(false);
    expect(when(off, update({ active: true })).map((e) => e.type)).toEqual(['WebhookActivated']);
    expect(code(() => when(s, update({ url: 'gopher://x/' })))).toBe('INVALID_ARGUMENT');
  });

  it('rotates, deletes, and answers NOT_FOUND after deletion or before creation', () => {
    const created = when(given([]), create());
    const s = given(created);
    expect(when(s, { type: 'RotateWebhookSecret', encryptedSecret: sealed })[0]?.type).toBe(
      'WebhookSecretRotated',
    );
    const deleted = given([...created, ...when(s, { type: 'DeleteWebhook' })]);
    expect(code(() => when(deleted, { type: 'DeleteWebhook' }))).toBe('NOT_FOUND');
    expect(code(() => when(deleted, update({ active: true })))).toBe('NOT_FOUND');
    expect(code(() => when(given([]), { type: 'DeleteWebhook' }))).toBe('NOT_FOUND');
    expect(code(() => when(s, create()))).toBe('ALREADY_EXISTS');
  });
});
