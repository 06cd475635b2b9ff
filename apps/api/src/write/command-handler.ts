import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import {
  appendToStream,
  mayHoldPersonalData,
  readStream,
  StreamVersionConflictError,
  type AppendRequest,
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
import type { VolumeQuotas } from '../auth/quotas.ts';
import { toCairnError } from '../errors.ts';
import { assertCleanStrings } from '../input-hygiene.ts';
import type { DecideContext, Decider } from './decider.ts';
import { groupCommitterFor } from './group-commit.ts';

export interface WriteDeps {
  db: Kysely<DB>;
  decideContext: DecideContext;
  /**
   * Called after every successful append with the committed events (local mode wakes the
   * in-process projector; metricsLogged subscribers may push from the log at once).
   */
  onAppended?: (events: readonly StoredEventEnvelope[]) => void;
  /** Points and spans per second per credential and workspace (auth/quotas.ts); absent: none. */
  quotas?: VolumeQuotas;
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
  /**
   * The caller's idempotency key for this command: the new events get ids derived from it (and
   * the workspace and stream), so a retry of a call whose answer was lost hits the unique
   * `events.event_id` and changes nothing; the result then says `replayed`.
   */
  idempotencyKey?: string | null;
  /**
   * A command that can be decided without loading the stream: the state to decide against
   * (what the command needs of it, e.g. only that the run exists) and the state check the
   * append makes in its own statement instead (`unlessLatest`). The append expects the stream
   * to exist (`exists`); when it does not, or the check refuses, nothing is written and the
   * command takes the ordinary path (load, decide), which answers with the typed error or,
   * after a concurrent change, appends. Undefined or null: always the ordinary path.
   */
  withoutLoad?: (command: C) => {
    state: S;
    unlessLatest?: { among: readonly string[]; refused: string };
  } | null;
}

export interface CommandResult<S> {
  state: S;
  version: number;
  events: StoredEventEnvelope[];
  /**
   * The idempotency key had been used already: nothing was appended now. `replayed.position` is
   * the stream position of the earlier call's last event (wait for it for read-your-writes).
   */
  replayed?: { position: number };
}

/**
 * Event ids for an idempotent command: a UUID (version 8, RFC 9562's custom layout) from
 * SHA-256 of workspace, stream, key and the event's index, the same on every retry.
 */
export function idempotentEventId(
  workspaceId: string,
  streamId: string,
  key: string,
  index: number,
): string {
  const h = createHash('sha256').update(`${workspaceId}\0${streamId}\0${key}\0${index}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x80;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Postgres' unique violation on `events.event_id`: these events are in the log already. */
function isEventIdTaken(error: unknown): boolean {
  const e = error as { code?: unknown; constraint?: unknown } | null;
  return e?.code === '23505' && e.constraint === 'events_event_id_key';
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
 * The `withoutLoad` path: decide against the given state, append with `exists` and the state
 * check; null when the stream is missing or refused (the caller then loads and decides).
 * Idempotent retries and the other outcomes are answered as on the ordinary path.
 */
async function appendWithoutLoad<C, S>(
  deps: WriteDeps,
  caller: Caller,
  spec: CommandSpec<C, S>,
  blind: NonNullable<ReturnType<NonNullable<CommandSpec<C, S>['withoutLoad']>>>,
): Promise<CommandResult<S> | null> {
  const key = spec.idempotencyKey;
  let decided: NewEvent[];
  try {
    decided = spec.decider.decide(spec.command, blind.state, deps.decideContext);
  } catch {
    // Refused input: the ordinary path reports it, in its order (a missing run first).
    return null;
  }
  if (decided.length === 0) return null;
  const events = key
    ? decided.map((e, i) => ({
        ...e,
        id: idempotentEventId(caller.workspaceId, spec.streamId, key, i),
      }))
    : decided;
  for (const event of events) assertCleanStrings(event.data, '');
  try {
    const request: AppendRequest = {
      workspaceId: caller.workspaceId,
      streamId: spec.streamId,
      streamType: spec.streamType,
      expectedVersion: 'exists',
      events,
      metadata: caller.metadata,
      unlessLatest: blind.unlessLatest,
    };
    // Concurrent requests share one statement and one commit (group-commit.ts).
    const committer = mayHoldPersonalData(events) ? null : groupCommitterFor(deps.db);
    const result = committer
      ? await committer.append(request)
      : await appendToStream(deps.db, request);
    if (!result) return null;
    deps.onAppended?.(result.events);
    let state = blind.state;
    for (const stored of result.events) {
      if (spec.ignoredEvents?.includes(stored.type)) continue;
      state = spec.decider.evolve(state, decodeEvent(stored));
    }
    return { state, version: result.version, events: result.events };
  } catch (error) {
    // Missing, refused, or (with a key) appended before: the ordinary path sorts them out.
    if (error instanceof StreamVersionConflictError) return null;
    if (key && isEventIdTaken(error)) return null;
    throw toCairnError(error);
  }
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
  const load = async () => {
    const stream = await readStream(deps.db, caller.workspaceId, spec.streamId, {
      excludeTypes: spec.ignoredEvents,
    });
    let state = spec.decider.initialState();
    for (const raw of stream.events) state = spec.decider.evolve(state, decodeEvent(raw));
    return { state, version: stream.version };
  };
  const blind = spec.withoutLoad?.(spec.command);
  if (blind) {
    const done = await appendWithoutLoad(deps, caller, spec, blind);
    if (done) return done;
  }
  for (let attempt = 1; ; attempt++) {
    const loaded = await load();
    let state = loaded.state;
    let keyedIds: string[] = [];
    try {
      const key = spec.idempotencyKey;
      const decided = spec.decider.decide(spec.command, state, deps.decideContext);
      const events = key
        ? decided.map((e, i) => ({
            ...e,
            id: idempotentEventId(caller.workspaceId, spec.streamId, key, i),
          }))
        : decided;
      if (key) keyedIds = events.map((e) => e.id);
      if (events.length === 0) return { state, version: loaded.version, events: [] };
      // The last line of defence for every stored string (NUL, lone surrogates, length): a
      // decider that forgets a field still cannot put it into the append-only log.
      for (const event of events) assertCleanStrings(event.data, '');
      const keys = spec.uniqueKeys?.(state, events) ?? {};
      const expectedVersion: ExpectedVersion =
        loaded.version === 0
          ? 'no_stream'
          : spec.appendAnyVersion?.(events)
            ? 'any'
            : loaded.version;
      const request: AppendRequest = {
        workspaceId: caller.workspaceId,
        streamId: spec.streamId,
        streamType: spec.streamType,
        expectedVersion,
        events,
        metadata: caller.metadata,
        claimKeys: keys.claim,
        releaseKeys: keys.release,
      };
      // An append at a version without unique keys may share a statement with other requests'
      // (group-commit.ts); null there is a version conflict like appendToStream's.
      const committer =
        typeof expectedVersion === 'number' &&
        (keys.claim?.length ?? 0) === 0 &&
        (keys.release?.length ?? 0) === 0 &&
        !mayHoldPersonalData(events)
          ? groupCommitterFor(deps.db)
          : null;
      const grouped = committer ? await committer.append(request) : undefined;
      if (grouped === null) throw new StreamVersionConflictError(spec.streamId, expectedVersion);
      const result = grouped ?? (await appendToStream(deps.db, request));
      deps.onAppended?.(result.events);
      // As when loading: events that cannot change the decision state are not decoded again
      // (a large metric batch would be validated a second time for nothing).
      for (const stored of result.events) {
        if (spec.ignoredEvents?.includes(stored.type)) continue;
        state = spec.decider.evolve(state, decodeEvent(stored));
      }
      return { state, version: result.version, events: result.events };
    } catch (error) {
      if (spec.idempotencyKey && isEventIdTaken(error)) {
        // A retry of a call that was applied (its answer lost): nothing more is written (the
        // statement failed as a whole, no version bump either). The answer is today's state,
        // which includes the earlier call's events: they are committed.
        const earlier = await deps.db
          .selectFrom('events')
          .select((eb) => eb.fn.max('stream_position').as('position'))
          .where('event_id', 'in', keyedIds)
          .executeTakeFirst();
        return {
          ...(await load()),
          events: [],
          replayed: { position: Number(earlier?.position ?? 0) },
        };
      }
      if (error instanceof StreamVersionConflictError && attempt < MAX_ATTEMPTS) {
        await backoff(attempt);
        continue;
      }
      throw toCairnError(error);
    }
  }
}
