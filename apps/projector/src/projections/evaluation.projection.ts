import { sql, type Transaction } from 'kysely';
import type { AssessmentRevisionRow, DB } from '@cairn/db';
import {
  ASSESSMENTS_CHANGED_NOTICE,
  EVALUATION_RUNS_CHANGED_NOTICE,
  assertNever,
  type CairnEvent,
  type EventType,
} from '@cairn/events';
import { CHANGES_CHANNEL, encodeChangeNotices } from '../change-notices.ts';
import type { Projection } from '../projection.ts';

const handles = [
  'AssessmentCreated',
  'AssessmentUpdated',
  'AssessmentDeleted',
  'EvaluationDatasetCreated',
  'EvaluationDatasetRecordsAppended',
  'EvaluationRunRegistered',
  'EvaluationRowsRecorded',
] as const satisfies readonly EventType[];

type Handled = Extract<CairnEvent, { type: (typeof handles)[number] }>;

const json = (value: unknown) => JSON.stringify(value);
/** A JSON null is stored as SQL NULL (the column is nullable). */
const jsonOrNull = (value: unknown) => (value === null || value === undefined ? null : json(value));

/** What a batch changed, per workspace: notice keys. */
class Changed {
  readonly assessments = new Map<string, Set<string>>();
  readonly runs = new Map<string, Set<string>>();
  assessment(ws: string, assessmentId: string, traceId: string, runId: string | null): void {
    const set = this.assessments.get(ws) ?? new Set<string>();
    set.add(`${assessmentId}:${traceId}:${runId ?? ''}`);
    this.assessments.set(ws, set);
  }
  run(ws: string, runId: string): void {
    const set = this.runs.get(ws) ?? new Set<string>();
    set.add(runId);
    this.runs.set(ws, set);
  }
}

async function applyOne(trx: Transaction<DB>, event: Handled, changed: Changed): Promise<void> {
  const ws = event.workspaceId;
  const at = new Date(event.recordedAt);
  switch (event.type) {
    case 'AssessmentCreated': {
      const d = event.data;
      await trx
        .insertInto('assessments')
        .values({
          workspace_id: ws,
          assessment_id: d.assessmentId,
          trace_id: d.traceId,
          span_id: d.spanId,
          kind: d.kind,
          name: d.name,
          value: jsonOrNull(d.value),
          rationale: d.rationale,
          error: d.error,
          source_type: d.source.type,
          source_id: d.source.id,
          author: event.actor,
          run_id: d.runId,
          row_key: null,
          rule_id: d.ruleId,
          metadata: json(d.metadata),
          history: '[]',
          created_at: at,
          updated_at: at,
        })
        .onConflict((oc) => oc.columns(['workspace_id', 'assessment_id']).doNothing())
        .execute();
      changed.assessment(ws, d.assessmentId, d.traceId, d.runId);
      if (d.runId) changed.run(ws, d.runId);
      return;
    }
    case 'AssessmentUpdated': {
      const d = event.data;
      const before = await trx
        .selectFrom('assessments')
        .select([
          'value',
          'rationale',
          'source_type',
          'source_id',
          'author',
          'updated_at',
          'run_id',
        ])
        .where('workspace_id', '=', ws)
        .where('assessment_id', '=', d.assessmentId)
        .executeTakeFirst();
      if (!before) return;
      const revision: AssessmentRevisionRow = {
        value: before.value ?? null,
        rationale: before.rationale,
        source: { type: before.source_type, id: before.source_id },
        author: before.author,
        at: before.updated_at.toISOString(),
      };
      await trx
        .updateTable('assessments')
        .set({
          value: jsonOrNull(d.value),
          rationale: d.rationale,
          source_type: d.source.type,
          source_id: d.source.id,
          author: event.actor,
          history: sql`history || ${json([revision])}::jsonb`,
          updated_at: at,
        })
        .where('workspace_id', '=', ws)
        .where('assessment_id', '=', d.assessmentId)
        .execute();
      changed.assessment(ws, d.assessmentId, d.traceId, before.run_id);
      if (before.run_id) changed.run(ws, before.run_id);
      return;
    }
    case 'AssessmentDeleted': {
      const d = event.data;
      const gone = await trx
        .deleteFrom('assessments')
        .where('workspace_id', '=', ws)
        .where('assessment_id', '=', d.assessmentId)
        .returning(['run_id'])
        .executeTakeFirst();
      changed.assessment(ws, d.assessmentId, d.traceId, gone?.run_id ?? null);
      if (gone?.run_id) changed.run(ws, gone.run_id);
      return;
    }
    case 'EvaluationDatasetCreated': {
      const d = event.data;
      await trx
        .insertInto('evaluation_datasets')
        .values({
          workspace_id: ws,
          dataset_id: d.datasetId,
          name: d.name,
          experiment_id: d.experimentId,
          version: 0,
          record_count: 0,
          tags: json(d.tags),
          created_at: at,
          updated_at: at,
        })
        .onConflict((oc) => oc.columns(['workspace_id', 'dataset_id']).doNothing())
        .execute();
      return;
    }
    case 'EvaluationDatasetRecordsAppended': {
      const d = event.data;
      const dataset = await trx
        .selectFrom('evaluation_datasets')
        .select(['record_count'])
        .where('workspace_id', '=', ws)
        .where('dataset_id', '=', d.datasetId)
        .executeTakeFirst();
      if (!dataset) return;
      if (d.records.length > 0) {
        await trx
          .insertInto('evaluation_dataset_records')
          .values(
            d.records.map((r, i) => ({
              workspace_id: ws,
              dataset_id: d.datasetId,
              record_id: r.recordId,
              version: d.version,
              position: dataset.record_count + i,
              inputs: json(r.inputs),
              expectations: json(r.expectations),
              tags: json(r.tags),
              source_trace_id: r.sourceTraceId,
              created_at: at,
            })),
          )
          .onConflict((oc) => oc.columns(['workspace_id', 'dataset_id', 'record_id']).doNothing())
          .execute();
      }
      await trx
        .updateTable('evaluation_datasets')
        .set({
          version: d.version,
          record_count: dataset.record_count + d.records.length,
          updated_at: at,
        })
        .where('workspace_id', '=', ws)
        .where('dataset_id', '=', d.datasetId)
        .execute();
      return;
    }
    case 'EvaluationRunRegistered': {
      const d = event.data;
      await trx
        .insertInto('evaluation_runs')
        .values({
          workspace_id: ws,
          run_id: d.runId,
          experiment_id: d.experimentId,
          scorers: json(d.scorers),
          dataset_id: d.datasetId,
          dataset_version: d.datasetVersion,
          model_id: d.modelId,
          row_count: 0,
          created_at: at,
          updated_at: at,
        })
        .onConflict((oc) => oc.columns(['workspace_id', 'run_id']).doNothing())
        .execute();
      changed.run(ws, d.runId);
      return;
    }
    case 'EvaluationRowsRecorded': {
      const d = event.data;
      const run = await trx
        .selectFrom('evaluation_runs')
        .select(['row_count'])
        .where('workspace_id', '=', ws)
        .where('run_id', '=', d.runId)
        .executeTakeFirst();
      if (!run || d.rows.length === 0) return;
      const inserted = await trx
        .insertInto('evaluation_rows')
        .values(
          d.rows.map((r, i) => ({
            workspace_id: ws,
            run_id: d.runId,
            row_key: r.rowKey,
            position: run.row_count + i,
            trace_id: r.traceId,
            inputs: json(r.inputs),
            outputs: jsonOrNull(r.outputs),
            expectations: jsonOrNull(r.expectations),
            created_at: at,
          })),
        )
        .onConflict((oc) => oc.columns(['workspace_id', 'run_id', 'row_key']).doNothing())
        .returning(['row_key'])
        .execute();
      const scores = d.rows.flatMap((r) => r.scores.map((s) => ({ row: r, score: s })));
      if (scores.length > 0) {
        await trx
          .insertInto('assessments')
          .values(
            scores.map(({ row, score }) => ({
              workspace_id: ws,
              assessment_id: score.assessmentId,
              trace_id: row.traceId,
              span_id: null,
              kind: 'FEEDBACK',
              name: score.name,
              value: jsonOrNull(score.value),
              rationale: score.rationale,
              error: score.error,
              source_type: score.source.type,
              source_id: score.source.id,
              author: event.actor,
              run_id: d.runId,
              row_key: row.rowKey,
              rule_id: null,
              metadata: '{}',
              history: '[]',
              created_at: at,
              updated_at: at,
            })),
          )
          .onConflict((oc) => oc.columns(['workspace_id', 'assessment_id']).doNothing())
          .execute();
        for (const { row, score } of scores)
          changed.assessment(ws, score.assessmentId, row.traceId, d.runId);
      }
      await trx
        .updateTable('evaluation_runs')
        .set({ row_count: run.row_count + inserted.length, updated_at: at })
        .where('workspace_id', '=', ws)
        .where('run_id', '=', d.runId)
        .execute();
      changed.run(ws, d.runId);
      return;
    }
    default:
      assertNever(event);
  }
}

async function notify(trx: Transaction<DB>, changed: Changed): Promise<void> {
  for (const [notice, byWorkspace] of [
    [ASSESSMENTS_CHANGED_NOTICE, changed.assessments],
    [EVALUATION_RUNS_CHANGED_NOTICE, changed.runs],
  ] as const) {
    for (const [ws, keys] of byWorkspace) {
      const pairs = new Map([...keys].map((k) => [k, 0]));
      for (const payload of encodeChangeNotices(notice, ws, pairs)) {
        await sql`SELECT pg_notify(${CHANGES_CHANNEL}, ${payload})`.execute(trx);
      }
    }
  }
}

/** `evaluation`: assessments, datasets and evaluation runs (docs/evaluation.md). */
export const evaluationProjection: Projection = {
  name: 'evaluation',
  version: 1,
  handles,
  tables: [
    'assessments',
    'evaluation_datasets',
    'evaluation_dataset_records',
    'evaluation_runs',
    'evaluation_rows',
  ],
  async apply(trx, events) {
    const changed = new Changed();
    for (const event of events) await applyOne(trx, event as Handled, changed);
    await notify(trx, changed);
  },
};
