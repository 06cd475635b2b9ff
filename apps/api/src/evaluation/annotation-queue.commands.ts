import type { Kysely } from 'kysely';
import { readStream, type DB } from '@cairn/db';
import {
  annotationQueueStreamId,
  decodeEvent,
  newEntityId,
  type NewEvent,
  type StoredEventEnvelope,
} from '@cairn/events';
import { CairnError, invalidArgument } from '../errors.ts';
import { listTraces } from '../tracing/traces.queries.ts';
import { parseTraceFilter, parseTraceOrderBy } from '../tracing/trace-search.ts';
import { handleCommand, type Caller, type CommandResult } from '../write/command-handler.ts';
import type { ServiceDeps } from '../write/services.ts';
import {
  ANNOTATION_LIMITS,
  annotationQueueDecider,
  checkAssignee,
  labelValueProblem,
  type AnnotationQueueCommand,
  type AnnotationQueueState,
  type LabelSpecInput,
} from './annotation-queue.decider.ts';
import { requireTraces } from './assessment.commands.ts';
import { checkHexId, checkTraceId } from './evaluation-limits.ts';

/** Unique-key scope of annotation queue names (per workspace) in the event store. */
export const ANNOTATION_QUEUE_NAME_SCOPE = 'annotation-queue-name';
/** The projection annotation queue mutations wait for (read-your-writes). */
export const ANNOTATION_QUEUES_PROJECTION = 'annotation-queues';

/** Names are claimed on create, moved on rename and released on delete. */
function nameKeys(state: AnnotationQueueState, events: NewEvent[]) {
  for (const event of events) {
    const data = event.data as { name?: string };
    if (event.type === 'AnnotationQueueCreated' && data.name)
      return { claim: [{ scope: ANNOTATION_QUEUE_NAME_SCOPE, key: data.name }] };
    if (event.type === 'AnnotationQueueUpdated' && data.name && data.name !== state.name)
      return {
        claim: [{ scope: ANNOTATION_QUEUE_NAME_SCOPE, key: data.name }],
        release: [{ scope: ANNOTATION_QUEUE_NAME_SCOPE, key: state.name }],
      };
    if (event.type === 'AnnotationQueueDeleted')
      return { release: [{ scope: ANNOTATION_QUEUE_NAME_SCOPE, key: state.name }] };
  }
  return {};
}

export function checkQueueId(id: string): string {
  return checkHexId('queueId', id, 'annotation queue id');
}

async function execute(
  deps: ServiceDeps,
  caller: Caller,
  queueId: string,
  command: AnnotationQueueCommand,
): Promise<CommandResult<AnnotationQueueState>> {
  const result = await handleCommand(deps, caller, {
    decider: annotationQueueDecider,
    streamId: annotationQueueStreamId(queueId),
    streamType: 'annotation-queue',
    command,
    uniqueKeys: nameKeys,
  });
  const last = result.events.at(-1);
  if (last) {
    await deps.changes.waitFor(
      caller.workspaceId,
      last.streamId,
      last.streamPosition,
      [ANNOTATION_QUEUES_PROJECTION],
      deps.readYourWritesTimeoutMs,
    );
  }
  return result;
}

/** The queue as decided (its stream): NOT_FOUND when it does not exist or is deleted. */
async function loadQueue(
  deps: ServiceDeps,
  caller: Caller,
  queueId: string,
): Promise<AnnotationQueueState> {
  const stream = await readStream(deps.db, caller.workspaceId, annotationQueueStreamId(queueId));
  let state = annotationQueueDecider.initialState();
  for (const raw of stream.events) state = annotationQueueDecider.evolve(state, decodeEvent(raw));
  if (state.queueId === null || state.deleted)
    throw new CairnError('NOT_FOUND', `Annotation queue ${queueId} not found`, { id: queueId });
  return state;
}

export async function createAnnotationQueue(
  deps: ServiceDeps,
  caller: Caller,
  input: { name: string; description: string | null; labelSchema: readonly LabelSpecInput[] },
): Promise<{ queueId: string; events: StoredEventEnvelope[] }> {
  const queueId = newEntityId(deps.decideContext.newId);
  const result = await execute(deps, caller, queueId, {
    type: 'CreateAnnotationQueue',
    queueId,
    ...input,
  });
  return { queueId, events: result.events };
}

export async function updateAnnotationQueue(
  deps: ServiceDeps,
  caller: Caller,
  queueId: string,
  input: {
    name: string | undefined;
    description: string | null | undefined;
    labelSchema: readonly LabelSpecInput[] | undefined;
  },
): Promise<void> {
  await execute(deps, caller, checkQueueId(queueId), { type: 'UpdateAnnotationQueue', ...input });
}

export async function deleteAnnotationQueue(
  deps: ServiceDeps,
  caller: Caller,
  queueId: string,
): Promise<void> {
  await execute(deps, caller, checkQueueId(queueId), { type: 'DeleteAnnotationQueue' });
}

/**
 * Adds traces, given by id or selected by a trace search filter (the newest matching ones, at
 * most `limit`, default and maximum 1000). Traces the queue holds already are left as they are.
 * Answers how many were added.
 */
export async function addTracesToAnnotationQueue(
  deps: ServiceDeps,
  caller: Caller,
  input: {
    queueId: string;
    traceIds: readonly string[] | null;
    filter: string | null;
    limit: number | null;
  },
): Promise<{ added: number; matched: number }> {
  const queueId = checkQueueId(input.queueId);
  const byIds = input.traceIds !== null;
  if (byIds === (input.filter !== null))
    throw invalidArgument('Give exactly one of traceIds and filter', { field: 'traceIds' });
  let traceIds: string[];
  if (input.traceIds !== null) {
    if (input.traceIds.length === 0)
      throw invalidArgument('traceIds must not be empty', { field: 'traceIds' });
    if (input.traceIds.length > ANNOTATION_LIMITS.tracesPerAdd)
      throw invalidArgument(`At most ${ANNOTATION_LIMITS.tracesPerAdd} traces per call`, {
        field: 'traceIds',
      });
    traceIds = [...new Set(input.traceIds.map((id, i) => checkTraceId(`traceIds[${i}]`, id)))];
    await loadQueue(deps, caller, queueId);
    await requireTraces(deps, caller, traceIds);
  } else {
    const limit = input.limit ?? ANNOTATION_LIMITS.tracesPerAdd;
    if (!Number.isInteger(limit) || limit < 1 || limit > ANNOTATION_LIMITS.tracesPerAdd)
      throw invalidArgument(`limit must be between 1 and ${ANNOTATION_LIMITS.tracesPerAdd}`, {
        field: 'limit',
      });
    const filter = parseTraceFilter(input.filter);
    await loadQueue(deps, caller, queueId);
    const page = await listTraces(deps.db, caller.workspaceId, {
      filter,
      order: parseTraceOrderBy(null),
      first: limit,
      after: null,
    });
    traceIds = page.edges.map((e) => e.node.trace_id);
    if (traceIds.length === 0) return { added: 0, matched: 0 };
  }
  const result = await execute(deps, caller, queueId, {
    type: 'AddAnnotationQueueItems',
    traceIds,
  });
  const added = result.events.reduce(
    (n, e) => n + ((e.data as { items?: unknown[] }).items?.length ?? 0),
    0,
  );
  return { added, matched: traceIds.length };
}

export async function assignAnnotationQueueItem(
  deps: ServiceDeps,
  caller: Caller,
  input: { queueId: string; traceId: string; assignee: string | null },
): Promise<void> {
  await execute(deps, caller, checkQueueId(input.queueId), {
    type: 'AssignAnnotationQueueItem',
    traceId: checkTraceId('traceId', input.traceId),
    assignee:
      input.assignee === null ? caller.metadata.actor : checkAssignee('assignee', input.assignee),
  });
}

/**
 * Assigns the oldest pending item to the caller and answers its trace id (null when nothing is
 * pending). Decided against the queue's stream: of two concurrent calls, one appends first and
 * the other is decided again against the new state, so each gets a different item.
 */
export async function nextAnnotationQueueItem(
  deps: ServiceDeps,
  caller: Caller,
  rawQueueId: string,
): Promise<string | null> {
  const result = await execute(deps, caller, checkQueueId(rawQueueId), {
    type: 'AssignNextAnnotationQueueItem',
    assignee: caller.metadata.actor,
  });
  const assigned = result.events.find((e) => e.type === 'AnnotationQueueItemAssigned');
  return assigned ? (assigned.data as { traceId: string }).traceId : null;
}

/**
 * The required labels of the schema that the caller has not answered on the trace with a valid
 * HUMAN feedback assessment of their own (by name), with the reason.
 */
export async function missingLabels(
  db: Kysely<DB>,
  workspaceId: string,
  state: AnnotationQueueState,
  traceId: string,
  author: string,
): Promise<{ name: string; problem: string }[]> {
  const required = state.labelSchema.filter((l) => l.required);
  if (required.length === 0) return [];
  const rows = await db
    .selectFrom('assessments')
    .select(['name', 'value'])
    .where('workspace_id', '=', workspaceId)
    .where('trace_id', '=', traceId)
    .where('kind', '=', 'FEEDBACK')
    .where('source_type', '=', 'HUMAN')
    .where('author', '=', author)
    .where(
      'name',
      'in',
      required.map((l) => l.name),
    )
    .orderBy('updated_at', 'desc')
    .execute();
  const problems: { name: string; problem: string }[] = [];
  for (const label of required) {
    const answers = rows.filter((r) => r.name === label.name);
    if (answers.length === 0) {
      problems.push({ name: label.name, problem: 'no assessment by this reviewer' });
      continue;
    }
    const invalid = answers.map((a) => labelValueProblem(label, a.value ?? null));
    if (invalid.every((p) => p !== null)) problems.push({ name: label.name, problem: invalid[0]! });
  }
  return problems;
}

/**
 * Completes the item: every required label must be present on the trace as a HUMAN feedback
 * assessment by the caller, with a value its kind allows (else FAILED_PRECONDITION naming them).
 */
export async function completeAnnotationQueueItem(
  deps: ServiceDeps,
  caller: Caller,
  input: { queueId: string; traceId: string },
): Promise<void> {
  const queueId = checkQueueId(input.queueId);
  const traceId = checkTraceId('traceId', input.traceId);
  const state = await loadQueue(deps, caller, queueId);
  if (!state.items.has(traceId))
    throw new CairnError('NOT_FOUND', `Trace ${traceId} is not in this queue`, { traceId });
  const missing = await missingLabels(
    deps.db,
    caller.workspaceId,
    state,
    traceId,
    caller.metadata.actor,
  );
  if (missing.length > 0)
    throw new CairnError(
      'FAILED_PRECONDITION',
      `Required labels missing: ${missing.map((m) => `${m.name} (${m.problem})`).join(', ')}`,
      { traceId, missing: missing.map((m) => m.name) },
    );
  await execute(deps, caller, queueId, {
    type: 'CompleteAnnotationQueueItem',
    traceId,
    by: caller.metadata.actor,
  });
}

export async function skipAnnotationQueueItem(
  deps: ServiceDeps,
  caller: Caller,
  input: { queueId: string; traceId: string },
): Promise<void> {
  await execute(deps, caller, checkQueueId(input.queueId), {
    type: 'SkipAnnotationQueueItem',
    traceId: checkTraceId('traceId', input.traceId),
    by: caller.metadata.actor,
  });
}
