/**
 * Event builders for tests (STYLE.md: builders with overrides, never shared constants).
 * Every builder returns a `NewEvent` at the current schema version with a fresh uuidv7 id and an
 * ISO `occurredAt`; its data is validated against the current schema, so a builder can never
 * produce an event the catalogue would reject. For deliberately broken events use `aRawEvent`.
 */
import type { Kysely } from 'kysely';
import { appendToStream, type AppendResult, type DB, type ExpectedVersion } from '@cairn/db';
import {
  currentSchemas,
  encodeEventData,
  encodeMetricValue,
  isEventType,
  metricColumns,
  newEntityId,
  uuidv7,
  type EncodedMetricValue,
  type EventData,
  type EventMetadata,
  type EventType,
  type IngestedSpan,
  type KeyValue,
  type NewEvent,
  type RunSource,
  type RunStatus,
} from '@cairn/events';

export type BuiltEvent<T extends EventType> = NewEvent<T, EventData<T>>;

/** Envelope fields a test may pin; everything else comes from the data overrides. */
export interface EnvelopeOverrides {
  id?: string;
  occurredAt?: string;
}

/** Any event type at its current version, data validated. */
export function aNewEvent<T extends EventType>(
  type: T,
  data: EventData<T>,
  envelope: EnvelopeOverrides = {},
): BuiltEvent<T> {
  return {
    id: envelope.id ?? uuidv7(),
    type,
    schemaVersion: currentSchemas[type].version,
    occurredAt: envelope.occurredAt ?? new Date().toISOString(),
    data: encodeEventData(type, data),
  };
}

/** No validation at all: unknown types, future versions, data that fails its schema (poison). */
export function aRawEvent(
  type: string,
  data: unknown,
  envelope: EnvelopeOverrides & { schemaVersion?: number } = {},
): NewEvent {
  return {
    id: envelope.id ?? uuidv7(),
    type,
    schemaVersion: envelope.schemaVersion ?? (isEventType(type) ? currentSchemas[type].version : 1),
    occurredAt: envelope.occurredAt ?? new Date().toISOString(),
    data,
  };
}

// ---------------------------------------------------------------------------------------------
// experiments

export function anExperimentCreated(
  overrides: Partial<EventData<'ExperimentCreated'>> & EnvelopeOverrides = {},
): BuiltEvent<'ExperimentCreated'> {
  const { id, occurredAt, ...data } = overrides;
  const experimentId = data.experimentId ?? newEntityId();
  return aNewEvent(
    'ExperimentCreated',
    {
      experimentId,
      name: `experiment-${experimentId.slice(-8)}`,
      artifactLocation: null,
      tags: [],
      ...data,
    },
    { id, occurredAt },
  );
}

export function anExperimentRenamed(
  overrides: { experimentId: string; name?: string } & EnvelopeOverrides,
): BuiltEvent<'ExperimentRenamed'> {
  const { id, occurredAt, experimentId, name } = overrides;
  return aNewEvent(
    'ExperimentRenamed',
    { experimentId, name: name ?? `renamed-${uuidv7().slice(-8)}` },
    { id, occurredAt },
  );
}

export function anExperimentDeleted(
  overrides: { experimentId: string } & EnvelopeOverrides,
): BuiltEvent<'ExperimentDeleted'> {
  const { id, occurredAt, experimentId } = overrides;
  return aNewEvent('ExperimentDeleted', { experimentId }, { id, occurredAt });
}

export function anExperimentRestored(
  overrides: { experimentId: string } & EnvelopeOverrides,
): BuiltEvent<'ExperimentRestored'> {
  const { id, occurredAt, experimentId } = overrides;
  return aNewEvent('ExperimentRestored', { experimentId }, { id, occurredAt });
}

export function anExperimentTagSet(
  overrides: { experimentId: string; key?: string; value?: string } & EnvelopeOverrides,
): BuiltEvent<'ExperimentTagSet'> {
  const { id, occurredAt, experimentId, key, value } = overrides;
  return aNewEvent(
    'ExperimentTagSet',
    { experimentId, key: key ?? 'team', value: value ?? 'research' },
    { id, occurredAt },
  );
}

// ---------------------------------------------------------------------------------------------
// runs

export function aRunStarted(
  overrides: Partial<Omit<EventData<'RunStarted'>, 'source'>> & {
    source?: Partial<RunSource>;
  } & EnvelopeOverrides = {},
): BuiltEvent<'RunStarted'> {
  const { id, occurredAt, source, ...data } = overrides;
  const runId = data.runId ?? newEntityId();
  return aNewEvent(
    'RunStarted',
    {
      runId,
      experimentId: newEntityId(),
      name: `run-${runId.slice(-8)}`,
      status: 'RUNNING',
      startTime: Date.now(),
      parentRunId: null,
      tags: [],
      ...data,
      source: { gitCommit: null, entryPoint: null, sourceType: null, ...source },
    },
    { id, occurredAt },
  );
}

export function aRunParamsLogged(
  overrides: { runId: string; params?: KeyValue[] } & EnvelopeOverrides,
): BuiltEvent<'RunParamsLogged'> {
  const { id, occurredAt, runId, params } = overrides;
  return aNewEvent(
    'RunParamsLogged',
    { runId, params: params ?? [{ key: 'lr', value: '0.01' }] },
    { id, occurredAt },
  );
}

/** A metric point as a test writes it: a plain number (NaN, ±Infinity too) or an encoded value. */
export interface MetricPointInput {
  key?: string;
  value?: number | EncodedMetricValue;
  step?: number;
  timestamp?: number;
}

export function aRunMetricsLogged(
  overrides: { runId: string; metrics?: MetricPointInput[] } & EnvelopeOverrides,
): BuiltEvent<'RunMetricsLogged'> {
  const { id, occurredAt, runId, metrics } = overrides;
  const now = Date.now();
  const points = (metrics ?? [{}]).map((m, i) => ({
    key: m.key ?? 'loss',
    value: typeof m.value === 'number' ? encodeMetricValue(m.value) : (m.value ?? 1 / (i + 1)),
    step: m.step ?? i,
    timestamp: m.timestamp ?? now,
  }));
  return aNewEvent('RunMetricsLogged', metricColumns(runId, points), { id, occurredAt });
}

export function aRunTagsSet(
  overrides: { runId: string; tags?: KeyValue[] } & EnvelopeOverrides,
): BuiltEvent<'RunTagsSet'> {
  const { id, occurredAt, runId, tags } = overrides;
  return aNewEvent(
    'RunTagsSet',
    { runId, tags: tags ?? [{ key: 'mlflow.note.content', value: 'a note' }] },
    { id, occurredAt },
  );
}

export function aRunTagDeleted(
  overrides: { runId: string; key: string } & EnvelopeOverrides,
): BuiltEvent<'RunTagDeleted'> {
  const { id, occurredAt, runId, key } = overrides;
  return aNewEvent('RunTagDeleted', { runId, key }, { id, occurredAt });
}

export function aRunStatusChanged(
  overrides: { runId: string; status?: RunStatus; endTime?: number | null } & EnvelopeOverrides,
): BuiltEvent<'RunStatusChanged'> {
  const { id, occurredAt, runId, status = 'FINISHED' } = overrides;
  const endTime =
    overrides.endTime !== undefined ? overrides.endTime : status === 'RUNNING' ? null : Date.now();
  return aNewEvent('RunStatusChanged', { runId, status, endTime }, { id, occurredAt });
}

export function aRunRenamed(
  overrides: { runId: string; name?: string } & EnvelopeOverrides,
): BuiltEvent<'RunRenamed'> {
  const { id, occurredAt, runId, name } = overrides;
  return aNewEvent(
    'RunRenamed',
    { runId, name: name ?? `renamed-${uuidv7().slice(-8)}` },
    { id, occurredAt },
  );
}

export function aRunDeleted(
  overrides: { runId: string } & EnvelopeOverrides,
): BuiltEvent<'RunDeleted'> {
  const { id, occurredAt, runId } = overrides;
  return aNewEvent('RunDeleted', { runId }, { id, occurredAt });
}

export function aRunRestored(
  overrides: { runId: string } & EnvelopeOverrides,
): BuiltEvent<'RunRestored'> {
  const { id, occurredAt, runId } = overrides;
  return aNewEvent('RunRestored', { runId }, { id, occurredAt });
}

// ---------------------------------------------------------------------------------------------
// tracing

function randomHex(bytes: number): string {
  let out = '';
  for (let i = 0; i < bytes; i++)
    out += Math.floor(Math.random() * 256)
      .toString(16)
      .padStart(2, '0');
  return out;
}

/** A random 32-hex trace id. */
export function aTraceId(): string {
  return randomHex(16);
}

/** A random 16-hex span id. */
export function aSpanId(): string {
  return randomHex(8);
}

/**
 * A span as `SpansIngested` carries it: a finished INTERNAL root span of a fresh trace, started
 * now and lasting 1 ms, unless overridden.
 */
export function anIngestedSpan(overrides: Partial<IngestedSpan> = {}): IngestedSpan {
  const start = overrides.startTimeUnixNano ?? `${BigInt(Date.now()) * 1_000_000n}`;
  return {
    traceId: aTraceId(),
    spanId: aSpanId(),
    parentSpanId: null,
    traceState: null,
    name: 'span',
    kind: 'INTERNAL',
    startTimeUnixNano: start,
    endTimeUnixNano: `${BigInt(start) + 1_000_000n}`,
    status: { code: 'UNSET', message: null },
    attributes: {},
    events: [],
    links: [],
    resourceIndex: 0,
    scope: { name: 'test', version: null },
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
    ...overrides,
  };
}

export function aSpansIngested(
  overrides: Partial<EventData<'SpansIngested'>> & EnvelopeOverrides = {},
): BuiltEvent<'SpansIngested'> {
  const { id, occurredAt, ...data } = overrides;
  return aNewEvent(
    'SpansIngested',
    {
      batchId: newEntityId(),
      resources: [{ 'service.name': 'test' }],
      spans: [anIngestedSpan()],
      ...data,
    },
    { id, occurredAt },
  );
}

export function aTraceTagSet(
  overrides: { traceId: string; key?: string; value?: string } & EnvelopeOverrides,
): BuiltEvent<'TraceTagSet'> {
  const { id, occurredAt, traceId, key, value } = overrides;
  return aNewEvent(
    'TraceTagSet',
    { traceId, key: key ?? 'reviewed', value: value ?? 'yes' },
    { id, occurredAt },
  );
}

export function aTraceTagDeleted(
  overrides: { traceId: string; key: string } & EnvelopeOverrides,
): BuiltEvent<'TraceTagDeleted'> {
  const { id, occurredAt, traceId, key } = overrides;
  return aNewEvent('TraceTagDeleted', { traceId, key }, { id, occurredAt });
}

export function aTraceMetadataDeleted(
  overrides: { traceId: string; key: string } & EnvelopeOverrides,
): BuiltEvent<'TraceMetadataDeleted'> {
  const { id, occurredAt, traceId, key } = overrides;
  return aNewEvent('TraceMetadataDeleted', { traceId, key }, { id, occurredAt });
}

export function aTraceMetadataSet(
  overrides: { traceId: string; key?: string; value?: string } & EnvelopeOverrides,
): BuiltEvent<'TraceMetadataSet'> {
  const { id, occurredAt, traceId, key, value } = overrides;
  return aNewEvent(
    'TraceMetadataSet',
    { traceId, key: key ?? 'ticket', value: value ?? 'CAIRN-1' },
    { id, occurredAt },
  );
}

export function aTraceDeleted(
  overrides: { traceId: string } & EnvelopeOverrides,
): BuiltEvent<'TraceDeleted'> {
  const { id, occurredAt, traceId } = overrides;
  return aNewEvent('TraceDeleted', { traceId }, { id, occurredAt });
}

export function aModelPriceSet(
  overrides: Partial<EventData<'ModelPriceSet'>> & EnvelopeOverrides = {},
): BuiltEvent<'ModelPriceSet'> {
  const { id, occurredAt, ...data } = overrides;
  return aNewEvent(
    'ModelPriceSet',
    {
      priceId: newEntityId(),
      modelPattern: 'test-model',
      provider: null,
      inputPerMillion: 1,
      outputPerMillion: 2,
      cachedInputPerMillion: null,
      effectiveFrom: '1970-01-01T00:00:00.000Z',
      ...data,
    },
    { id, occurredAt },
  );
}

export function aModelPriceDeleted(
  overrides: { priceId: string } & EnvelopeOverrides,
): BuiltEvent<'ModelPriceDeleted'> {
  const { id, occurredAt, priceId } = overrides;
  return aNewEvent('ModelPriceDeleted', { priceId }, { id, occurredAt });
}

// ---------------------------------------------------------------------------------------------
// appending

export function aMetadata(overrides: Partial<EventMetadata> = {}): EventMetadata {
  return { actor: 'user:test', correlationId: uuidv7(), causationId: null, ...overrides };
}

/**
 * Appends events to a stream in one transaction. With `expectedVersion` 'any' a stream that does
 * not exist yet is created (the store's 'any' only appends to an existing stream).
 */
export async function appendEvents(
  db: Kysely<DB>,
  workspaceId: string,
  streamId: string,
  streamType: string,
  events: NewEvent[],
  expectedVersion: ExpectedVersion = 'any',
  metadata: EventMetadata = aMetadata(),
): Promise<AppendResult> {
  let expected = expectedVersion;
  if (expected === 'any') {
    const stream = await db
      .selectFrom('streams')
      .select('version')
      .where('workspace_id', '=', workspaceId)
      .where('stream_id', '=', streamId)
      .executeTakeFirst();
    if (!stream) expected = 'no_stream';
  }
  return appendToStream(db, {
    workspaceId,
    streamId,
    streamType,
    expectedVersion: expected,
    events,
    metadata,
  });
}
