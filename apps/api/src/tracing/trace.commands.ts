import { traceStreamId } from '@cairn/events';
import { invalidArgument } from '../errors.ts';
import { handleCommand, type Caller } from '../write/command-handler.ts';
import type { ServiceDeps } from '../write/services.ts';
import { TRACE_LIMITS, traceDecider, type TraceCommand } from './trace.decider.ts';
import { getTraceKeyValues, getTraceStates } from './traces.queries.ts';

/** Decides on the trace's stream, appends, and waits until the `traces` projection has applied it. */
async function execute(deps: ServiceDeps, caller: Caller, command: TraceCommand): Promise<boolean> {
  const result = await handleCommand(deps, caller, {
    decider: traceDecider,
    streamId: traceStreamId(command.traceId),
    streamType: 'trace',
    command,
  });
  const last = result.events.at(-1);
  if (!last) return false;
  await deps.changes.waitFor(
    caller.workspaceId,
    last.streamId,
    last.streamPosition,
    ['traces'],
    deps.readYourWritesTimeoutMs,
  );
  return true;
}

async function inReadModel(deps: ServiceDeps, caller: Caller, traceId: string): Promise<boolean> {
  return (await getTraceStates(deps.db, caller.workspaceId, [traceId])).has(traceId);
}

export async function setTraceTag(
  deps: ServiceDeps,
  caller: Caller,
  traceId: string,
  key: string,
  value: string,
): Promise<void> {
  const known = await inReadModel(deps, caller, traceId);
  await execute(deps, caller, { type: 'SetTraceTag', traceId, key, value, inReadModel: known });
}

export async function setTraceMetadata(
  deps: ServiceDeps,
  caller: Caller,
  traceId: string,
  key: string,
  value: string,
): Promise<void> {
  const known = await inReadModel(deps, caller, traceId);
  await execute(deps, caller, {
    type: 'SetTraceMetadata',
    traceId,
    key,
    value,
    inReadModel: known,
  });
}

export async function deleteTraceTag(
  deps: ServiceDeps,
  caller: Caller,
  traceId: string,
  key: string,
): Promise<void> {
  const known = await inReadModel(deps, caller, traceId);
  const tags = await getTraceKeyValues(deps.db, 'trace_tags_effective', caller.workspaceId, [
    traceId,
  ]);
  const keyVisible = (tags.get(traceId) ?? []).some((t) => t.key === key);
  await execute(deps, caller, {
    type: 'DeleteTraceTag',
    traceId,
    key,
    inReadModel: known,
    keyVisible,
  });
}

export async function deleteTraceMetadata(
  deps: ServiceDeps,
  caller: Caller,
  traceId: string,
  key: string,
): Promise<void> {
  const known = await inReadModel(deps, caller, traceId);
  const metadata = await getTraceKeyValues(
    deps.db,
    'trace_metadata_effective',
    caller.workspaceId,
    [traceId],
  );
  const keyVisible = (metadata.get(traceId) ?? []).some((m) => m.key === key);
  await execute(deps, caller, {
    type: 'DeleteTraceMetadata',
    traceId,
    key,
    inReadModel: known,
    keyVisible,
  });
}

/** Parallel appends: each trace is its own stream. */
const CONCURRENCY = 8;

/** Deletes each trace (one TraceDeleted on its stream); returns how many this call deleted. */
export async function deleteTraces(
  deps: ServiceDeps,
  caller: Caller,
  traceIds: readonly string[],
): Promise<number> {
  if (traceIds.length > TRACE_LIMITS.deleteTraces)
    throw invalidArgument(
      `deleteTraces takes at most ${TRACE_LIMITS.deleteTraces} ids, got ${traceIds.length}`,
      { argument: 'traceIds' },
    );
  const unique = [...new Set(traceIds)];
  const states = await getTraceStates(deps.db, caller.workspaceId, unique);
  let deleted = 0;
  let next = 0;
  const worker = async () => {
    while (next < unique.length) {
      const traceId = unique[next++]!;
      const done = await execute(deps, caller, {
        type: 'DeleteTrace',
        traceId,
        inReadModel: states.has(traceId),
      });
      if (done) deleted++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, unique.length) }, worker));
  return deleted;
}
