import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ENTITY_ID_PATTERN,
  EventDecodingError,
  createUuidV7Generator,
  currentSchemas,
  decodeEvent,
  decodeMetricValue,
  encodeEventData,
  encodeMetricValue,
  entityId,
  metricColumns,
  newEntityId,
  uuidv7,
  type StoredEventEnvelope,
} from '../src/index.ts';

/** The stored fixture, as it sits in the log: never edit it (invariant 8). A fresh copy per call. */
function storedV1ExperimentCreated(): StoredEventEnvelope {
  const text = readFileSync(
    new URL('./fixtures/experiment-created.v1.json', import.meta.url),
    'utf8',
  );
  return JSON.parse(text) as StoredEventEnvelope;
}

function anEnvelope(overrides: Partial<StoredEventEnvelope> = {}): StoredEventEnvelope {
  const runId = newEntityId();
  return {
    id: uuidv7(),
    type: 'RunStarted',
    schemaVersion: 1,
    workspaceId: `ws-${newEntityId().slice(-8)}`,
    streamId: `run-${runId}`,
    streamPosition: 1,
    globalPosition: 1,
    transactionId: '1',
    occurredAt: '2025-01-01T00:00:00.000Z',
    recordedAt: '2025-01-01T00:00:00.010Z',
    actor: 'user:test',
    correlationId: uuidv7(),
    causationId: null,
    data: {
      runId,
      experimentId: newEntityId(),
      name: 'run',
      status: 'RUNNING',
      startTime: 1_700_000_000_000,
      parentRunId: null,
      tags: [],
      source: { gitCommit: null, entryPoint: null, sourceType: null },
    },
    ...overrides,
  };
}

function decodingErrorOf(raw: StoredEventEnvelope): EventDecodingError {
  try {
    decodeEvent(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(EventDecodingError);
    return error as EventDecodingError;
  }
  throw new Error(`decodeEvent accepted ${raw.type} v${raw.schemaVersion}`);
}

describe('RunMetricsLogged upcaster (v1 → v2, points → columns) on the stored fixture', () => {
  function storedV1(): StoredEventEnvelope {
    const text = readFileSync(
      new URL('./fixtures/run-metrics-logged.v1.json', import.meta.url),
      'utf8',
    );
    return JSON.parse(text) as StoredEventEnvelope;
  }

  it('decodes the stored v1 batch to columns, points in log order, keys in first-seen order', () => {
    const stored = storedV1();
    const event = decodeEvent(stored);
    expect(currentSchemas.RunMetricsLogged.version).toBe(2);
    expect(event.schemaVersion).toBe(2);
    expect(event.data).toEqual({
      runId: '01936f2b0f117a3c9b2e4d5f6a7b8c9d',
      keys: ['loss', 'accuracy'],
      keyIndex: [0, 1, 0, 0, 1],
      value: [0.91, 0.12, 'NaN', 'Infinity', '-Infinity'],
      step: [0, 0, 1, 2, 2],
      timestamp: [1732612660000, 1732612660000, 1732612660500, 1732612661000, 1732612661000],
    });
    const { data: _d, schemaVersion: _v, ...envelope } = stored;
    expect(event).toMatchObject(envelope);
  });

  it('refuses a v1 batch without points', () => {
    const stored = storedV1();
    const error = decodingErrorOf({ ...stored, data: { ...(stored.data as object), metrics: [] } });
    expect(error.message).toMatch(/RunMetricsLogged v1/);
  });
});

describe('ExperimentCreated upcaster (v1 → v2) on the stored fixture', () => {
  it('decodes the stored v1 event to the current version with tags: []', () => {
    const stored = storedV1ExperimentCreated();
    expect(stored.schemaVersion).toBe(1);
    expect(stored.data).not.toHaveProperty('tags');

    const event = decodeEvent(stored);

    expect(currentSchemas.ExperimentCreated.version).toBe(2);
    expect(event.type).toBe('ExperimentCreated');
    expect(event.schemaVersion).toBe(2);
    expect(event.data).toEqual({
      experimentId: '01936f2a7c417b2e9d3a5f6e8c1b2a3f',
      name: 'resnet-sweep',
      artifactLocation: 'file:///var/cairn/artifacts/01936f2a7c417b2e9d3a5f6e8c1b2a3f',
      tags: [],
    });
    // The envelope is carried over untouched.
    const { data: _d, schemaVersion: _v, ...envelope } = stored;
    expect(event).toMatchObject(envelope);
    expect(event.id).toBe('01936f2a-7c41-7b2e-9d3a-5f6e8c1b2a40');
    expect(event.globalPosition).toBe(42);
    expect(event.transactionId).toBe('7731');
  });

  it('does not mutate the stored envelope', () => {
    const stored = storedV1ExperimentCreated();
    const before = structuredClone(stored);
    decodeEvent(stored);
    expect(stored).toEqual(before);
  });

  it('fills a missing v1 artifactLocation with null', () => {
    const stored = storedV1ExperimentCreated();
    const { artifactLocation: _a, ...data } = stored.data as Record<string, unknown>;
    const event = decodeEvent({ ...stored, data });
    expect(event.data).toEqual({
      experimentId: '01936f2a7c417b2e9d3a5f6e8c1b2a3f',
      name: 'resnet-sweep',
      artifactLocation: null,
      tags: [],
    });
  });

  it('passes a current v2 event through with its tags', () => {
    const stored = storedV1ExperimentCreated();
    const tags = [{ key: 'team', value: 'vision' }];
    const event = decodeEvent({
      ...stored,
      schemaVersion: 2,
      data: { ...(stored.data as object), tags },
    });
    expect(event.schemaVersion).toBe(2);
    expect(event.data).toMatchObject({ name: 'resnet-sweep', tags });
  });

  it('rejects invalid v1 data with EventDecodingError naming the version', () => {
    const stored = storedV1ExperimentCreated();
    const error = decodingErrorOf({
      ...stored,
      data: { ...(stored.data as object), experimentId: 'not-hex' },
    });
    expect(error.eventId).toBe(stored.id);
    expect(error.eventType).toBe('ExperimentCreated');
    expect(error.message).toMatch(/ExperimentCreated v1/);
  });

  it('rejects a v2 event without tags (no silent upcasting at the current version)', () => {
    const stored = storedV1ExperimentCreated();
    const error = decodingErrorOf({ ...stored, schemaVersion: 2 });
    expect(error.message).toMatch(/ExperimentCreated v2/);
  });
});

describe('decodeEvent errors', () => {
  it('rejects an unknown type', () => {
    const raw = anEnvelope({ type: 'RunTeleported', data: { runId: newEntityId() } });
    const error = decodingErrorOf(raw);
    expect(error.name).toBe('EventDecodingError');
    expect(error.eventType).toBe('RunTeleported');
    expect(error.eventId).toBe(raw.id);
    expect(error.message).toContain('Unknown event type "RunTeleported"');
  });

  it('does not treat Object.prototype keys as event types', () => {
    expect(decodingErrorOf(anEnvelope({ type: 'toString' })).message).toContain(
      'Unknown event type',
    );
    expect(decodingErrorOf(anEnvelope({ type: 'constructor' })).message).toContain(
      'Unknown event type',
    );
  });

  it('rejects a version from the future', () => {
    const raw = anEnvelope({ schemaVersion: currentSchemas.RunStarted.version + 1 });
    const error = decodingErrorOf(raw);
    expect(error.eventType).toBe('RunStarted');
    expect(error.message).toContain('schema version 2');
    expect(error.message).toContain('knows up to 1');
  });

  it('rejects versions below 1', () => {
    expect(decodingErrorOf(anEnvelope({ schemaVersion: 0 })).eventType).toBe('RunStarted');
    expect(decodingErrorOf(anEnvelope({ schemaVersion: -1 })).eventType).toBe('RunStarted');
  });

  it('rejects invalid data of the current version', () => {
    const good = anEnvelope();
    const data = good.data as Record<string, unknown>;
    for (const bad of [
      { ...data, runId: 'RUN-1' },
      { ...data, status: 'PAUSED' },
      { ...data, startTime: 1.5 },
      { ...data, tags: [{ key: 'k' }] },
      { runId: data['runId'] },
      null,
    ]) {
      const error = decodingErrorOf({ ...good, data: bad });
      expect(error.eventType).toBe('RunStarted');
      expect(error.message).toMatch(/^Invalid RunStarted v1 data/);
    }
    // ...and the untouched envelope decodes: the failures above are about the data.
    expect(decodeEvent(good).data).toEqual(good.data);
  });

  it('rejects a metric batch with no points and points without a step', () => {
    const runId = newEntityId();
    const base = anEnvelope({ type: 'RunMetricsLogged', streamId: `run-${runId}` });
    expect(decodingErrorOf({ ...base, data: { runId, metrics: [] } }).message).toMatch(
      /RunMetricsLogged/,
    );
    expect(
      decodingErrorOf({
        ...base,
        data: { runId, metrics: [{ key: 'loss', value: 1, timestamp: 1 }] },
      }).message,
    ).toMatch(/RunMetricsLogged/);
  });
});

describe('metric values NaN / ±Infinity', () => {
  it('encodes non-finite values as strings and leaves finite numbers alone', () => {
    expect(encodeMetricValue(Number.NaN)).toBe('NaN');
    expect(encodeMetricValue(Number.POSITIVE_INFINITY)).toBe('Infinity');
    expect(encodeMetricValue(Number.NEGATIVE_INFINITY)).toBe('-Infinity');
    expect(encodeMetricValue(0.25)).toBe(0.25);
    expect(encodeMetricValue(-1e308)).toBe(-1e308);
    expect(encodeMetricValue(0)).toBe(0);
  });

  it('decodes them back', () => {
    expect(decodeMetricValue('NaN')).toBeNaN();
    expect(decodeMetricValue('Infinity')).toBe(Number.POSITIVE_INFINITY);
    expect(decodeMetricValue('-Infinity')).toBe(Number.NEGATIVE_INFINITY);
    expect(decodeMetricValue(3.5)).toBe(3.5);
    expect(decodeMetricValue(Number.MIN_VALUE)).toBe(Number.MIN_VALUE);
  });

  it('survives a round trip through JSON and decodeEvent', () => {
    const runId = newEntityId();
    const values = [
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      0.1,
      -2,
      1e-300,
    ];
    const data = encodeEventData(
      'RunMetricsLogged',
      metricColumns(
        runId,
        values.map((value, step) => ({ key: 'loss', value, step, timestamp: 1000 + step })),
      ),
    );
    // Stored as jsonb: JSON text in, JSON text out.
    const stored = anEnvelope({
      type: 'RunMetricsLogged',
      schemaVersion: 2,
      data: JSON.parse(JSON.stringify(data)) as unknown,
    });
    const event = decodeEvent(stored);
    if (event.type !== 'RunMetricsLogged') throw new Error(`decoded as ${event.type}`);
    const decoded = event.data.value.map((v) => decodeMetricValue(v));
    expect(decoded).toEqual(values);
    expect(Number.isNaN(decoded[0])).toBe(true);
    expect(event.data.step).toEqual([0, 1, 2, 3, 4, 5]);
    expect(event.data.keys).toEqual(['loss']);
    expect(event.data.keyIndex).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('refuses raw non-finite numbers (JSON would turn them into null)', () => {
    const runId = newEntityId();
    for (const value of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      expect(() =>
        encodeEventData('RunMetricsLogged', {
          runId,
          keys: ['loss'],
          keyIndex: [0],
          value: [value],
          step: [0],
          timestamp: [0],
        }),
      ).toThrow();
    }
    // What such a value becomes after JSON is not a number: decoding it fails loudly.
    const stored = anEnvelope({
      type: 'RunMetricsLogged',
      schemaVersion: 2,
      data: JSON.parse(
        JSON.stringify({
          runId,
          keys: ['loss'],
          keyIndex: [0],
          value: [Number.NaN],
          step: [0],
          timestamp: [0],
        }),
      ) as unknown,
    });
    expect(decodingErrorOf(stored).eventType).toBe('RunMetricsLogged');
    // The same in a stored v1 event (read through the upcaster).
    const storedV1 = anEnvelope({
      type: 'RunMetricsLogged',
      data: JSON.parse(
        JSON.stringify({
          runId,
          metrics: [{ key: 'loss', value: Number.NaN, step: 0, timestamp: 0 }],
        }),
      ) as unknown,
    });
    expect(decodingErrorOf(storedV1).eventType).toBe('RunMetricsLogged');
  });

  it('refuses v2 columns of different lengths and key indexes outside keys', () => {
    const runId = newEntityId();
    const good = {
      runId,
      keys: ['a', 'b'],
      keyIndex: [0, 1],
      value: [1, 2],
      step: [0, 0],
      timestamp: [5, 5],
    };
    expect(
      decodeEvent(anEnvelope({ type: 'RunMetricsLogged', schemaVersion: 2, data: good })).type,
    ).toBe('RunMetricsLogged');
    for (const bad of [
      { ...good, value: [1] },
      { ...good, step: [0, 0, 0] },
      { ...good, timestamp: [] },
      { ...good, keyIndex: [0, 2] },
      { ...good, keyIndex: [0, -1] },
      { ...good, keys: [] },
    ]) {
      const error = decodingErrorOf(
        anEnvelope({ type: 'RunMetricsLogged', schemaVersion: 2, data: bad }),
      );
      expect(error.message).toMatch(/RunMetricsLogged v2/);
    }
  });

  it('refuses other strings as metric values', () => {
    const runId = newEntityId();
    const stored = anEnvelope({
      type: 'RunMetricsLogged',
      data: { runId, metrics: [{ key: 'loss', value: 'nan', step: 0, timestamp: 0 }] },
    });
    expect(decodingErrorOf(stored).eventType).toBe('RunMetricsLogged');
  });
});

describe('uuidv7', () => {
  const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

  it('has the RFC 9562 layout and carries the current unix milliseconds', () => {
    const before = Date.now();
    const id = uuidv7();
    const after = Date.now();
    expect(id).toMatch(UUID_V7);
    const ms = Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(after);
  });

  it('is unique and strictly increasing in generation order (string sort = time order)', () => {
    const ids = Array.from({ length: 20_000 }, () => uuidv7());
    expect(new Set(ids).size).toBe(ids.length);
    for (let i = 1; i < ids.length; i += 1) {
      if (!(ids[i - 1]! < ids[i]!))
        throw new Error(`not increasing at ${i}: ${ids[i - 1]} then ${ids[i]}`);
    }
    expect([...ids].sort()).toEqual(ids);
  });

  it('stays monotonic within one millisecond, across counter overflow, and when the clock goes back', () => {
    let clock = 1_700_000_000_000;
    const generate = createUuidV7Generator(() => clock);
    const ids: string[] = [];
    for (let i = 0; i < 10_000; i += 1) ids.push(generate()); // > 4096: the 12-bit counter overflows
    clock -= 5_000; // clock jumps back
    for (let i = 0; i < 100; i += 1) ids.push(generate());
    clock += 60_000;
    for (let i = 0; i < 100; i += 1) ids.push(generate());
    for (let i = 1; i < ids.length; i += 1) {
      if (!(ids[i - 1]! < ids[i]!))
        throw new Error(`not increasing at ${i}: ${ids[i - 1]} then ${ids[i]}`);
    }
    for (const id of ids) expect(id).toMatch(UUID_V7);
    const msOf = (id: string) => Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16);
    expect(msOf(ids[0]!)).toBe(1_700_000_000_000);
    // The overflow borrowed from the next milliseconds instead of wrapping around.
    expect(msOf(ids[9_999]!)).toBeGreaterThan(1_700_000_000_000);
    expect(msOf(ids.at(-1)!)).toBe(1_700_000_055_000); // -5 s, then +60 s
  });

  it('makes entity ids of 32 hex characters that the schemas accept, sortable too', () => {
    const ids = Array.from({ length: 1000 }, () => newEntityId());
    for (const id of ids) {
      expect(id).toMatch(ENTITY_ID_PATTERN);
      expect(entityId.safeParse(id).success).toBe(true);
    }
    expect([...ids].sort()).toEqual(ids);
    expect(newEntityId(() => '01936f2a-7c41-7b2e-9d3a-5f6e8c1b2a3f')).toBe(
      '01936f2a7c417b2e9d3a5f6e8c1b2a3f',
    );
  });
});
