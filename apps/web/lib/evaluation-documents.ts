/**
 * GraphQL operations of the evaluation pages and the trace page's feedback (issue 14,
 * /work/briefs/evaluation-contract.md, packages/schema/schema.graphql), with hand-written result
 * types. Strings only: no backend package is imported.
 */
import type { PageInfo } from './graphql/documents.ts';
import type { ScoreChangeKind } from './evaluation.ts';

export type AssessmentKind = 'FEEDBACK' | 'EXPECTATION';
export type AssessmentSourceType = 'HUMAN' | 'LLM_JUDGE' | 'CODE';

export interface AssessmentSource {
  type: AssessmentSourceType;
  id: string;
}

export interface AssessmentRevision {
  value: unknown;
  rationale: string | null;
  source: AssessmentSource;
  author: string;
  at: number;
}

/** An assessment as an evaluation row shows it. */
export interface RowAssessment {
  id: string;
  name: string;
  value: unknown;
  rationale: string | null;
  error: string | null;
  source: AssessmentSource;
  updatedAt: number;
}

/** An assessment as the trace page shows it. */
export interface Assessment extends RowAssessment {
  traceId: string;
  spanId: string | null;
  kind: AssessmentKind;
  author: string;
  runId: string | null;
  ruleId: string | null;
  metadata: unknown;
  createdAt: number;
  history: AssessmentRevision[];
}

export interface ScorerSummary {
  name: string;
  mean: number | null;
  count: number;
  errorCount: number;
}

/** An evaluation run as the list shows it. */
export interface EvaluationRunSummary {
  runId: string;
  name: string;
  experimentId: string;
  datasetId: string | null;
  datasetVersion: number | null;
  modelId: string | null;
  scorers: string[];
  rowCount: number;
  createdAt: number;
  summary: ScorerSummary[];
  run: { id: string; status: string; experiment: { id: string; name: string } | null };
}

export interface EvaluationRow {
  rowKey: string;
  traceId: string;
  inputs: unknown;
  outputs: unknown;
  expectations: unknown;
  assessments: RowAssessment[];
}

interface Connection<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: PageInfo;
}

const SOURCE = `source { type id }`;
const ROW_ASSESSMENT_FIELDS = `id name value rationale error ${SOURCE} updatedAt`;
const RUN_SUMMARY_FIELDS = `runId name experimentId datasetId datasetVersion modelId scorers rowCount
  createdAt summary { name mean count errorCount }
  run { id status experiment { id name } }`;
const ROW_FIELDS = `rowKey traceId inputs outputs expectations assessments { ${ROW_ASSESSMENT_FIELDS} }`;

export const EVALUATION_RUNS_QUERY = `
  query EvaluationRuns($experimentId: ID, $first: Int, $after: String) {
    evaluationRuns(experimentId: $experimentId, first: $first, after: $after) {
      edges { cursor node { ${RUN_SUMMARY_FIELDS} } }
      pageInfo { hasNextPage endCursor }
      totalCount
    }
  }`;
export interface EvaluationRunsResult {
  evaluationRuns: Connection<EvaluationRunSummary> & { totalCount: number };
}

export const EVALUATION_RUN_SUMMARY_QUERY = `
  query EvaluationRunSummary($runId: ID!) {
    evaluationRun(runId: $runId) { ${RUN_SUMMARY_FIELDS} }
  }`;
export interface EvaluationRunSummaryResult {
  evaluationRun: EvaluationRunSummary | null;
}

export const EVALUATION_RUN_QUERY = `
  query EvaluationRun($runId: ID!, $first: Int, $after: String) {
    evaluationRun(runId: $runId) {
      ${RUN_SUMMARY_FIELDS}
      rows(first: $first, after: $after) {
        edges { cursor node { ${ROW_FIELDS} } }
        pageInfo { hasNextPage endCursor }
      }
    }
  }`;
export interface EvaluationRunResult {
  evaluationRun: (EvaluationRunSummary & { rows: Connection<EvaluationRow> }) | null;
}

export interface ScorerComparison {
  name: string;
  baseMean: number | null;
  candidateMean: number | null;
  regressions: number;
  improvements: number;
}

export interface ScoreChange {
  name: string;
  base: unknown;
  candidate: unknown;
  change: ScoreChangeKind;
}

export interface EvaluationRowComparison {
  rowKey: string;
  inputs: unknown;
  base: EvaluationRow | null;
  candidate: EvaluationRow | null;
  scores: ScoreChange[];
  regressed: boolean;
  improved: boolean;
}

const COMPARED_RUN_FIELDS = `runId name createdAt scorers rowCount run { id experiment { id name } }`;

export const COMPARE_EVALUATION_RUNS_QUERY = `
  query CompareEvaluationRuns($baseRunId: ID!, $candidateRunId: ID!, $onlyChanged: Boolean,
      $first: Int, $after: String) {
    compareEvaluationRuns(baseRunId: $baseRunId, candidateRunId: $candidateRunId,
        onlyChanged: $onlyChanged, first: $first, after: $after) {
      base { ${COMPARED_RUN_FIELDS} }
      candidate { ${COMPARED_RUN_FIELDS} }
      scorers { name baseMean candidateMean regressions improvements }
      rows {
        edges { cursor node {
          rowKey inputs regressed improved
          base { ${ROW_FIELDS} }
          candidate { ${ROW_FIELDS} }
          scores { name base candidate change }
        } }
        pageInfo { hasNextPage endCursor }
      }
    }
  }`;
export interface ComparedRun {
  runId: string;
  name: string;
  createdAt: number;
  scorers: string[];
  rowCount: number;
  run: { id: string; experiment: { id: string; name: string } | null };
}
export interface CompareEvaluationRunsResult {
  compareEvaluationRuns: {
    base: ComparedRun;
    candidate: ComparedRun;
    scorers: ScorerComparison[];
    rows: Connection<EvaluationRowComparison>;
  };
}

export const EVALUATION_RUN_CHANGED = `
  subscription EvaluationRunChanged($runId: ID!) {
    evaluationRunChanged(runId: $runId) { runId }
  }`;
export interface EvaluationRunChangedResult {
  evaluationRunChanged: { runId: string };
}

export const ASSESSMENTS_CHANGED = `
  subscription AssessmentsChanged($traceId: String, $runId: String) {
    assessmentsChanged(traceId: $traceId, runId: $runId) { assessmentId traceId runId }
  }`;
export interface AssessmentsChangedResult {
  assessmentsChanged: { assessmentId: string; traceId: string; runId: string | null };
}

const ASSESSMENT_FIELDS = `id traceId spanId kind name value rationale error ${SOURCE} author runId
  ruleId metadata createdAt updatedAt
  history { value rationale ${SOURCE} author at }`;

export const TRACE_ASSESSMENTS_QUERY = `
  query TraceAssessments($id: ID!) {
    trace(id: $id) { id assessments { ${ASSESSMENT_FIELDS} } }
  }`;
export interface TraceAssessmentsResult {
  trace: { id: string; assessments: Assessment[] } | null;
}

export const LOG_FEEDBACK = `
  mutation LogFeedback($input: LogFeedbackInput!) {
    logFeedback(input: $input) { ${ASSESSMENT_FIELDS} }
  }`;
export interface LogFeedbackResult {
  logFeedback: Assessment;
}

export const UPDATE_ASSESSMENT = `
  mutation UpdateAssessment($input: UpdateAssessmentInput!) {
    updateAssessment(input: $input) { ${ASSESSMENT_FIELDS} }
  }`;
export interface UpdateAssessmentResult {
  updateAssessment: Assessment;
}

// --- online rules (E2) ------------------------------------------------------------------------

export interface ScorerSpec {
  name: string;
  type: string;
  config: unknown;
}

export interface EvaluationRule {
  id: string;
  name: string;
  filter: string | null;
  samplingRate: number;
  scorers: ScorerSpec[];
  active: boolean;
  createdAt: number;
  updatedAt: number;
  scoredTraces: number;
}

export interface ScoreBucket {
  start: number;
  count: number;
  mean: number | null;
  errorCount: number;
}

const RULE_FIELDS = `id name filter samplingRate scorers { name type config } active createdAt
  updatedAt scoredTraces`;

export const EVALUATION_RULES_QUERY = `
  query EvaluationRules($first: Int, $after: String) {
    evaluationRules(first: $first, after: $after) {
      edges { cursor node { ${RULE_FIELDS} } }
      pageInfo { hasNextPage endCursor }
      totalCount
    }
  }`;
export interface EvaluationRulesResult {
  evaluationRules: Connection<EvaluationRule> & { totalCount: number };
}

export const RULE_SCORES_QUERY = `
  query RuleScores($id: ID!, $scorer: String!, $bucket: String, $from: Timestamp) {
    evaluationRule(id: $id) {
      id
      scores(scorer: $scorer, bucket: $bucket, from: $from) { start count mean errorCount }
    }
  }`;
export interface RuleScoresResult {
  evaluationRule: { id: string; scores: ScoreBucket[] } | null;
}

export const CREATE_EVALUATION_RULE = `
  mutation CreateEvaluationRule($input: CreateEvaluationRuleInput!) {
    createEvaluationRule(input: $input) { ${RULE_FIELDS} }
  }`;
export interface CreateEvaluationRuleResult {
  createEvaluationRule: EvaluationRule;
}

export const UPDATE_EVALUATION_RULE = `
  mutation UpdateEvaluationRule($input: UpdateEvaluationRuleInput!) {
    updateEvaluationRule(input: $input) { ${RULE_FIELDS} }
  }`;

export const DELETE_EVALUATION_RULE = `
  mutation DeleteEvaluationRule($ruleId: ID!) { deleteEvaluationRule(ruleId: $ruleId) }`;

export const DATASET_NAME_QUERY = `
  query EvaluationDatasetName($id: ID!) {
    evaluationDataset(id: $id) { id name version recordCount }
  }`;
export interface DatasetNameResult {
  evaluationDataset: { id: string; name: string; version: number; recordCount: number } | null;
}
