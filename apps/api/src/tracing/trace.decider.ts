import { assertNever, type NewEvent } from '@cairn/events';
import { CairnError, invalidArgument } from '../errors.ts';
import { newEvent, type Decider } from '../write/decider.ts';

/** Documented in docs/tracing.md ("Mutations"). */
export const TRACE_LIMITS = {
  key: 250,
  tagValue: 8000,
  metadataValue: 8000,
  deleteTraces: 1000,
} as const;

/**
 * Changes people make to one trace, on its stream `trace-<traceId>`. Spans arrive on streams of
 * their own, so whether the trace exists is not in this stream: the command carries what the
 * `traces` read model knows (`inReadModel`). A trace may be changed when the read model has it or
 * its stream already has events (it was tagged or annotated before), and it is not deleted.
 */
export type TraceCommand =
  | { type: 'SetTraceTag'; traceId: string; key: string; value: string; inReadModel: boolean }
  | {
      type: 'DeleteTraceTag';
      traceId: string;
      key: string;
      inReadModel: boolean;
      /** The read model shows the key (it may come from span attributes). */
      keyVisible: boolean;
    }
  | { type: 'SetTraceMetadata'; traceId: string; key: string; value: string; inReadModel: boolean }
  | {
      type: 'DeleteTraceMetadata';
      traceId: string;
      key: string;
      inReadModel: boolean;
      /** The read model shows the key (it may come from span attributes). */
      keyVisible: boolean;
    }
  | { type: 'DeleteTrace'; traceId: string; inReadModel: boolean };

export interface TraceState {
  /** The stream has events. */
  known: boolean;
  deleted: boolean;
  /** Tags set (value) or deleted (null) by people on this stream. */
  tags: Map<string, string | null>;
  /** Metadata set (value) or deleted (null) by people on this stream. */
  metadata: Map<string, string | null>;
}

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/u;

function validateKey(kind: 'tag' | 'metadata', key: string): void {
  if (key.length === 0) throw invalidArgument(`${kind} key must not be empty`, { key });
  if (key.length > TRACE_LIMITS.key)
    throw invalidArgument(
      `${kind} key "${key.slice(0, 40)}…" is longer than ${TRACE_LIMITS.key} characters`,
      { key },
    );
  if (CONTROL.test(key))
    throw invalidArgument(`${kind} key must not contain control characters`, { key });
}

function validateValue(kind: 'tag' | 'metadata', key: string, value: string): void {
  const max = kind === 'tag' ? TRACE_LIMITS.tagValue : TRACE_LIMITS.metadataValue;
  if (value.length > max)
    throw invalidArgument(`${kind} "${key}" value is longer than ${max} characters`, {
      key,
      length: value.length,
    });
}

function checkWritable(state: TraceState, command: TraceCommand): void {
  if ((!state.known && !command.inReadModel) || state.deleted)
    throw new CairnError(
      'NOT_FOUND',
      `Trace ${command.traceId} not found${state.deleted ? ' (it is deleted)' : ''}`,
      { id: command.traceId },
    );
}

export const traceDecider: Decider<TraceCommand, TraceState> = {
  initialState: () => ({ known: false, deleted: false, tags: new Map(), metadata: new Map() }),

  evolve(state, event) {
    switch (event.type) {
      case 'TraceTagSet':
        return {
          ...state,
          known: true,
          tags: new Map(state.tags).set(event.data.key, event.data.value),
        };
      case 'TraceTagDeleted':
        return { ...state, known: true, tags: new Map(state.tags).set(event.data.key, null) };
      case 'TraceMetadataSet':
        return {
          ...state,
          known: true,
          metadata: new Map(state.metadata).set(event.data.key, event.data.value),
        };
      case 'TraceMetadataDeleted':
        return {
          ...state,
          known: true,
          metadata: new Map(state.metadata).set(event.data.key, null),
        };
      case 'TraceDeleted':
        return { ...state, known: true, deleted: true };
      default:
        return state;
    }
  },

  decide(command, state, ctx): NewEvent[] {
    switch (command.type) {
      case 'SetTraceTag': {
        validateKey('tag', command.key);
        validateValue('tag', command.key, command.value);
        checkWritable(state, command);
        if (state.tags.get(command.key) === command.value) return [];
        const { traceId, key, value } = command;
        return [newEvent(ctx, 'TraceTagSet', { traceId, key, value })];
      }
      case 'DeleteTraceTag': {
        validateKey('tag', command.key);
        checkWritable(state, command);
        const own = state.tags.get(command.key);
        // Nothing to delete: neither set here nor shown by the read model (idempotent).
        if (own === null || (own === undefined && !command.keyVisible)) return [];
        const { traceId, key } = command;
        return [newEvent(ctx, 'TraceTagDeleted', { traceId, key })];
      }
      case 'SetTraceMetadata': {
        validateKey('metadata', command.key);
        validateValue('metadata', command.key, command.value);
        checkWritable(state, command);
        if (state.metadata.get(command.key) === command.value) return [];
        const { traceId, key, value } = command;
        return [newEvent(ctx, 'TraceMetadataSet', { traceId, key, value })];
      }
      case 'DeleteTraceMetadata': {
        validateKey('metadata', command.key);
        checkWritable(state, command);
        const own = state.metadata.get(command.key);
        if (own === null || (own === undefined && !command.keyVisible)) return [];
        const { traceId, key } = command;
        return [newEvent(ctx, 'TraceMetadataDeleted', { traceId, key })];
      }
      case 'DeleteTrace':
        // Unknown or already deleted: nothing happens (deleteTraces counts only real deletions).
        if (state.deleted || (!state.known && !command.inReadModel)) return [];
        return [newEvent(ctx, 'TraceDeleted', { traceId: command.traceId })];
      default:
        return assertNever(command);
    }
  },
};
