import type { Kysely } from 'kysely';
import {
  appendToStream,
  readStream,
  StreamVersionConflictError,
  type DB,
  type ExpectedVersion,
  type UniqueKeyChange,
} from '@cairn/db';
import {
  decodeEvent,
  type EventMetadata,
  type NewEvent,
  type StoredEventEnvelope,
} from '@cairn/events';
import { toCairnError } from '../errors.ts';
import { assertCleanStrings } from '../input-hygiene.ts';
import type { DecideContext, Decider } from './decider.ts';

export interface WriteDeps {
  db: Kysely<DB>;
  decideContext: DecideContext;
  /**
   * Called after every successful append with the committed events (local mode wakes the
   * in-process projector; metricsLogged subscribers may push from the log at once).
   */
  onAppended?: (events: readonly StoredEventEnvelope[]) => void;
}

export interface Caller {
  workspaceId: string;
  metadata: EventMetadata;
}

export interface CommandSpec<C, S> {
  decider: Decider<C, S>;
  streamId: string;
  streamType: string;
  command: C;
  /** Event types that do not change decision state and need not be loaded. */
  ignoredEvents?: readonly string[];
  /** Unique keys claimed / released by the new events (given the state before them). */
  uniqueKeys?: (
    state: S,
    events: NewEvent[],
  ) => { claim?: UniqueKeyChange[]; release?: UniqueKeyChange[] };
  /** Append without a version check when the events obey no rule against concurrent changes. */
  appendAnyVersion?: (events: NewEvent[]) => boolean;
}

export interface CommandResult<S> {
  state: S;
  version: number;
  events: StoredEventEnvelope[];
}

/**
 * Attempts before a command gives up with CONFLICT. Each lost race means another writer's
 * append succeeded (no livelock), so the bound only caps how many writers may queue on one
 * stream: with 50 concurrent version creations on one model the unluckiest caller measured
 * 25 attempts; 100 leaves room for a loaded machine (at most ~10 s of backoff in all).
 */
const MAX_ATTEMPTS = 100;
/** Backoff after a lost race: full jitter, doubling from BASE up to CAP milliseconds. */
const BACKOFF_BASE_MS = 2;
const BACKOFF_CAP_MS = 100;

function backoff(attempt: number): Promise<void> {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 10));
  return new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
}

/**
 * Load → decide → append with the expected version. On a concurrent append the command is
 * decided again against the fresh state (deciders are pure), after a short randomised backoff so
 * that racing writers spread out, a bounded number of times; then the caller gets CONFLICT.
 */
export async function handleCommand<C, S>(
  deps: WriteDeps,
  caller: Caller,
  spec: CommandSpec<C, S>,
): Promise<CommandResult<S>> {
  for (let attempt = 1; ; attempt++) {
    const stream = await readStream(deps.db, caller.workspaceId, spec.streamId, {
      excludeTypes: spec.ignoredEvents,
    });
    let state = spec.decider.initialState();
    for (const raw of stream.events) state = spec.decider.evolve(state, decodeEvent(raw));
    try {
      const events = spec.decider.decide(spec.command, state, deps.decideContext);
      if (events.length === 0) return { state, version: stream.version, events: [] };
      // The last line of defence for every stored string (NUL, lone surrogates, length): a
      // decider that forgets a field still cannot put it into the append-only log.
      for (const event of events) assertCleanStrings(event.data, '');
      const keys = spec.uniqueKeys?.(state, events) ?? {};
      const expectedVersion: ExpectedVersion =
        stream.version === 0
          ? 'no_stream'
          : spec.appendAnyVersion?.(events)
            ? 'any'
            : stream.version;
      const result = await appendToStream(deps.db, {
        workspaceId: caller.workspaceId,
        streamId: spec.streamId,
        streamType: spec.streamType,
        expectedVersion,
        events,
        metadata: caller.metadata,
        claimKeys: keys.claim,
        releaseKeys: keys.release,
      });
      deps.onAppended?.(result.events);
      // As when loading: events that cannot change the decision state are not decoded again
      // (a large metric batch would be validated a second time for nothing).
      for (const stored of result.events) {
        if (spec.ignoredEvents?.includes(stored.type)) continue;
        state = spec.decider.evolve(state, decodeEvent(stored));
      }
      return { state, version: result.version, events: result.events };
    } catch (error) {
      if (error instanceof StreamVersionConflictError && attempt < MAX_ATTEMPTS) {
        await backoff(attempt);
        continue;
      }
      throw toCairnError(error);
    }
  }
}
