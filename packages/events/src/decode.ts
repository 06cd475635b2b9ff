import type { StoredEventEnvelope } from './envelope.ts';
import {
  currentSchemas,
  isEventType,
  upcasters,
  type EventData,
  type EventType,
} from './catalogue.ts';

export type CairnEvent = {
  [T in EventType]: StoredEventEnvelope<T, EventData<T>>;
}[EventType];

export type EventOf<T extends EventType> = Extract<CairnEvent, { type: T }>;

/** Raised for an event that cannot be decoded: unknown type, unknown version, invalid data. */
export class EventDecodingError extends Error {
  override readonly name = 'EventDecodingError';
  constructor(
    message: string,
    readonly eventId: string,
    readonly eventType: string,
  ) {
    super(message);
  }
}

/**
 * Turns a stored envelope (any schema version) into a typed event at the current version,
 * running upcasters one version at a time and validating the result.
 */
export function decodeEvent(raw: StoredEventEnvelope): CairnEvent {
  const { type } = raw;
  if (!isEventType(type)) {
    throw new EventDecodingError(`Unknown event type "${type}"`, raw.id, type);
  }
  const data = decodeEventData(type, raw.schemaVersion, raw.data, raw.id);
  return { ...raw, schemaVersion: currentSchemas[type].version, data } as CairnEvent;
}

/**
 * The data of a stored event of a known type (any schema version) at the current version,
 * upcast and validated: for readers that select only the data column of the log.
 */
export function decodeEventData<T extends EventType>(
  type: T,
  schemaVersion: number,
  storedData: unknown,
  eventId: string,
): EventData<T> {
  const current = currentSchemas[type];
  let version = schemaVersion;
  let data = storedData;
  if (version > current.version || version < 1) {
    throw new EventDecodingError(
      `${type} has schema version ${version}; this build knows up to ${current.version}`,
      eventId,
      type,
    );
  }
  while (version < current.version) {
    const upcaster = upcasters[type]?.[version];
    if (!upcaster) {
      throw new EventDecodingError(`No upcaster for ${type} v${version}`, eventId, type);
    }
    const parsed = upcaster.from.safeParse(data);
    if (!parsed.success) {
      throw new EventDecodingError(
        `Invalid ${type} v${version} data: ${parsed.error.message}`,
        eventId,
        type,
      );
    }
    data = upcaster.to(parsed.data as never);
    version += 1;
  }
  const parsed = current.schema.safeParse(data);
  if (!parsed.success) {
    throw new EventDecodingError(
      `Invalid ${type} v${version} data: ${parsed.error.message}`,
      eventId,
      type,
    );
  }
  return parsed.data as EventData<T>;
}

/** Builds the data of a new event at the current version, validated. */
export function encodeEventData<T extends EventType>(type: T, data: EventData<T>): EventData<T> {
  return currentSchemas[type].schema.parse(data) as EventData<T>;
}
