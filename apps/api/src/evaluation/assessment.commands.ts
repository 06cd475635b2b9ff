import { sql, type Kysely } from 'kysely';
import { readStream, type DB } from '@cairn/db';
import {
  assessmentStreamId,
  newEntityId,
  runStreamId,
  type AssessmentKind,
  type StoredEventEnvelope,
} from '@cairn/events';
import { CairnError, invalidArgument } from '../errors.ts';
import { checkOptionalText } from '../input-hygiene.ts';
import { handleCommand, type Caller } from '../write/command-handler.ts';
import type { ServiceDeps } from '../write/services.ts';
import {
  assessmentDecider,
  type AssessmentCommand,
  type AssessmentSeed,
  type NewAssessment,
} from './assessment.decider.ts';
import {
  checkHexId,
  checkJsonObject,
  checkJsonSize,
  checkName,
  checkSource,
  checkSpanId,
  checkTraceId,
  EVALUATION_LIMITS,
} from './evaluation-limits.ts';

/** The projection evaluation mutations wait for (read-your-writes). */
export const EVALUATION_PROJECTION = 'evaluation';

/**
 * How long a write waits for a trace it names to appear in the traces read model: spans are
 * projected asynchronously, so a trace ingested a moment ago may not be visible yet.
 */
export const TRACE_WAIT_MS = 3000;

/** One assessment to log (logFeedback / logExpectation / the online-evaluation consumer). */
export interface AssessmentInput {
  /** 32 lowercase hex; default a new uuidv7 entity id. A given id that exists: `exists`. */
  assessmentId?: string;
  kind: AssessmentKind;
  traceId: string;
  spanId?: string | null;
  name: string;
  value?: unknown;
  rationale?: string | null;
  error?: string | null;
  /** Default `{ type: HUMAN, id: <actor> }`. */
  source?: { type: string; id: string } | null;
  runId?: string | null;
  ruleId?: string | null;
  metadata?: unknown;
}

export type LogAssessmentOutcome =
  | { status: 'created'; assessmentId: string; events: StoredEventEnvelope[] }
  | { status: 'exists'; assessmentId: string }
  | { status: 'failed'; assessmentId: string | null; error: CairnError };

export function validateAssessmentValue(field: string, value: unknown): void {
  checkJsonSize(field, value, EVALUATION_LIMITS.valueBytes);
}

/** Validates one input (INVALID_ARGUMENT naming the field); the trace is checked separately. */
export function validateAssessment(
  input: AssessmentInput,
  actor: string,
  newId: () => string,
): NewAssessment {
  const assessmentId =
    input.assessmentId === undefined
      ? newEntityId(newId)
      : checkHexId('assessmentId', input.assessmentId, 'assessment id');
  const value = input.value ?? null;
  if (input.kind === 'EXPECTATION' && value === null)
    throw invalidArgument('An expectation needs a value', { field: 'value' });
  validateAssessmentValue('value', value);
  return {
    assessmentId,
    traceId: checkTraceId('traceId', input.traceId),
    spanId: checkSpanId('spanId', input.spanId),
    kind: input.kind,
    name: checkName('name', input.name, EVALUATION_LIMITS.assessmentName),
    value,
    rationale: checkOptionalText('rationale', input.rationale, EVALUATION_LIMITS.rationale),
    error: checkOptionalText('error', input.error, EVALUATION_LIMITS.error),
    source: checkSource('source', input.source, actor),
    runId:
      input.runId === null || input.runId === undefined
        ? null
        : checkHexId('runId', input.runId, 'run id'),
    ruleId:
      input.ruleId === null || input.ruleId === undefined
        ? null
        : checkHexId('ruleId', input.ruleId, 'rule id'),
    metadata: checkJsonObject('metadata', input.metadata, EVALUATION_LIMITS.metadataBytes),
  };
}

/**
 * The trace ids (of `traceIds`) that have no trace in the workspace (deleted traces count as
 * missing). Spans are projected asynchronously, so a trace ingested a moment ago may not be
 * visible yet: a missing trace is looked for again until the traces projection has applied every
 * transaction committed before this call (its log checkpoint passed the snapshot's xmax), or
 * until `waitMs` has passed (the Kafka transport keeps no log checkpoint: the full wait).
 */
export async function missingTraces(
  db: Kysely<DB>,
  workspaceId: string,
  traceIds: readonly string[],
  /** The traces projection's log checkpoint (ServiceDeps.tracesCheckpoint); null: wait it out. */
  tracesCheckpoint: string | null,
  waitMs = TRACE_WAIT_MS,
): Promise<Set<string>> {
  const missing = new Set(traceIds);
  const look = async () => {
    if (missing.size === 0) return;
    const rows = await db
      .selectFrom('traces')
      .select('trace_id')
      .where('workspace_id', '=', workspaceId)
      .where('trace_id', 'in', [...missing])
      .where('deleted', '=', false)
      .execute();
    for (const r of rows) missing.delete(r.trace_id);
  };
  await look();
  if (missing.size === 0) return missing;
  const { rows } = await sql<{ xmax: string }>`
    SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS xmax`.execute(db);
  const xmax = BigInt(rows[0]?.xmax ?? '0');
  const deadline = Date.now() + waitMs;
  for (let delay = 20; ; delay = Math.min(delay * 2, 200)) {
    const checkpoint = tracesCheckpoint
      ? await db
          .selectFrom('log_checkpoints')
          .select('transaction_id')
          .where('reader', '=', tracesCheckpoint)
          .executeTakeFirst()
      : undefined;
    const caughtUp = checkpoint !== undefined && BigInt(checkpoint.transaction_id) >= xmax;
    await look();
    if (missing.size === 0 || caughtUp || Date.now() >= deadline) return missing;
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

export async function requireTraces(
  deps: ServiceDeps,
  caller: Caller,
  traceIds: readonly string[],
): Promise<void> {
  const missing = await missingTraces(
    deps.db,
    caller.workspaceId,
    [...new Set(traceIds)],
    deps.tracesCheckpoint ?? null,
  );
  const first = [...missing][0];
  if (first !== undefined)
    throw new CairnError('NOT_FOUND', `Trace ${first} not found`, {
      id: first,
      missing: [...missing],
    });
}

/** The run exists (its stream has events) in the caller's workspace. */
export async function requireRun(deps: ServiceDeps, caller: Caller, runId: string): Promise<void> {
  const stream = await readStream(deps.db, caller.workspaceId, runStreamId(runId), {
    excludeTypes: ['RunMetricsLogged', 'RunParamsLogged', 'RunTagsSet'],
  });
  if (stream.version === 0)
    throw new CairnError('NOT_FOUND', `Run ${runId} not found`, { id: runId });
}

async function execute(
  deps: ServiceDeps,
  caller: Caller,
  assessmentId: string,
  command: AssessmentCommand,
  wait: boolean,
) {
  const result = await handleCommand(deps, caller, {
    decider: assessmentDecider,
    streamId: assessmentStreamId(assessmentId),
    streamType: 'assessment',
    command,
  });
  const last = result.events.at(-1);
  if (last && wait) {
    await deps.changes.waitFor(
      caller.workspaceId,
      last.streamId,
      last.streamPosition,
      [EVALUATION_PROJECTION],
      deps.readYourWritesTimeoutMs,
    );
  }
  return result;
}

const asCairnError = (error: unknown): CairnError | null =>
  error instanceof CairnError ? error : null;

/**
 * Logs assessments, one stream each. Never throws for one bad input: each gets its outcome, in
 * the order given. An input whose id exists already (a retry of the online consumer, whose ids
 * are deterministic) is `exists`, and nothing is written for it. Traces must exist in the
 * caller's workspace (waiting up to TRACE_WAIT_MS for the traces projection).
 */
export async function logAssessments(
  deps: ServiceDeps,
  caller: Caller,
  inputs: readonly AssessmentInput[],
  opts: { waitForReadModel?: boolean } = {},
): Promise<LogAssessmentOutcome[]> {
  const wait = opts.waitForReadModel ?? true;
  const validated: (NewAssessment | CairnError)[] = inputs.map((input) => {
    try {
      return validateAssessment(input, caller.metadata.actor, deps.decideContext.newId);
    } catch (error) {
      const typed = asCairnError(error);
      if (typed) return typed;
      throw error;
    }
  });
  const traceIds = validated.flatMap((v) => (v instanceof CairnError ? [] : [v.traceId]));
  const missing = await missingTraces(
    deps.db,
    caller.workspaceId,
    [...new Set(traceIds)],
    deps.tracesCheckpoint ?? null,
  );
  const runIds = [
    ...new Set(validated.flatMap((v) => (v instanceof CairnError || !v.runId ? [] : [v.runId]))),
  ];
  const missingRuns = new Set<string>();
  for (const runId of runIds) {
    try {
      await requireRun(deps, caller, runId);
    } catch {
      missingRuns.add(runId);
    }
  }
  const outcomes: LogAssessmentOutcome[] = [];
  for (const [i, v] of validated.entries()) {
    if (v instanceof CairnError) {
      outcomes.push({ status: 'failed', assessmentId: inputs[i]?.assessmentId ?? null, error: v });
      continue;
    }
    if (missing.has(v.traceId)) {
      outcomes.push({
        status: 'failed',
        assessmentId: v.assessmentId,
        error: new CairnError('NOT_FOUND', `Trace ${v.traceId} not found`, { id: v.traceId }),
      });
      continue;
    }
    if (v.runId && missingRuns.has(v.runId)) {
      outcomes.push({
        status: 'failed',
        assessmentId: v.assessmentId,
        error: new CairnError('NOT_FOUND', `Run ${v.runId} not found`, { id: v.runId }),
      });
      continue;
    }
    try {
      const result = await execute(
        deps,
        caller,
        v.assessmentId,
        { type: 'CreateAssessment', input: v },
        wait,
      );
      outcomes.push({ status: 'created', assessmentId: v.assessmentId, events: result.events });
    } catch (error) {
      const typed = asCairnError(error);
      if (!typed) throw error;
      if (typed.code === 'ALREADY_EXISTS' && typed.details.scope === 'assessment')
        outcomes.push({ status: 'exists', assessmentId: v.assessmentId });
      else outcomes.push({ status: 'failed', assessmentId: v.assessmentId, error: typed });
    }
  }
  return outcomes;
}

/** The read-model state of an assessment an evaluation run stored (no events on its stream). */
async function seedOf(
  db: Kysely<DB>,
  workspaceId: string,
  assessmentId: string,
): Promise<AssessmentSeed | null> {
  const row = await db
    .selectFrom('assessments')
    .select(['trace_id', 'value', 'rationale', 'source_type', 'source_id'])
    .where('workspace_id', '=', workspaceId)
    .where('assessment_id', '=', assessmentId)
    .where('run_id', 'is not', null)
    .executeTakeFirst();
  if (!row) return null;
  return {
    traceId: row.trace_id,
    value: row.value ?? null,
    rationale: row.rationale,
    source: { type: row.source_type as 'HUMAN', id: row.source_id },
  };
}

export interface UpdateAssessmentInput {
  assessmentId: string;
  /** `undefined`: keep the current value. */
  value?: unknown;
  rationale?: string | null;
  source?: { type: string; id: string } | null;
}

/** An override: the previous value, rationale and source stay in the history. */
export async function updateAssessment(
  deps: ServiceDeps,
  caller: Caller,
  input: UpdateAssessmentInput,
) {
  const assessmentId = checkHexId('assessmentId', input.assessmentId, 'assessment id');
  if (input.value !== undefined) validateAssessmentValue('value', input.value);
  const rationale =
    input.rationale === undefined
      ? undefined
      : checkOptionalText('rationale', input.rationale, EVALUATION_LIMITS.rationale);
  const source = checkSource('source', input.source, caller.metadata.actor);
  const seed = await seedOf(deps.db, caller.workspaceId, assessmentId);
  return execute(
    deps,
    caller,
    assessmentId,
    { type: 'UpdateAssessment', assessmentId, value: input.value, rationale, source, seed },
    true,
  );
}

export async function deleteAssessment(deps: ServiceDeps, caller: Caller, rawId: string) {
  const assessmentId = checkHexId('assessmentId', rawId, 'assessment id');
  const seed = await seedOf(deps.db, caller.workspaceId, assessmentId);
  return execute(
    deps,
    caller,
    assessmentId,
    { type: 'DeleteAssessment', assessmentId, seed },
    true,
  );
}
