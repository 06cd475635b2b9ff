import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  currentSchemas,
  decodeEvent,
  EventDecodingError,
  type StoredEventEnvelope,
} from '../src/index.ts';

/** The stored fixture, as it sits in the log: never edit it (invariant 8). */
function storedV1(): StoredEventEnvelope {
  const text = readFileSync(new URL('./fixtures/webhook-created.v1.json', import.meta.url), 'utf8');
  return JSON.parse(text) as StoredEventEnvelope;
}

describe('WebhookCreated / WebhookEventsChanged v1 → v2 (prompt kinds added)', () => {
  it('decodes the stored v1 event unchanged at v2', () => {
    const stored = storedV1();
    const event = decodeEvent(stored);
    expect(currentSchemas.WebhookCreated.version).toBe(2);
    expect(event.schemaVersion).toBe(2);
    expect(event.data).toEqual(stored.data);
  });

  it('accepts prompt kinds at v2 only', () => {
    const stored = storedV1();
    const data = { ...(stored.data as object), events: ['PROMPT_ALIAS_SET'] };
    expect(decodeEvent({ ...stored, schemaVersion: 2, data }).data).toMatchObject({
      events: ['PROMPT_ALIAS_SET'],
    });
    expect(() => decodeEvent({ ...stored, data })).toThrow(EventDecodingError);
    const changed = {
      ...stored,
      type: 'WebhookEventsChanged',
      data: {
        webhookId: (stored.data as { webhookId: string }).webhookId,
        events: ['MODEL_ALIAS_SET'],
      },
    };
    expect(decodeEvent(changed).schemaVersion).toBe(2);
  });
});
