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
  const text = readFileSync(new URL('./fixtures/api-key-created.v1.json', import.meta.url), 'utf8');
  return JSON.parse(text) as StoredEventEnvelope;
}

describe('ApiKeyCreated v1 → v2 (keys of service accounts)', () => {
  it('reads a stored v1 key as a plain key (serviceAccountId null)', () => {
    const stored = storedV1();
    const event = decodeEvent(stored);
    expect(currentSchemas.ApiKeyCreated.version).toBe(2);
    expect(event.schemaVersion).toBe(2);
    expect(event.data).toEqual({ ...(stored.data as object), serviceAccountId: null });
  });

  it('needs serviceAccountId at v2', () => {
    const stored = storedV1();
    const withAccount = { ...(stored.data as object), serviceAccountId: 'f'.repeat(32) };
    expect(decodeEvent({ ...stored, schemaVersion: 2, data: withAccount }).data).toMatchObject({
      serviceAccountId: 'f'.repeat(32),
    });
    expect(() => decodeEvent({ ...stored, schemaVersion: 2 })).toThrow(EventDecodingError);
  });
});
