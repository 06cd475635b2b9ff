import type { Kysely } from 'kysely';
import { readStream, type DB } from '@cairn/db';
import {
  decodeEvent,
  evaluationDatasetStreamId,
  evaluationRunStreamId,
  experimentStreamId,
  newEntityId,
  runStreamId,
  type DatasetRecordData,
  type EvaluationRowData,
  type KeyValue,
  type NewEvent,
  type StoredEventEnvelope,
} from '@cairn/events';
import { CairnError, invalidArgument } from '../errors.ts';
import { checkOptionalText } from '../input-hygiene.ts';
import { validateKey, validateValue } from '../limits.ts';
import { handleCommand, type Caller } from '../write/command-handler.ts';
import type { ServiceDeps } from '../write/services.ts';
import {
  EVALUATION_PROJECTION,
  requireTraces,
  validateAssessmentValue,
} from './assessment.commands.ts';
import { datasetDecider, type DatasetCommand, type DatasetState } from './dataset.decider.ts';
import { evaluationRunDecider, type EvaluationRunCommand } from './evaluation-run.decider.ts';
import {
  checkEventSize,
  checkHexId,
  checkJsonObject,
  checkJsonSize,
  checkName,
  checkRowKey,
  checkSource,
  checkTraceId,
  EVALUATION_LIMITS,
} from './evaluation-limits.ts';

/** Unique-key scope of dataset names (per workspace) in the event store. */
export const DATASET_NAME_SCOPE = 'evaluation-dataset-name';
const DATASET_STREAM_PREFIX = 'evaluation-dataset-';

async function waitForProjection(
  deps: ServiceDeps,
  caller: Caller,
  events: readonly StoredEventEnvelope[],
): Promise<void> {
  const last = events.at(-1);
  if (!last) return;
  await deps.changes.waitFor(
    caller.workspaceId,
    last.streamId,
    last.streamPosition,
    [EVALUATION_PROJECTION],
    deps.readYourWritesTimeoutMs,
  );
}

// --- datasets --------------------------------------------------------------------------------

/** The dataset id a name belongs to, from the event store's unique keys. */
export async function findDatasetIdByName(
  db: Kysely<DB>,
  workspaceId: string,
  name: string,
): Promise<string | null> {
  const row = await db
    .selectFrom('unique_keys')
    .select('stream_id')
    .where('workspace_id', '=', workspaceId)
    .where('scope', '=', DATASET_NAME_SCOPE)
    .where('key', '=', name.trim())
    .executeTakeFirst();
  return row ? row.stream_id.slice(DATASET_STREAM_PREFIX.length) : null;
}

function nameKeys(_state: DatasetState, events: NewEvent[]) {
  for (const event of events) {
    const data = event.data as { name?: string };
    if (event.type === 'EvaluationDatasetCreated' && data.name)
      return { claim: [{ scope: DATASET_NAME_SCOPE, key: data.name }] };
  }
  return {};
}

async function executeDataset(
  deps: ServiceDeps,
  caller: Caller,
  datasetId: string,
  command: DatasetCommand,
) {
  try {
    const result = await handleCommand(deps, caller, {
      decider: datasetDecider,
      streamId: evaluationDatasetStreamId(datasetId),
      streamType: 'evaluation-dataset',
      command,
      uniqueKeys: nameKeys,
    });
    await waitForProjection(deps, caller, result.events);
    return { datasetId, ...result };
  } catch (error) {
    if (
      error instanceof CairnError &&
      error.code === 'ALREADY_EXISTS' &&
      error.details.scope === DATASET_NAME_SCOPE
    )
      throw new CairnError(
        'ALREADY_EXISTS',
        `An evaluation dataset named "${String(error.details.key)}" already exists`,
        error.details,
      );
    throw error;
  }
}

async function streamExists(db: Kysely<DB>, workspaceId: string, streamId: string) {
  const stream = await readStream(db, workspaceId, streamId, {
    excludeTypes: ['RunMetricsLogged'],
  });
  return stream.version > 0;
}

function checkTags(tags: readonly KeyValue[]): KeyValue[] {
  const byKey = new Map<string, string>();
  for (const tag of tags) {
    validateKey('tag', tag.key);
    validateValue('tag', tag.key, tag.value);
    byKey.set(tag.key, tag.value);
  }
  if (byKey.size > EVALUATION_LIMITS.datasetTags)
    throw invalidArgument(`At most ${EVALUATION_LIMITS.datasetTags} tags`, { field: 'tags' });
  return [...byKey].map(([key, value]) => ({ key, value }));
}

export async function createDataset(
  deps: ServiceDeps,
  caller: Caller,
  input: { name: string; experimentId?: string | null; tags?: readonly KeyValue[] | null },
) {
  const name = checkName('name', input.name, EVALUATION_LIMITS.datasetName);
  const experimentId =
    input.experimentId === null || input.experimentId === undefined
      ? null
      : checkHexId('experimentId', input.experimentId, 'experiment id');
  const tags = checkTags(input.tags ?? []);
  if (
    experimentId !== null &&
    !(await streamExists(deps.db, caller.workspaceId, experimentStreamId(experimentId)))
  )
    throw new CairnError('NOT_FOUND', `Experiment ${experimentId} not found`, { id: experimentId });
  const datasetId = newEntityId(deps.decideContext.newId);
  return executeDataset(deps, caller, datasetId, {
    type: 'CreateDataset',
    datasetId,
    name,
    experimentId,
    tags,
  });
}

export interface DatasetRecordInput {
  inputs?: unknown;
  expectations?: unknown;
  tags?: unknown;
  sourceTraceId?: string | null;
}

function checkRecord(field: string, r: DatasetRecordInput, newId: () => string): DatasetRecordData {
  if (r.inputs === null || typeof r.inputs !== 'object' || Array.isArray(r.inputs))
    throw invalidArgument(`${field}.inputs must be a JSON object`, { field: `${field}.inputs` });
  const record: DatasetRecordData = {
    recordId: newEntityId(newId),
    inputs: r.inputs as never,
    expectations: checkJsonObject(
      `${field}.expectations`,
      r.expectations,
      EVALUATION_LIMITS.recordBytes,
    ) as never,
    tags: checkJsonObject(`${field}.tags`, r.tags, EVALUATION_LIMITS.recordBytes) as never,
    sourceTraceId:
      r.sourceTraceId === null || r.sourceTraceId === undefined
        ? null
        : checkTraceId(`${field}.sourceTraceId`, r.sourceTraceId),
  };
  checkJsonSize(field, record, EVALUATION_LIMITS.recordBytes);
  return record;
}

async function requireDataset(deps: ServiceDeps, caller: Caller, raw: string): Promise<string> {
  const datasetId = checkHexId('datasetId', raw, 'dataset id');
  if (!(await streamExists(deps.db, caller.workspaceId, evaluationDatasetStreamId(datasetId))))
    throw new CairnError('NOT_FOUND', `Dataset ${datasetId} not found`, { id: datasetId });
  return datasetId;
}

/** A new version of the dataset holding the given records besides the earlier ones. */
export async function appendDatasetRecords(
  deps: ServiceDeps,
  caller: Caller,
  input: { datasetId: string; records: readonly DatasetRecordInput[] },
) {
  const datasetId = checkHexId('datasetId', input.datasetId, 'dataset id');
  if (input.records.length === 0)
    throw invalidArgument('records must not be empty', { field: 'records' });
  if (input.records.length > EVALUATION_LIMITS.recordsPerAppend)
    throw invalidArgument(`At most ${EVALUATION_LIMITS.recordsPerAppend} records per call`, {
      field: 'records',
    });
  const records = input.records.map((r, i) =>
    checkRecord(`records[${i}]`, r, deps.decideContext.newId),
  );
  checkEventSize('records', records);
  const sources = records.flatMap((r) => (r.sourceTraceId ? [r.sourceTraceId] : []));
  if (sources.length > 0) await requireTraces(deps, caller, sources);
  await requireDataset(deps, caller, datasetId);
  return executeDataset(deps, caller, datasetId, { type: 'AppendRecords', datasetId, records });
}

/**
 * Records made of traces: inputs = the trace's inputs (an object; another JSON value is wrapped
 * as `{ "inputs": value }`), expectations = its EXPECTATION assessments `{ name: value }` (the
 * newest per name), sourceTraceId = the trace.
 */
export async function appendDatasetRecordsFromTraces(
  deps: ServiceDeps,
  caller: Caller,
  input: { datasetId: string; traceIds: readonly string[] },
) {
  const datasetId = checkHexId('datasetId', input.datasetId, 'dataset id');
  if (input.traceIds.length === 0)
    throw invalidArgument('traceIds must not be empty', { field: 'traceIds' });
  if (input.traceIds.length > EVALUATION_LIMITS.tracesPerAppend)
    throw invalidArgument(`At most ${EVALUATION_LIMITS.tracesPerAppend} traces per call`, {
      field: 'traceIds',
    });
  const traceIds = input.traceIds.map((t, i) => checkTraceId(`traceIds[${i}]`, t));
  await requireDataset(deps, caller, datasetId);
  await requireTraces(deps, caller, traceIds);
  const ws = caller.workspaceId;
  const traces = await deps.db
    .selectFrom('traces')
    .select(['trace_id', 'inputs'])
    .where('workspace_id', '=', ws)
    .where('trace_id', 'in', [...new Set(traceIds)])
    .execute();
  const inputsOf = new Map(traces.map((t) => [t.trace_id, t.inputs]));
  const expectations = await deps.db
    .selectFrom('assessments')
    .select(['trace_id', 'name', 'value'])
    .where('workspace_id', '=', ws)
    .where('trace_id', 'in', [...new Set(traceIds)])
    .where('kind', '=', 'EXPECTATION')
    .orderBy('created_at')
    .orderBy('assessment_id')
    .execute();
  const expectationsOf = new Map<string, Record<string, unknown>>();
  for (const e of expectations) {
    const map = expectationsOf.get(e.trace_id) ?? {};
    map[e.name] = e.value ?? null;
    expectationsOf.set(e.trace_id, map);
  }
  const records = traceIds.map((traceId, i) => {
    const raw = inputsOf.get(traceId) ?? null;
    const inputs =
      raw !== null && typeof raw === 'object' && !Array.isArray(raw)
        ? (raw as Record<string, unknown>)
        : raw === null
          ? {}
          : { inputs: raw };
    return checkRecord(
      `traceIds[${i}]`,
      { inputs, expectations: expectationsOf.get(traceId) ?? {}, sourceTraceId: traceId },
      deps.decideContext.newId,
    );
  });
  checkEventSize('traceIds', records);
  return executeDataset(deps, caller, datasetId, { type: 'AppendRecords', datasetId, records });
}

// --- evaluation runs -------------------------------------------------------------------------

async function executeRun(
  deps: ServiceDeps,
  caller: Caller,
  runId: string,
  command: EvaluationRunCommand,
) {
  const result = await handleCommand(deps, caller, {
    decider: evaluationRunDecider,
    streamId: evaluationRunStreamId(runId),
    streamType: 'evaluation-run',
    command,
  });
  await waitForProjection(deps, caller, result.events);
  return result;
}

export interface RegisterEvaluationRunInput {
  runId: string;
  scorers: readonly string[];
  datasetId?: string | null;
  datasetVersion?: number | null;
  modelId?: string | null;
}

/** Marks a tracking run (startRun) as an evaluation run; registering again changes nothing. */
export async function registerEvaluationRun(
  deps: ServiceDeps,
  caller: Caller,
  input: RegisterEvaluationRunInput,
) {
  const runId = checkHexId('runId', input.runId, 'run id');
  if (input.scorers.length > EVALUATION_LIMITS.scorers)
    throw invalidArgument(`At most ${EVALUATION_LIMITS.scorers} scorers`, { field: 'scorers' });
  const scorers = [
    ...new Set(
      input.scorers.map((s, i) => checkName(`scorers[${i}]`, s, EVALUATION_LIMITS.assessmentName)),
    ),
  ];
  const modelId = checkOptionalText('modelId', input.modelId, EVALUATION_LIMITS.modelId);
  const datasetVersion = input.datasetVersion ?? null;
  if (datasetVersion !== null && (!Number.isInteger(datasetVersion) || datasetVersion < 1))
    throw invalidArgument('datasetVersion must be a positive integer', { field: 'datasetVersion' });
  let datasetId: string | null = null;
  if (input.datasetId !== null && input.datasetId !== undefined) {
    datasetId = checkHexId('datasetId', input.datasetId, 'dataset id');
    const stream = await readStream(
      deps.db,
      caller.workspaceId,
      evaluationDatasetStreamId(datasetId),
    );
    if (stream.version === 0)
      throw new CairnError('NOT_FOUND', `Dataset ${datasetId} not found`, { id: datasetId });
    // Stream version 1 is the creation; each append adds one version.
    if (datasetVersion !== null && datasetVersion > stream.version - 1)
      throw invalidArgument(`Dataset ${datasetId} has no version ${datasetVersion}`, {
        field: 'datasetVersion',
      });
  } else if (datasetVersion !== null) {
    throw invalidArgument('datasetVersion needs a datasetId', { field: 'datasetVersion' });
  }
  const run = await readStream(deps.db, caller.workspaceId, runStreamId(runId), {
    excludeTypes: ['RunMetricsLogged'],
  });
  const started = run.events.find((e) => e.type === 'RunStarted');
  if (!started) throw new CairnError('NOT_FOUND', `Run ${runId} not found`, { id: runId });
  const experimentId = (decodeEvent(started).data as { experimentId: string }).experimentId;
  return executeRun(deps, caller, runId, {
    type: 'RegisterEvaluationRun',
    runId,
    experimentId,
    scorers,
    datasetId,
    datasetVersion,
    modelId,
  });
}

export interface EvaluationRowInput {
  rowKey: string;
  traceId: string;
  inputs?: unknown;
  outputs?: unknown;
  expectations?: unknown;
  scores: readonly {
    name: string;
    value?: unknown;
    rationale?: string | null;
    error?: string | null;
    source: { type: string; id: string };
  }[];
}

/**
 * Records rows (and their scores as FEEDBACK assessments on each row's trace) in one event.
 * Rows whose rowKey the run holds already are left out. Answers the number of distinct rows of
 * the call that the run now holds (re-sent rows included).
 */
export async function recordEvaluationRows(
  deps: ServiceDeps,
  caller: Caller,
  input: { runId: string; rows: readonly EvaluationRowInput[] },
): Promise<number> {
  const runId = checkHexId('runId', input.runId, 'run id');
  if (input.rows.length === 0) throw invalidArgument('rows must not be empty', { field: 'rows' });
  if (input.rows.length > EVALUATION_LIMITS.rowsPerCall)
    throw invalidArgument(`At most ${EVALUATION_LIMITS.rowsPerCall} rows per call`, {
      field: 'rows',
    });
  const newId = deps.decideContext.newId;
  const rows: EvaluationRowData[] = input.rows.map((r, i) => {
    const f = `rows[${i}]`;
    if (r.scores.length > EVALUATION_LIMITS.scoresPerRow)
      throw invalidArgument(`At most ${EVALUATION_LIMITS.scoresPerRow} scores per row`, {
        field: `${f}.scores`,
      });
    if (r.inputs === null || r.inputs === undefined)
      throw invalidArgument(`${f}.inputs must not be null`, { field: `${f}.inputs` });
    checkJsonSize(`${f}.inputs`, r.inputs, EVALUATION_LIMITS.rowFieldBytes);
    checkJsonSize(`${f}.outputs`, r.outputs, EVALUATION_LIMITS.rowFieldBytes);
    checkJsonSize(`${f}.expectations`, r.expectations, EVALUATION_LIMITS.rowFieldBytes);
    return {
      rowKey: checkRowKey(`${f}.rowKey`, r.rowKey),
      traceId: checkTraceId(`${f}.traceId`, r.traceId),
      inputs: (r.inputs ?? null) as never,
      outputs: (r.outputs ?? null) as never,
      expectations: (r.expectations ?? null) as never,
      scores: r.scores.map((s, j) => {
        const g = `${f}.scores[${j}]`;
        validateAssessmentValue(`${g}.value`, s.value ?? null);
        return {
          assessmentId: newEntityId(newId),
          name: checkName(`${g}.name`, s.name, EVALUATION_LIMITS.assessmentName),
          value: (s.value ?? null) as never,
          rationale: checkOptionalText(`${g}.rationale`, s.rationale, EVALUATION_LIMITS.rationale),
          error: checkOptionalText(`${g}.error`, s.error, EVALUATION_LIMITS.error),
          source: checkSource(`${g}.source`, s.source, caller.metadata.actor),
        };
      }),
    };
  });
  checkEventSize('rows', rows);
  await requireTraces(
    deps,
    caller,
    rows.map((r) => r.traceId),
  );
  await executeRun(deps, caller, runId, { type: 'RecordRows', runId, rows });
  return new Set(rows.map((r) => r.rowKey)).size;
}
