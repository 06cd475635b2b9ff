import { sql, type Kysely, type Selectable } from 'kysely';
import type {
  AssessmentsTable,
  DB,
  EvaluationDatasetRecordsTable,
  EvaluationDatasetsTable,
  EvaluationRowsTable,
  EvaluationRunsTable,
} from '@cairn/db';
import { numericValue } from './evaluation-limits.ts';

export type AssessmentRow = Selectable<AssessmentsTable>;
export type DatasetRow = Selectable<EvaluationDatasetsTable>;
export type DatasetRecordRow = Selectable<EvaluationDatasetRecordsTable>;
export type EvaluationRunRow = Selectable<EvaluationRunsTable>;
export type EvaluationRowRow = Selectable<EvaluationRowsTable>;
/** An evaluation row with its score assessments (oldest first). */
export type EvaluationRowView = EvaluationRowRow & { assessments: AssessmentRow[] };

export interface Page<T> {
  items: T[];
  hasNextPage: boolean;
}

function page<T>(rows: T[], first: number): Page<T> {
  return { items: rows.slice(0, first), hasNextPage: rows.length > first };
}

// --- assessments -----------------------------------------------------------------------------

export async function getAssessment(
  db: Kysely<DB>,
  workspaceId: string,
  assessmentId: string,
): Promise<AssessmentRow | null> {
  return (
    (await db
      .selectFrom('assessments')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('assessment_id', '=', assessmentId)
      .executeTakeFirst()) ?? null
  );
}

export interface AssessmentCursor {
  t: number;
  id: string;
}

export interface AssessmentFilter {
  traceId?: string | null;
  runId?: string | null;
  ruleId?: string | null;
  name?: string | null;
}

/** Newest first (created_at, then id). */
export async function listAssessments(
  db: Kysely<DB>,
  workspaceId: string,
  filter: AssessmentFilter,
  first: number,
  after: AssessmentCursor | null,
): Promise<Page<AssessmentRow>> {
  let q = db.selectFrom('assessments').selectAll().where('workspace_id', '=', workspaceId);
  if (filter.traceId) q = q.where('trace_id', '=', filter.traceId);
  if (filter.runId) q = q.where('run_id', '=', filter.runId);
  if (filter.ruleId) q = q.where('rule_id', '=', filter.ruleId);
  if (filter.name) q = q.where('name', '=', filter.name);
  if (after) {
    const at = new Date(after.t);
    q = q.where((eb) =>
      eb.or([
        eb('created_at', '<', at),
        eb.and([eb('created_at', '=', at), eb('assessment_id', '<', after.id)]),
      ]),
    );
  }
  const rows = await q
    .orderBy('created_at', 'desc')
    .orderBy('assessment_id', 'desc')
    .limit(first + 1)
    .execute();
  return page(rows, first);
}

export async function countAssessments(
  db: Kysely<DB>,
  workspaceId: string,
  filter: AssessmentFilter,
): Promise<number> {
  let q = db
    .selectFrom('assessments')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('workspace_id', '=', workspaceId);
  if (filter.traceId) q = q.where('trace_id', '=', filter.traceId);
  if (filter.runId) q = q.where('run_id', '=', filter.runId);
  if (filter.ruleId) q = q.where('rule_id', '=', filter.ruleId);
  if (filter.name) q = q.where('name', '=', filter.name);
  const row = await q.executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Assessments of these traces, newest first, grouped by trace. */
export async function assessmentsOfTraces(
  db: Kysely<DB>,
  workspaceId: string,
  traceIds: readonly string[],
): Promise<Map<string, AssessmentRow[]>> {
  const byTrace = new Map<string, AssessmentRow[]>();
  if (traceIds.length === 0) return byTrace;
  const rows = await db
    .selectFrom('assessments')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('trace_id', 'in', [...traceIds])
    .orderBy('created_at', 'desc')
    .orderBy('assessment_id', 'desc')
    .execute();
  for (const r of rows) {
    const list = byTrace.get(r.trace_id) ?? [];
    list.push(r);
    byTrace.set(r.trace_id, list);
  }
  return byTrace;
}

// --- datasets --------------------------------------------------------------------------------

export async function getDataset(
  db: Kysely<DB>,
  workspaceId: string,
  by: { id: string } | { name: string },
): Promise<DatasetRow | null> {
  let q = db.selectFrom('evaluation_datasets').selectAll().where('workspace_id', '=', workspaceId);
  q = 'id' in by ? q.where('dataset_id', '=', by.id) : q.where('name', '=', by.name.trim());
  return (await q.orderBy('created_at', 'desc').executeTakeFirst()) ?? null;
}

export interface DatasetCursor {
  t: number;
  id: string;
}

/** Newest first. */
export async function listDatasets(
  db: Kysely<DB>,
  workspaceId: string,
  nameContains: string | null,
  first: number,
  after: DatasetCursor | null,
): Promise<Page<DatasetRow>> {
  let q = db.selectFrom('evaluation_datasets').selectAll().where('workspace_id', '=', workspaceId);
  if (nameContains) {
    const pattern = `%${nameContains.replace(/[\\%_]/gu, (c) => `\\${c}`)}%`;
    q = q.where('name', 'ilike', pattern);
  }
  if (after) {
    const at = new Date(after.t);
    q = q.where((eb) =>
      eb.or([
        eb('created_at', '<', at),
        eb.and([eb('created_at', '=', at), eb('dataset_id', '<', after.id)]),
      ]),
    );
  }
  const rows = await q
    .orderBy('created_at', 'desc')
    .orderBy('dataset_id', 'desc')
    .limit(first + 1)
    .execute();
  return page(rows, first);
}

export async function countDatasets(
  db: Kysely<DB>,
  workspaceId: string,
  nameContains: string | null,
): Promise<number> {
  let q = db
    .selectFrom('evaluation_datasets')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('workspace_id', '=', workspaceId);
  if (nameContains) {
    const pattern = `%${nameContains.replace(/[\\%_]/gu, (c) => `\\${c}`)}%`;
    q = q.where('name', 'ilike', pattern);
  }
  return Number((await q.executeTakeFirstOrThrow()).n);
}

/** Records as of `version` (those added by versions ≤ it), in append order, after `afterPosition`. */
export async function listDatasetRecords(
  db: Kysely<DB>,
  workspaceId: string,
  datasetId: string,
  version: number,
  first: number,
  afterPosition: number | null,
): Promise<Page<DatasetRecordRow>> {
  let q = db
    .selectFrom('evaluation_dataset_records')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('dataset_id', '=', datasetId)
    .where('version', '<=', version);
  if (afterPosition !== null) q = q.where('position', '>', afterPosition);
  const rows = await q
    .orderBy('position')
    .limit(first + 1)
    .execute();
  return page(rows, first);
}

export async function countDatasetRecords(
  db: Kysely<DB>,
  workspaceId: string,
  datasetId: string,
  version: number,
): Promise<number> {
  const row = await db
    .selectFrom('evaluation_dataset_records')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('workspace_id', '=', workspaceId)
    .where('dataset_id', '=', datasetId)
    .where('version', '<=', version)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

// --- evaluation runs -------------------------------------------------------------------------

export async function getEvaluationRun(
  db: Kysely<DB>,
  workspaceId: string,
  runId: string,
): Promise<EvaluationRunRow | null> {
  return (
    (await db
      .selectFrom('evaluation_runs')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('run_id', '=', runId)
      .executeTakeFirst()) ?? null
  );
}

export interface RunCursor {
  t: number;
  id: string;
}

/** Newest first. */
export async function listEvaluationRuns(
  db: Kysely<DB>,
  workspaceId: string,
  experimentId: string | null,
  first: number,
  after: RunCursor | null,
): Promise<Page<EvaluationRunRow>> {
  let q = db.selectFrom('evaluation_runs').selectAll().where('workspace_id', '=', workspaceId);
  if (experimentId) q = q.where('experiment_id', '=', experimentId);
  if (after) {
    const at = new Date(after.t);
    q = q.where((eb) =>
      eb.or([
        eb('created_at', '<', at),
        eb.and([eb('created_at', '=', at), eb('run_id', '<', after.id)]),
      ]),
    );
  }
  const rows = await q
    .orderBy('created_at', 'desc')
    .orderBy('run_id', 'desc')
    .limit(first + 1)
    .execute();
  return page(rows, first);
}

export async function countEvaluationRuns(
  db: Kysely<DB>,
  workspaceId: string,
  experimentId: string | null,
): Promise<number> {
  let q = db
    .selectFrom('evaluation_runs')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('workspace_id', '=', workspaceId);
  if (experimentId) q = q.where('experiment_id', '=', experimentId);
  return Number((await q.executeTakeFirstOrThrow()).n);
}

async function withAssessments(
  db: Kysely<DB>,
  workspaceId: string,
  runId: string,
  rows: EvaluationRowRow[],
): Promise<EvaluationRowView[]> {
  if (rows.length === 0) return [];
  const assessments = await db
    .selectFrom('assessments')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('run_id', '=', runId)
    .where(
      'row_key',
      'in',
      rows.map((r) => r.row_key),
    )
    .orderBy('created_at')
    .orderBy('assessment_id')
    .execute();
  const byRow = new Map<string, AssessmentRow[]>();
  for (const a of assessments) {
    const list = byRow.get(a.row_key ?? '') ?? [];
    list.push(a);
    byRow.set(a.row_key ?? '', list);
  }
  return rows.map((r) => ({ ...r, assessments: byRow.get(r.row_key) ?? [] }));
}

/** Rows in recording order, after `afterPosition`, with their assessments. */
export async function listEvaluationRows(
  db: Kysely<DB>,
  workspaceId: string,
  runId: string,
  first: number,
  afterPosition: number | null,
): Promise<Page<EvaluationRowView>> {
  let q = db
    .selectFrom('evaluation_rows')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('run_id', '=', runId);
  if (afterPosition !== null) q = q.where('position', '>', afterPosition);
  const rows = await q
    .orderBy('position')
    .limit(first + 1)
    .execute();
  const p = page(rows, first);
  return {
    items: await withAssessments(db, workspaceId, runId, p.items),
    hasNextPage: p.hasNextPage,
  };
}

/** Every row of the run (comparison), with assessments. */
export async function allEvaluationRows(
  db: Kysely<DB>,
  workspaceId: string,
  runId: string,
): Promise<EvaluationRowView[]> {
  const rows = await db
    .selectFrom('evaluation_rows')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('run_id', '=', runId)
    .orderBy('position')
    .execute();
  const views: EvaluationRowView[] = [];
  for (let i = 0; i < rows.length; i += 1000)
    views.push(...(await withAssessments(db, workspaceId, runId, rows.slice(i, i + 1000))));
  return views;
}

export interface ScorerSummary {
  name: string;
  mean: number | null;
  count: number;
  errorCount: number;
}

/**
 * Per scorer (assessment name) of the run: how many assessments, how many carry an error, and the
 * mean of the numeric-able values (value model: true/"yes" 1, false/"no" 0, numbers as is).
 * Registered scorers come first, in their order, then other names alphabetically.
 */
export async function summarizeRun(
  db: Kysely<DB>,
  workspaceId: string,
  run: EvaluationRunRow,
): Promise<ScorerSummary[]> {
  const { rows } = await sql<{ name: string; count: string; errors: string; mean: number | null }>`
    SELECT name, count(*) AS count, count(*) FILTER (WHERE error IS NOT NULL) AS errors,
           avg(CASE jsonb_typeof(value)
                 WHEN 'boolean' THEN CASE WHEN value = 'true'::jsonb THEN 1.0 ELSE 0.0 END
                 WHEN 'number' THEN (value #>> '{}')::float8
                 WHEN 'string' THEN CASE lower(btrim(value #>> '{}')) WHEN 'yes' THEN 1.0 WHEN 'no' THEN 0.0 END
               END)::float8 AS mean
    FROM assessments
    WHERE workspace_id = ${workspaceId} AND run_id = ${run.run_id}
    GROUP BY name`.execute(db);
  const byName = new Map(
    rows.map((r) => [
      r.name,
      {
        name: r.name,
        count: Number(r.count),
        errorCount: Number(r.errors),
        mean: r.mean === null ? null : Number(r.mean),
      },
    ]),
  );
  const names = [
    ...run.scorers,
    ...[...byName.keys()].filter((n) => !run.scorers.includes(n)).sort(),
  ];
  return names.map((name) => byName.get(name) ?? { name, mean: null, count: 0, errorCount: 0 });
}

// --- comparison ------------------------------------------------------------------------------

export type ScoreChangeKind =
  'REGRESSED' | 'IMPROVED' | 'UNCHANGED' | 'CHANGED' | 'ADDED' | 'REMOVED';

export interface ScoreChange {
  name: string;
  base: unknown;
  candidate: unknown;
  change: ScoreChangeKind;
}

export interface RowComparison {
  rowKey: string;
  inputs: unknown;
  base: EvaluationRowView | null;
  candidate: EvaluationRowView | null;
  scores: ScoreChange[];
  regressed: boolean;
  improved: boolean;
}

function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** The newest value per assessment name of a row. */
function scoresOf(row: EvaluationRowView | null): Map<string, unknown> {
  const scores = new Map<string, unknown>();
  for (const a of row?.assessments ?? []) scores.set(a.name, a.value ?? null);
  return scores;
}

/** Higher is better: a numeric-able candidate value below the base value is a regression. */
export function compareScore(name: string, base: Map<string, unknown>, cand: Map<string, unknown>) {
  const hasBase = base.has(name);
  const hasCand = cand.has(name);
  const b = hasBase ? base.get(name) : null;
  const c = hasCand ? cand.get(name) : null;
  let change: ScoreChangeKind;
  if (!hasBase) change = 'ADDED';
  else if (!hasCand) change = 'REMOVED';
  else {
    const nb = numericValue(b);
    const nc = numericValue(c);
    if (nb !== null && nc !== null)
      change = nc < nb ? 'REGRESSED' : nc > nb ? 'IMPROVED' : 'UNCHANGED';
    else change = canonicalJson(b) === canonicalJson(c) ? 'UNCHANGED' : 'CHANGED';
  }
  return { name, base: b ?? null, candidate: c ?? null, change } satisfies ScoreChange;
}

export function compareRows(
  baseRows: readonly EvaluationRowView[],
  candidateRows: readonly EvaluationRowView[],
): RowComparison[] {
  const candidateByKey = new Map(candidateRows.map((r) => [r.row_key, r]));
  const baseByKey = new Map(baseRows.map((r) => [r.row_key, r]));
  const keys = [
    ...baseRows.map((r) => r.row_key),
    ...candidateRows.filter((r) => !baseByKey.has(r.row_key)).map((r) => r.row_key),
  ];
  return keys.map((rowKey) => {
    const base = baseByKey.get(rowKey) ?? null;
    const candidate = candidateByKey.get(rowKey) ?? null;
    const bs = scoresOf(base);
    const cs = scoresOf(candidate);
    const names = [...new Set([...bs.keys(), ...cs.keys()])];
    const scores = names.map((n) => compareScore(n, bs, cs));
    return {
      rowKey,
      inputs: (base ?? candidate)?.inputs ?? null,
      base,
      candidate,
      scores,
      regressed: scores.some((s) => s.change === 'REGRESSED'),
      improved: scores.some((s) => s.change === 'IMPROVED'),
    };
  });
}

/** A row differs when one side is missing or any score is not UNCHANGED. */
export function rowChanged(row: RowComparison): boolean {
  return !row.base || !row.candidate || row.scores.some((s) => s.change !== 'UNCHANGED');
}
