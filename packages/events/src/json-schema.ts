import { z } from 'zod';
import { currentSchemas, upcasters, type EventType } from './catalogue.ts';

/**
 * The event catalogue as one JSON Schema (draft 2020-12) document, generated from the zod
 * schemas: docs/events/catalogue.json (written and checked by `npm run events:catalogue` /
 * `events:check`, see docs/events.md). A consumer in any language validates an event, as it is
 * stored in the log and published to Kafka, against `#/$defs/<Type>`; the root accepts any one of
 * them. Pure: no I/O.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const DRAFT = 'https://json-schema.org/draft/2020-12/schema';

/** What every event carries besides its data (envelope.ts, StoredEventEnvelope). */
function envelopeSchema(): JsonObject {
  const nullableString: JsonObject = { type: ['string', 'null'] };
  return {
    type: 'object',
    description:
      'The envelope of every stored event: the Postgres log row and the Kafka record value alike.',
    properties: {
      id: {
        type: 'string',
        description: 'uuidv7 of the event, sortable by creation time; the dedupe key.',
      },
      type: { type: 'string', description: 'PascalCase, past tense: ModelAliasSet.' },
      schemaVersion: {
        type: 'integer',
        minimum: 1,
        description: 'Version of the data schema; older versions are upcast when decoded.',
      },
      workspaceId: { type: 'string' },
      streamId: {
        type: 'string',
        description: '<aggregate>-<entity id>, e.g. registered-model-<modelId>; the Kafka key.',
      },
      streamPosition: {
        type: 'integer',
        minimum: 1,
        description: '1-based position in the stream: gapless, in order per stream.',
      },
      globalPosition: {
        type: 'integer',
        minimum: 1,
        description: 'Position in the global log (not gapless; not commit order, see docs).',
      },
      transactionId: {
        type: 'string',
        pattern: '^[0-9]+$',
        description: 'Postgres transaction id (xid8) that appended the event, decimal.',
      },
      occurredAt: { type: 'string', format: 'date-time' },
      recordedAt: { type: 'string', format: 'date-time' },
      actor: {
        type: 'string',
        description: 'user:<id>, key:<id>, sa:<name> or system:<component>.',
      },
      correlationId: { type: 'string' },
      causationId: nullableString,
      data: { description: 'The event data: see the event type.' },
    },
    required: [
      'id',
      'type',
      'schemaVersion',
      'workspaceId',
      'streamId',
      'streamPosition',
      'globalPosition',
      'transactionId',
      'occurredAt',
      'recordedAt',
      'actor',
      'correlationId',
      'causationId',
      'data',
    ],
  };
}

/** Moves a generated schema's own `$defs` to the document's, prefixed with `prefix`. */
function hoistDefs(schema: JsonObject, prefix: string, defs: JsonObject): JsonObject {
  const rewrite = (value: Json): Json => {
    if (Array.isArray(value)) return value.map(rewrite);
    if (value === null || typeof value !== 'object') return value;
    const out: JsonObject = {};
    for (const [key, child] of Object.entries(value)) {
      if (key === '$ref' && typeof child === 'string' && child.startsWith('#/$defs/')) {
        out[key] = `#/$defs/${prefix}${child.slice('#/$defs/'.length)}`;
      } else {
        out[key] = rewrite(child);
      }
    }
    return out;
  };
  const { $schema: _schema, $defs, ...rest } = schema;
  if ($defs && typeof $defs === 'object' && !Array.isArray($defs)) {
    for (const [name, def] of Object.entries($defs)) defs[`${prefix}${name}`] = rewrite(def);
  }
  return rewrite(rest) as JsonObject;
}

function dataSchema(schema: z.ZodType): JsonObject {
  // `output`: the shape of stored data (defaults applied); nothing in the catalogue is
  // unrepresentable in JSON Schema, and a schema that becomes so fails the generator.
  return z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'output' }) as JsonObject;
}

/** The whole catalogue. Deterministic: event types in catalogue order, keys in insertion order. */
export function eventCatalogueJsonSchema(): JsonObject {
  const defs: JsonObject = { Envelope: envelopeSchema() };
  const refs: Json[] = [];
  for (const [type, entry] of Object.entries(currentSchemas) as [
    EventType,
    (typeof currentSchemas)[EventType],
  ][]) {
    const older = Object.keys(upcasters[type] ?? {})
      .map(Number)
      .sort((a, b) => a - b);
    defs[type] = {
      description: `${type} (${entry.domain}), schema version ${entry.version}.`,
      'x-cairn-domain': entry.domain,
      // topicForDomain (packages/kafka): `<domain>.events.v1`.
      'x-cairn-topic': `${entry.domain}.events.v1`,
      'x-cairn-upcast-from': older,
      allOf: [{ $ref: '#/$defs/Envelope' }],
      properties: {
        type: { const: type },
        schemaVersion: { const: entry.version },
        data: hoistDefs(dataSchema(entry.schema), `${type}.`, defs),
      },
    };
    refs.push({ $ref: `#/$defs/${type}` });
  }
  return {
    $schema: DRAFT,
    title: 'Cairn events',
    description:
      'Every Cairn event at its current schema version, as read from the Postgres log or a Kafka topic (docs/events.md). Generated from packages/events; do not edit.',
    oneOf: refs,
    $defs: defs,
  };
}
