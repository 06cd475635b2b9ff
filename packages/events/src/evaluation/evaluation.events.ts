import { z } from 'zod';
import { entityId, keyValue } from '../common.ts';

/**
 * Evaluation events (docs/evaluation.md). Streams: `assessment-<assessmentId>` (one per
 * assessment: created, updated, deleted), `evaluation-dataset-<datasetId>` (created, then one
 * event per append: the stream version allocates dataset versions), `evaluation-run-<runId>`
 * (registration, then one event per recordEvaluationRows call carrying the rows and their score
 * assessments), `evaluation-rule-<ruleId>` (online rules, see E2's events below).
 */

/** 32 lowercase hex characters: OTLP trace id. */
const traceRef = z.string().regex(/^[0-9a-f]{32}$/, 'must be 32 lowercase hex characters');
const spanRef = z.string().regex(/^[0-9a-f]{16}$/, 'must be 16 lowercase hex characters');

export const ASSESSMENT_KINDS = ['FEEDBACK', 'EXPECTATION'] as const;
export const assessmentKind = z.enum(ASSESSMENT_KINDS);
export type AssessmentKind = z.infer<typeof assessmentKind>;

export const ASSESSMENT_SOURCE_TYPES = ['HUMAN', 'LLM_JUDGE', 'CODE'] as const;
export const assessmentSource = z.object({
  type: z.enum(ASSESSMENT_SOURCE_TYPES),
  id: z.string(),
});
export type AssessmentSource = z.infer<typeof assessmentSource>;

/** Any JSON value; null means "no value" (a scorer failure carries `error` instead). */
export const assessmentValue = z.json();

export const assessmentCreatedV1 = z.object({
  assessmentId: entityId,
  traceId: traceRef,
  spanId: spanRef.nullable(),
  kind: assessmentKind,
  name: z.string(),
  value: assessmentValue,
  rationale: z.string().nullable(),
  error: z.string().nullable(),
  source: assessmentSource,
  /** Evaluation run that produced it (offline evaluation), or null. */
  runId: entityId.nullable(),
  /** Online evaluation rule that produced it, or null. */
  ruleId: entityId.nullable(),
  metadata: z.record(z.string(), z.json()),
});

/**
 * An override: the new value, rationale and source. The previous ones stay in the history
 * (the projection keeps them; the event log is the full record). The author is the actor.
 */
export const assessmentUpdatedV1 = z.object({
  assessmentId: entityId,
  traceId: traceRef,
  value: assessmentValue,
  rationale: z.string().nullable(),
  source: assessmentSource,
});

export const assessmentDeletedV1 = z.object({
  assessmentId: entityId,
  traceId: traceRef,
});

export const datasetRecord = z.object({
  recordId: entityId,
  inputs: z.record(z.string(), z.json()),
  expectations: z.record(z.string(), z.json()),
  tags: z.record(z.string(), z.json()),
  sourceTraceId: traceRef.nullable(),
});
export type DatasetRecordData = z.infer<typeof datasetRecord>;

export const evaluationDatasetCreatedV1 = z.object({
  datasetId: entityId,
  name: z.string(),
  experimentId: entityId.nullable(),
  tags: z.array(keyValue),
});

/** Version n+1 of the dataset: these records are added (earlier records stay). */
export const evaluationDatasetRecordsAppendedV1 = z.object({
  datasetId: entityId,
  version: z.number().int().positive(),
  records: z.array(datasetRecord),
});

export const evaluationRunRegisteredV1 = z.object({
  runId: entityId,
  experimentId: entityId,
  scorers: z.array(z.string()),
  datasetId: entityId.nullable(),
  datasetVersion: z.number().int().positive().nullable(),
  modelId: z.string().nullable(),
});

export const evaluationScore = z.object({
  assessmentId: entityId,
  name: z.string(),
  value: assessmentValue,
  rationale: z.string().nullable(),
  error: z.string().nullable(),
  source: assessmentSource,
});

export const evaluationRow = z.object({
  rowKey: z.string(),
  traceId: traceRef,
  inputs: z.json(),
  outputs: z.json(),
  expectations: z.json(),
  /** Stored as FEEDBACK assessments on `traceId` with `runId` set. */
  scores: z.array(evaluationScore),
});
export type EvaluationRowData = z.infer<typeof evaluationRow>;

/** Rows of one recordEvaluationRows call (only rowKeys the run did not have yet). */
export const evaluationRowsRecordedV1 = z.object({
  runId: entityId,
  rows: z.array(evaluationRow),
});

/**
 * Change notices of the evaluation projection (besides the per-stream ones every projection
 * emits): `p` is one of these, `s` holds `[key, 0]` pairs. Assessments: key
 * `<assessmentId>:<traceId>:<runId or empty>`; runs: key `<runId>`.
 */
export const ASSESSMENTS_CHANGED_NOTICE = 'evaluation:assessments';
export const EVALUATION_RUNS_CHANGED_NOTICE = 'evaluation:runs';
