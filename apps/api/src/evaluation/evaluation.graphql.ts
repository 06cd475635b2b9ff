import DataLoader from 'dataloader';
import {
  ASSESSMENT_KINDS,
  ASSESSMENT_SOURCE_TYPES,
  ASSESSMENTS_CHANGED_NOTICE,
  decodeEvent,
  EVALUATION_RUNS_CHANGED_NOTICE,
  type EventOf,
  type StoredEventEnvelope,
} from '@cairn/events';
import { builder } from '../graphql/builder.ts';
import { connectionType, type Connection } from '../graphql/connection.ts';
import type { GraphQLContext } from '../graphql/context.ts';
import {
  decodeCursor,
  encodeCursor,
  KeyValueInput,
  KeyValueRef,
  pageSize,
} from '../graphql/scalars.ts';
import { CairnError, invalidArgument } from '../errors.ts';
import { mapNotices } from '../runs/run.subscriptions.ts';
import { RunRef } from '../runs/run.graphql.ts';
import { TraceRef } from '../tracing/trace.graphql.ts';
import {
  deleteAssessment,
  logAssessments,
  updateAssessment,
  type AssessmentInput,
} from './assessment.commands.ts';
import {
  appendDatasetRecords,
  appendDatasetRecordsFromTraces,
  createDataset,
  recordEvaluationRows,
  registerEvaluationRun,
} from './evaluation.commands.ts';
import { checkHexId, checkTraceId } from './evaluation-limits.ts';
import {
  allEvaluationRows,
  assessmentsOfTraces,
  compareRows,
  countAssessments,
  countDatasetRecords,
  countDatasets,
  countEvaluationRuns,
  getAssessment,
  getDataset,
  getEvaluationRun,
  listAssessments,
  listDatasetRecords,
  listDatasets,
  listEvaluationRows,
  listEvaluationRuns,
  rowChanged,
  summarizeRun,
  type AssessmentRow,
  type DatasetRecordRow,
  type DatasetRow,
  type EvaluationRowView,
  type EvaluationRunRow,
  type RowComparison,
  type ScoreChange,
  type ScorerSummary,
} from './evaluation.queries.ts';

const ms = (d: Date) => d.getTime();
/** Contract: `first` defaults to 50, at most 200. */
const size = (first: number | null | undefined) => pageSize(first ?? 50, 200);

// Per-request loaders, kept beside the request's own (the shared context stays untouched).
interface EvaluationLoaders {
  traceAssessments: DataLoader<string, AssessmentRow[]>;
  run: DataLoader<string, EvaluationRunRow | null>;
  summary: DataLoader<string, ScorerSummary[]>;
}
const loaderCache = new WeakMap<object, EvaluationLoaders>();
function loadersOf(ctx: GraphQLContext): EvaluationLoaders {
  let loaders = loaderCache.get(ctx.loaders);
  if (!loaders) {
    const { db } = ctx.deps;
    const ws = ctx.workspaceId;
    const created: EvaluationLoaders = {
      traceAssessments: new DataLoader(async (ids) => {
        const byTrace = await assessmentsOfTraces(db, ws, ids);
        return ids.map((id) => byTrace.get(id) ?? []);
      }),
      run: new DataLoader(async (ids) =>
        Promise.all(ids.map((id) => getEvaluationRun(db, ws, id))),
      ),
      summary: new DataLoader(async (ids) =>
        Promise.all(
          ids.map(async (id) => {
            const run = await created.run.load(id);
            return run ? summarizeRun(db, ws, run) : [];
          }),
        ),
      ),
    };
    loaders = created;
    loaderCache.set(ctx.loaders, loaders);
  }
  return loaders;
}
function resetLoaders(ctx: GraphQLContext): void {
  loaderCache.delete(ctx.loaders);
}

// --- assessments -----------------------------------------------------------------------------

const AssessmentKindEnum = builder.enumType('AssessmentKind', { values: ASSESSMENT_KINDS });
const AssessmentSourceTypeEnum = builder.enumType('AssessmentSourceType', {
  values: ASSESSMENT_SOURCE_TYPES,
});

interface SourceView {
  type: (typeof ASSESSMENT_SOURCE_TYPES)[number];
  id: string;
}
const AssessmentSourceRef = builder.objectRef<SourceView>('AssessmentSource').implement({
  fields: (t) => ({
    type: t.field({ type: AssessmentSourceTypeEnum, resolve: (s) => s.type }),
    id: t.exposeString('id'),
  }),
});
const AssessmentSourceInput = builder.inputType('AssessmentSourceInput', {
  fields: (t) => ({
    type: t.field({ type: AssessmentSourceTypeEnum, required: true }),
    id: t.string({ required: true }),
  }),
});

interface RevisionView {
  value: unknown;
  rationale: string | null;
  source: { type: string; id: string };
  author: string;
  at: string;
}
const AssessmentRevisionRef = builder.objectRef<RevisionView>('AssessmentRevision').implement({
  fields: (t) => ({
    value: t.field({ type: 'JSON', nullable: true, resolve: (r) => r.value ?? null }),
    rationale: t.exposeString('rationale', { nullable: true }),
    source: t.field({ type: AssessmentSourceRef, resolve: (r) => r.source as SourceView }),
    author: t.exposeString('author'),
    at: t.field({ type: 'Timestamp', resolve: (r) => Date.parse(r.at) }),
  }),
});

export const AssessmentRef = builder.objectRef<AssessmentRow>('Assessment').implement({
  fields: (t) => ({
    id: t.exposeID('assessment_id'),
    traceId: t.exposeString('trace_id'),
    spanId: t.exposeString('span_id', { nullable: true }),
    kind: t.field({ type: AssessmentKindEnum, resolve: (a) => a.kind as 'FEEDBACK' }),
    name: t.exposeString('name'),
    value: t.field({ type: 'JSON', nullable: true, resolve: (a) => a.value ?? null }),
    rationale: t.exposeString('rationale', { nullable: true }),
    error: t.exposeString('error', { nullable: true }),
    source: t.field({
      type: AssessmentSourceRef,
      resolve: (a) => ({ type: a.source_type as SourceView['type'], id: a.source_id }),
    }),
    author: t.exposeString('author'),
    runId: t.exposeString('run_id', { nullable: true }),
    ruleId: t.exposeString('rule_id', { nullable: true }),
    metadata: t.field({ type: 'JSON', resolve: (a) => a.metadata }),
    createdAt: t.field({ type: 'Timestamp', resolve: (a) => ms(a.created_at) }),
    updatedAt: t.field({ type: 'Timestamp', resolve: (a) => ms(a.updated_at) }),
    history: t.field({
      type: [AssessmentRevisionRef],
      description: 'Earlier values, oldest first (updates keep history).',
      resolve: (a) => a.history,
    }),
  }),
});
const AssessmentConnection = connectionType('Assessment', AssessmentRef);

builder.objectField(TraceRef, 'assessments', (t) =>
  t.field({
    type: [AssessmentRef],
    description: 'Valid (not deleted) assessments of the trace, newest first.',
    resolve: (trace, _a, ctx) => loadersOf(ctx).traceAssessments.load(trace.trace_id),
  }),
);

const LogFeedbackInput = builder.inputType('LogFeedbackInput', {
  fields: (t) => ({
    traceId: t.string({ required: true }),
    spanId: t.string(),
    name: t.string({ required: true }),
    value: t.field({ type: 'JSON' }),
    rationale: t.string(),
    error: t.string(),
    source: t.field({
      type: AssessmentSourceInput,
      description: 'Default { type: HUMAN, id: <actor> }.',
    }),
    runId: t.string(),
    metadata: t.field({ type: 'JSON' }),
  }),
});
const LogExpectationInput = builder.inputType('LogExpectationInput', {
  fields: (t) => ({
    traceId: t.string({ required: true }),
    spanId: t.string(),
    name: t.string({ required: true }),
    value: t.field({ type: 'JSON', required: true }),
    source: t.field({ type: AssessmentSourceInput }),
    runId: t.string(),
    metadata: t.field({ type: 'JSON' }),
  }),
});
const UpdateAssessmentInput = builder.inputType('UpdateAssessmentInput', {
  fields: (t) => ({
    assessmentId: t.id({ required: true }),
    value: t.field({ type: 'JSON', description: 'Omitted: the current value stays.' }),
    rationale: t.string({ description: 'Omitted: the current rationale stays.' }),
    source: t.field({
      type: AssessmentSourceInput,
      description: 'Default { type: HUMAN, id: <actor> }.',
    }),
  }),
});

/** The read-model row of a new assessment, built from its event past the read-your-writes deadline. */
function rowFromCreated(stored: StoredEventEnvelope): AssessmentRow {
  const event = decodeEvent(stored) as EventOf<'AssessmentCreated'>;
  const d = event.data;
  const at = new Date(event.recordedAt);
  return {
    workspace_id: event.workspaceId,
    assessment_id: d.assessmentId,
    trace_id: d.traceId,
    span_id: d.spanId,
    kind: d.kind,
    name: d.name,
    value: d.value,
    rationale: d.rationale,
    error: d.error,
    source_type: d.source.type,
    source_id: d.source.id,
    author: event.actor,
    run_id: d.runId,
    row_key: null,
    rule_id: d.ruleId,
    metadata: d.metadata,
    history: [],
    created_at: at,
    updated_at: at,
  };
}

const notVisible = () =>
  new CairnError('UNAVAILABLE', 'The change is committed but not visible yet; read it again');

async function logOne(ctx: GraphQLContext, input: AssessmentInput): Promise<AssessmentRow> {
  const [outcome] = await logAssessments(ctx.deps, ctx.caller, [input]);
  if (!outcome) throw new Error('logAssessments answered nothing');
  if (outcome.status === 'failed') throw outcome.error;
  if (outcome.status === 'exists')
    throw new CairnError('ALREADY_EXISTS', `Assessment ${outcome.assessmentId} already exists`);
  const row = await getAssessment(ctx.deps.db, ctx.workspaceId, outcome.assessmentId);
  if (row) return row;
  const created = outcome.events.find((e) => e.type === 'AssessmentCreated');
  if (created) return rowFromCreated(created);
  throw notVisible();
}

// --- datasets --------------------------------------------------------------------------------

const DatasetRecordRef = builder.objectRef<DatasetRecordRow>('DatasetRecord').implement({
  fields: (t) => ({
    id: t.exposeID('record_id'),
    inputs: t.field({ type: 'JSON', resolve: (r) => r.inputs }),
    expectations: t.field({ type: 'JSON', resolve: (r) => r.expectations }),
    tags: t.field({ type: 'JSON', resolve: (r) => r.tags }),
    sourceTraceId: t.exposeString('source_trace_id', { nullable: true }),
    version: t.exposeInt('version', { description: 'The dataset version that added it.' }),
    createdAt: t.field({ type: 'Timestamp', resolve: (r) => ms(r.created_at) }),
  }),
});
const DatasetRecordConnection = connectionType('DatasetRecord', DatasetRecordRef);

type PositionCursor = { p: number };
const isPositionCursor = (v: unknown): v is PositionCursor =>
  typeof v === 'object' && v !== null && Number.isSafeInteger((v as PositionCursor).p);
type TimeCursor = { t: number; id: string };
const isTimeCursor = (v: unknown): v is TimeCursor =>
  typeof v === 'object' &&
  v !== null &&
  Number.isSafeInteger((v as TimeCursor).t) &&
  typeof (v as TimeCursor).id === 'string';
type OffsetCursor = { o: number };
const isOffsetCursor = (v: unknown): v is OffsetCursor =>
  typeof v === 'object' &&
  v !== null &&
  Number.isSafeInteger((v as OffsetCursor).o) &&
  (v as OffsetCursor).o >= 0;

const EvaluationDatasetRef = builder.objectRef<DatasetRow>('EvaluationDataset').implement({
  fields: (t) => ({
    id: t.exposeID('dataset_id'),
    name: t.exposeString('name'),
    experimentId: t.exposeID('experiment_id', { nullable: true }),
    version: t.exposeInt('version'),
    recordCount: t.exposeInt('record_count'),
    tags: t.field({ type: [KeyValueRef], resolve: (d) => d.tags }),
    createdAt: t.field({ type: 'Timestamp', resolve: (d) => ms(d.created_at) }),
    updatedAt: t.field({ type: 'Timestamp', resolve: (d) => ms(d.updated_at) }),
    records: t.field({
      type: DatasetRecordConnection,
      description: 'The records as of `version` (default the latest), in append order.',
      args: { version: t.arg.int(), first: t.arg.int(), after: t.arg.string() },
      resolve: async (d, args, ctx): Promise<Connection<DatasetRecordRow>> => {
        const version = args.version ?? d.version;
        if (!Number.isInteger(version) || version < 0 || version > d.version)
          throw invalidArgument(`Dataset "${d.name}" has no version ${version}`, {
            field: 'version',
          });
        const first = size(args.first);
        const after = decodeCursor(args.after, isPositionCursor)?.p ?? null;
        const { db } = ctx.deps;
        const p = await listDatasetRecords(
          db,
          ctx.workspaceId,
          d.dataset_id,
          version,
          first,
          after,
        );
        const edges = p.items.map((r) => ({ node: r, cursor: encodeCursor({ p: r.position }) }));
        return {
          edges,
          pageInfo: { hasNextPage: p.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
          totalCount: () => countDatasetRecords(db, ctx.workspaceId, d.dataset_id, version),
        };
      },
    }),
  }),
});
const EvaluationDatasetConnection = connectionType('EvaluationDataset', EvaluationDatasetRef);

const DatasetRecordInput = builder.inputType('DatasetRecordInput', {
  fields: (t) => ({
    inputs: t.field({ type: 'JSON', required: true }),
    expectations: t.field({ type: 'JSON' }),
    tags: t.field({ type: 'JSON' }),
    sourceTraceId: t.string(),
  }),
});
const CreateEvaluationDatasetInput = builder.inputType('CreateEvaluationDatasetInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    experimentId: t.id(),
    tags: t.field({ type: [KeyValueInput] }),
  }),
});
const AppendDatasetRecordsInput = builder.inputType('AppendDatasetRecordsInput', {
  fields: (t) => ({
    datasetId: t.id({ required: true }),
    records: t.field({ type: [DatasetRecordInput], required: true }),
  }),
});
const AppendDatasetRecordsFromTracesInput = builder.inputType(
  'AppendDatasetRecordsFromTracesInput',
  {
    fields: (t) => ({
      datasetId: t.id({ required: true }),
      traceIds: t.stringList({ required: true }),
    }),
  },
);

async function datasetAfter(ctx: GraphQLContext, datasetId: string): Promise<DatasetRow> {
  const row = await getDataset(ctx.deps.db, ctx.workspaceId, { id: datasetId });
  if (!row) throw notVisible();
  return row;
}

// --- evaluation runs -------------------------------------------------------------------------

const ScorerSummaryRef = builder.objectRef<ScorerSummary>('ScorerSummary').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    mean: t.exposeFloat('mean', { nullable: true }),
    count: t.exposeInt('count'),
    errorCount: t.exposeInt('errorCount'),
  }),
});

const EvaluationRowRef = builder.objectRef<EvaluationRowView>('EvaluationRow').implement({
  fields: (t) => ({
    rowKey: t.exposeString('row_key'),
    traceId: t.exposeString('trace_id'),
    inputs: t.field({ type: 'JSON', resolve: (r) => r.inputs }),
    outputs: t.field({ type: 'JSON', nullable: true, resolve: (r) => r.outputs ?? null }),
    expectations: t.field({
      type: 'JSON',
      nullable: true,
      resolve: (r) => r.expectations ?? null,
    }),
    assessments: t.field({ type: [AssessmentRef], resolve: (r) => r.assessments }),
  }),
});
const EvaluationRowConnection = connectionType('EvaluationRow', EvaluationRowRef);

const EvaluationRunRef = builder.objectRef<EvaluationRunRow>('EvaluationRun').implement({
  fields: (t) => ({
    runId: t.exposeID('run_id'),
    run: t.field({
      type: RunRef,
      resolve: async (r, _a, ctx) => {
        const run = await ctx.loaders.run.load(r.run_id);
        if (!run) throw new CairnError('NOT_FOUND', `Run ${r.run_id} not found`, { id: r.run_id });
        return run;
      },
    }),
    name: t.string({
      resolve: async (r, _a, ctx) => (await ctx.loaders.run.load(r.run_id))?.name ?? '',
    }),
    experimentId: t.exposeID('experiment_id'),
    datasetId: t.exposeID('dataset_id', { nullable: true }),
    datasetVersion: t.exposeInt('dataset_version', { nullable: true }),
    modelId: t.exposeString('model_id', { nullable: true }),
    scorers: t.stringList({ resolve: (r) => r.scorers }),
    rowCount: t.exposeInt('row_count'),
    createdAt: t.field({ type: 'Timestamp', resolve: (r) => ms(r.created_at) }),
    summary: t.field({
      type: [ScorerSummaryRef],
      description: 'Per scorer: mean over numeric-able values, count, errors.',
      resolve: (r, _a, ctx) => loadersOf(ctx).summary.load(r.run_id),
    }),
    rows: t.field({
      type: EvaluationRowConnection,
      args: { first: t.arg.int(), after: t.arg.string() },
      resolve: async (r, args, ctx): Promise<Connection<EvaluationRowView>> => {
        const first = size(args.first);
        const after = decodeCursor(args.after, isPositionCursor)?.p ?? null;
        const p = await listEvaluationRows(ctx.deps.db, ctx.workspaceId, r.run_id, first, after);
        const edges = p.items.map((row) => ({
          node: row,
          cursor: encodeCursor({ p: row.position }),
        }));
        return {
          edges,
          pageInfo: { hasNextPage: p.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
          totalCount: r.row_count,
        };
      },
    }),
  }),
});
const EvaluationRunConnection = connectionType('EvaluationRun', EvaluationRunRef);

const EvaluationScoreInput = builder.inputType('EvaluationScoreInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    value: t.field({ type: 'JSON' }),
    rationale: t.string(),
    error: t.string(),
    source: t.field({ type: AssessmentSourceInput, required: true }),
  }),
});
const EvaluationRowInput = builder.inputType('EvaluationRowInput', {
  fields: (t) => ({
    rowKey: t.string({
      required: true,
      description:
        'Stable id of the row across runs: sha256 hex of the canonical JSON of `inputs` (sorted keys, no spaces).',
    }),
    traceId: t.string({ required: true }),
    inputs: t.field({ type: 'JSON', required: true }),
    outputs: t.field({ type: 'JSON' }),
    expectations: t.field({ type: 'JSON' }),
    scores: t.field({
      type: [EvaluationScoreInput],
      required: true,
      description: 'Stored as FEEDBACK assessments on traceId with runId set.',
    }),
  }),
});
const RecordEvaluationRowsInput = builder.inputType('RecordEvaluationRowsInput', {
  fields: (t) => ({
    runId: t.id({ required: true }),
    rows: t.field({ type: [EvaluationRowInput], required: true }),
  }),
});
const RegisterEvaluationRunInput = builder.inputType('RegisterEvaluationRunInput', {
  fields: (t) => ({
    runId: t.id({ required: true }),
    scorers: t.stringList({ required: true }),
    datasetId: t.id(),
    datasetVersion: t.int(),
    modelId: t.string(),
  }),
});

async function requireEvaluationRun(ctx: GraphQLContext, runId: string): Promise<EvaluationRunRow> {
  const run = await loadersOf(ctx).run.load(checkHexId('runId', runId, 'run id'));
  if (!run) throw new CairnError('NOT_FOUND', `Evaluation run ${runId} not found`, { id: runId });
  return run;
}

// --- comparison ------------------------------------------------------------------------------

const ScoreChangeKindEnum = builder.enumType('ScoreChangeKind', {
  values: ['REGRESSED', 'IMPROVED', 'UNCHANGED', 'CHANGED', 'ADDED', 'REMOVED'] as const,
});
const ScoreChangeRef = builder.objectRef<ScoreChange>('ScoreChange').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    base: t.field({ type: 'JSON', nullable: true, resolve: (s) => s.base ?? null }),
    candidate: t.field({ type: 'JSON', nullable: true, resolve: (s) => s.candidate ?? null }),
    change: t.field({ type: ScoreChangeKindEnum, resolve: (s) => s.change }),
  }),
});
const EvaluationRowComparisonRef = builder
  .objectRef<RowComparison>('EvaluationRowComparison')
  .implement({
    fields: (t) => ({
      rowKey: t.exposeString('rowKey'),
      inputs: t.field({ type: 'JSON', resolve: (r) => r.inputs }),
      base: t.field({ type: EvaluationRowRef, nullable: true, resolve: (r) => r.base }),
      candidate: t.field({ type: EvaluationRowRef, nullable: true, resolve: (r) => r.candidate }),
      scores: t.field({ type: [ScoreChangeRef], resolve: (r) => r.scores }),
      regressed: t.exposeBoolean('regressed'),
      improved: t.exposeBoolean('improved'),
    }),
  });
const EvaluationRowComparisonConnection = connectionType(
  'EvaluationRowComparison',
  EvaluationRowComparisonRef,
);

interface ScorerComparison {
  name: string;
  baseMean: number | null;
  candidateMean: number | null;
  regressions: number;
  improvements: number;
}
const ScorerComparisonRef = builder.objectRef<ScorerComparison>('ScorerComparison').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    baseMean: t.exposeFloat('baseMean', { nullable: true }),
    candidateMean: t.exposeFloat('candidateMean', { nullable: true }),
    regressions: t.exposeInt('regressions'),
    improvements: t.exposeInt('improvements'),
  }),
});

interface Comparison {
  base: EvaluationRunRow;
  candidate: EvaluationRunRow;
  scorers: ScorerComparison[];
  rows: Connection<RowComparison>;
}
const EvaluationComparisonRef = builder.objectRef<Comparison>('EvaluationComparison').implement({
  fields: (t) => ({
    base: t.field({ type: EvaluationRunRef, resolve: (c) => c.base }),
    candidate: t.field({ type: EvaluationRunRef, resolve: (c) => c.candidate }),
    scorers: t.field({ type: [ScorerComparisonRef], resolve: (c) => c.scorers }),
    rows: t.field({
      type: EvaluationRowComparisonConnection,
      description:
        'Rows matched by rowKey (a row in only one run appears with the other side null).',
      resolve: (c) => c.rows,
    }),
  }),
});

// --- subscriptions' payloads ------------------------------------------------------------------

interface AssessmentChange {
  assessmentId: string;
  traceId: string;
  runId: string | null;
}
const AssessmentChangeRef = builder.objectRef<AssessmentChange>('AssessmentChange').implement({
  fields: (t) => ({
    assessmentId: t.exposeID('assessmentId'),
    traceId: t.exposeString('traceId'),
    runId: t.exposeString('runId', { nullable: true }),
  }),
});
const EvaluationRunChangeRef = builder
  .objectRef<{ runId: string }>('EvaluationRunChange')
  .implement({ fields: (t) => ({ runId: t.exposeID('runId') }) });

// --- fields ----------------------------------------------------------------------------------

builder.queryFields((t) => ({
  assessments: t.field({
    type: AssessmentConnection,
    description: 'Assessments of the workspace, newest first.',
    args: {
      traceId: t.arg.string(),
      runId: t.arg.string(),
      ruleId: t.arg.string(),
      name: t.arg.string(),
      first: t.arg.int(),
      after: t.arg.string(),
    },
    resolve: async (_r, args, ctx): Promise<Connection<AssessmentRow>> => {
      const filter = {
        traceId: args.traceId ? checkTraceId('traceId', args.traceId) : null,
        runId: args.runId ? checkHexId('runId', args.runId, 'run id') : null,
        ruleId: args.ruleId ? checkHexId('ruleId', args.ruleId, 'rule id') : null,
        name: args.name ?? null,
      };
      const first = size(args.first);
      const after = decodeCursor(args.after, isTimeCursor);
      const { db } = ctx.deps;
      const p = await listAssessments(db, ctx.workspaceId, filter, first, after);
      const edges = p.items.map((a) => ({
        node: a,
        cursor: encodeCursor({ t: ms(a.created_at), id: a.assessment_id }),
      }));
      return {
        edges,
        pageInfo: { hasNextPage: p.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
        totalCount: () => countAssessments(db, ctx.workspaceId, filter),
      };
    },
  }),
  evaluationDatasets: t.field({
    type: EvaluationDatasetConnection,
    description: 'Datasets of the workspace, newest first.',
    args: { nameContains: t.arg.string(), first: t.arg.int(), after: t.arg.string() },
    resolve: async (_r, args, ctx): Promise<Connection<DatasetRow>> => {
      const first = size(args.first);
      const after = decodeCursor(args.after, isTimeCursor);
      const { db } = ctx.deps;
      const contains = args.nameContains ?? null;
      const p = await listDatasets(db, ctx.workspaceId, contains, first, after);
      const edges = p.items.map((d) => ({
        node: d,
        cursor: encodeCursor({ t: ms(d.created_at), id: d.dataset_id }),
      }));
      return {
        edges,
        pageInfo: { hasNextPage: p.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
        totalCount: () => countDatasets(db, ctx.workspaceId, contains),
      };
    },
  }),
  evaluationDataset: t.field({
    type: EvaluationDatasetRef,
    nullable: true,
    description: 'By id or by name (exactly one).',
    args: { id: t.arg.id(), name: t.arg.string() },
    resolve: (_r, args, ctx) => {
      const id = args.id === null || args.id === undefined ? null : String(args.id);
      const name = args.name ?? null;
      if ((id === null) === (name === null))
        throw invalidArgument('Give exactly one of id and name', { field: 'id' });
      return getDataset(
        ctx.deps.db,
        ctx.workspaceId,
        id !== null ? { id: checkHexId('id', id, 'dataset id') } : { name: name! },
      );
    },
  }),
  evaluationRuns: t.field({
    type: EvaluationRunConnection,
    description: 'Evaluation runs, newest first.',
    args: { experimentId: t.arg.id(), first: t.arg.int(), after: t.arg.string() },
    resolve: async (_r, args, ctx): Promise<Connection<EvaluationRunRow>> => {
      const experimentId =
        args.experimentId === null || args.experimentId === undefined
          ? null
          : checkHexId('experimentId', String(args.experimentId), 'experiment id');
      const first = size(args.first);
      const after = decodeCursor(args.after, isTimeCursor);
      const { db } = ctx.deps;
      const p = await listEvaluationRuns(db, ctx.workspaceId, experimentId, first, after);
      const edges = p.items.map((r) => ({
        node: r,
        cursor: encodeCursor({ t: ms(r.created_at), id: r.run_id }),
      }));
      return {
        edges,
        pageInfo: { hasNextPage: p.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
        totalCount: () => countEvaluationRuns(db, ctx.workspaceId, experimentId),
      };
    },
  }),
  evaluationRun: t.field({
    type: EvaluationRunRef,
    nullable: true,
    args: { runId: t.arg.id({ required: true }) },
    resolve: (_r, args, ctx) =>
      loadersOf(ctx).run.load(checkHexId('runId', String(args.runId), 'run id')),
  }),
  compareEvaluationRuns: t.field({
    type: EvaluationComparisonRef,
    description:
      'Rows matched by rowKey; a numeric-able candidate score below the base one is a regression (higher is better).',
    args: {
      baseRunId: t.arg.id({ required: true }),
      candidateRunId: t.arg.id({ required: true }),
      onlyChanged: t.arg.boolean(),
      first: t.arg.int(),
      after: t.arg.string(),
    },
    resolve: async (_r, args, ctx): Promise<Comparison> => {
      const [base, candidate] = await Promise.all([
        requireEvaluationRun(ctx, String(args.baseRunId)),
        requireEvaluationRun(ctx, String(args.candidateRunId)),
      ]);
      const first = size(args.first);
      const offset = decodeCursor(args.after, isOffsetCursor)?.o ?? 0;
      const { db } = ctx.deps;
      const [baseRows, candidateRows, baseSummary, candidateSummary] = await Promise.all([
        allEvaluationRows(db, ctx.workspaceId, base.run_id),
        allEvaluationRows(db, ctx.workspaceId, candidate.run_id),
        loadersOf(ctx).summary.load(base.run_id),
        loadersOf(ctx).summary.load(candidate.run_id),
      ]);
      const compared = compareRows(baseRows, candidateRows);
      const names = [
        ...new Set([...baseSummary.map((s) => s.name), ...candidateSummary.map((s) => s.name)]),
      ];
      const scorers = names.map((name) => {
        let regressions = 0;
        let improvements = 0;
        for (const row of compared) {
          const change = row.scores.find((s) => s.name === name)?.change;
          if (change === 'REGRESSED') regressions += 1;
          if (change === 'IMPROVED') improvements += 1;
        }
        return {
          name,
          baseMean: baseSummary.find((s) => s.name === name)?.mean ?? null,
          candidateMean: candidateSummary.find((s) => s.name === name)?.mean ?? null,
          regressions,
          improvements,
        };
      });
      const selected = args.onlyChanged ? compared.filter(rowChanged) : compared;
      const slice = selected.slice(offset, offset + first);
      const edges = slice.map((row, i) => ({
        node: row,
        cursor: encodeCursor({ o: offset + i + 1 }),
      }));
      return {
        base,
        candidate,
        scorers,
        rows: {
          edges,
          pageInfo: {
            hasNextPage: offset + first < selected.length,
            endCursor: edges.at(-1)?.cursor ?? null,
          },
          totalCount: selected.length,
        },
      };
    },
  }),
}));

builder.mutationFields((t) => ({
  logFeedback: t.field({
    type: AssessmentRef,
    args: { input: t.arg({ type: LogFeedbackInput, required: true }) },
    resolve: (_r, { input }, ctx) =>
      logOne(ctx, {
        kind: 'FEEDBACK',
        traceId: input.traceId,
        spanId: input.spanId,
        name: input.name,
        value: input.value,
        rationale: input.rationale,
        error: input.error,
        source: input.source,
        runId: input.runId,
        metadata: input.metadata,
      }),
  }),
  logExpectation: t.field({
    type: AssessmentRef,
    args: { input: t.arg({ type: LogExpectationInput, required: true }) },
    resolve: (_r, { input }, ctx) =>
      logOne(ctx, {
        kind: 'EXPECTATION',
        traceId: input.traceId,
        spanId: input.spanId,
        name: input.name,
        value: input.value,
        source: input.source,
        runId: input.runId,
        metadata: input.metadata,
      }),
  }),
  updateAssessment: t.field({
    type: AssessmentRef,
    description: 'An override: the previous value, rationale and source stay in `history`.',
    args: { input: t.arg({ type: UpdateAssessmentInput, required: true }) },
    resolve: async (_r, { input }, ctx) => {
      const id = String(input.assessmentId);
      await updateAssessment(ctx.deps, ctx.caller, {
        assessmentId: id,
        value: input.value,
        rationale: input.rationale,
        source: input.source,
      });
      const row = await getAssessment(ctx.deps.db, ctx.workspaceId, id);
      if (!row) throw notVisible();
      return row;
    },
  }),
  deleteAssessment: t.field({
    type: 'ID',
    args: { assessmentId: t.arg.id({ required: true }) },
    resolve: async (_r, { assessmentId }, ctx) => {
      await deleteAssessment(ctx.deps, ctx.caller, String(assessmentId));
      return String(assessmentId);
    },
  }),
  createEvaluationDataset: t.field({
    type: EvaluationDatasetRef,
    description: 'Names are unique per workspace (ALREADY_EXISTS).',
    args: { input: t.arg({ type: CreateEvaluationDatasetInput, required: true }) },
    resolve: async (_r, { input }, ctx) => {
      const result = await createDataset(ctx.deps, ctx.caller, {
        name: input.name,
        experimentId:
          input.experimentId === null || input.experimentId === undefined
            ? null
            : String(input.experimentId),
        tags: input.tags ?? [],
      });
      return datasetAfter(ctx, result.datasetId);
    },
  }),
  appendDatasetRecords: t.field({
    type: EvaluationDatasetRef,
    description: 'A new version (version + 1) holding these records besides the earlier ones.',
    args: { input: t.arg({ type: AppendDatasetRecordsInput, required: true }) },
    resolve: async (_r, { input }, ctx) => {
      const result = await appendDatasetRecords(ctx.deps, ctx.caller, {
        datasetId: String(input.datasetId),
        records: input.records,
      });
      return datasetAfter(ctx, result.datasetId);
    },
  }),
  appendDatasetRecordsFromTraces: t.field({
    type: EvaluationDatasetRef,
    description:
      "Records made of traces: inputs = the trace's inputs, expectations = its EXPECTATION assessments {name: value}.",
    args: { input: t.arg({ type: AppendDatasetRecordsFromTracesInput, required: true }) },
    resolve: async (_r, { input }, ctx) => {
      const result = await appendDatasetRecordsFromTraces(ctx.deps, ctx.caller, {
        datasetId: String(input.datasetId),
        traceIds: input.traceIds,
      });
      return datasetAfter(ctx, result.datasetId);
    },
  }),
  registerEvaluationRun: t.field({
    type: EvaluationRunRef,
    description: 'Marks a tracking run (startRun) as an evaluation run; again: no change.',
    args: { input: t.arg({ type: RegisterEvaluationRunInput, required: true }) },
    resolve: async (_r, { input }, ctx) => {
      const runId = String(input.runId);
      await registerEvaluationRun(ctx.deps, ctx.caller, {
        runId,
        scorers: input.scorers,
        datasetId:
          input.datasetId === null || input.datasetId === undefined
            ? null
            : String(input.datasetId),
        datasetVersion: input.datasetVersion,
        modelId: input.modelId,
      });
      resetLoaders(ctx);
      const run = await getEvaluationRun(ctx.deps.db, ctx.workspaceId, runId);
      if (!run) throw notVisible();
      return run;
    },
  }),
  recordEvaluationRows: t.field({
    type: 'Int',
    description:
      'At most 100 rows per call; re-sending a rowKey is idempotent. Answers the number of distinct rows of the call the run holds.',
    args: { input: t.arg({ type: RecordEvaluationRowsInput, required: true }) },
    resolve: (_r, { input }, ctx) =>
      recordEvaluationRows(ctx.deps, ctx.caller, { runId: String(input.runId), rows: input.rows }),
  }),
}));

function parseAssessmentKey(key: string): AssessmentChange | null {
  const [assessmentId, traceId, runId] = key.split(':');
  if (!assessmentId || !traceId) return null;
  return { assessmentId, traceId, runId: runId ? runId : null };
}

builder.subscriptionFields((t) => ({
  assessmentsChanged: t.field({
    type: AssessmentChangeRef,
    description:
      'One push per assessment created, updated or deleted (of the trace / run when given).',
    args: { traceId: t.arg.string(), runId: t.arg.string() },
    subscribe: (_r, args, ctx) => {
      const traceId = args.traceId ? checkTraceId('traceId', args.traceId) : null;
      const runId = args.runId ? checkHexId('runId', args.runId, 'run id') : null;
      const changes = mapNotices<AssessmentChange[]>(
        ctx,
        (n) => {
          if (n.p !== ASSESSMENTS_CHANGED_NOTICE) return null;
          const list = n.s
            .map(([key]) => parseAssessmentKey(key))
            .filter(
              (c): c is AssessmentChange =>
                c !== null &&
                (traceId === null || c.traceId === traceId) &&
                (runId === null || c.runId === runId),
            );
          return list.length > 0 ? list : null;
        },
        (a, b) => [...a, ...b],
      );
      return (async function* () {
        for await (const list of changes) yield* list;
      })();
    },
    resolve: (change: AssessmentChange) => change,
  }),
  evaluationRunChanged: t.field({
    type: EvaluationRunChangeRef,
    description: 'Pushes when the run is registered or rows / its assessments change (coalesced).',
    args: { runId: t.arg.id({ required: true }) },
    subscribe: (_r, args, ctx) => {
      const runId = checkHexId('runId', String(args.runId), 'run id');
      return mapNotices(ctx, (n) =>
        n.p === EVALUATION_RUNS_CHANGED_NOTICE && n.s.some(([key]) => key === runId)
          ? { runId }
          : null,
      );
    },
    resolve: (change: { runId: string }) => change,
  }),
}));
