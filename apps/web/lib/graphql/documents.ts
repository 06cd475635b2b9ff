/**
 * The GraphQL operations of the dashboard (packages/schema/schema.graphql), with hand-written
 * result types. Strings only: no backend package is imported.
 */
import type { WireMetricValue } from '../metric-values.ts';
import type { WirePoint } from '../series.ts';

export type RunStatus = 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';
export type LifecycleStage = 'ACTIVE' | 'DELETED';

export interface KeyValue {
  key: string;
  value: string;
}

export interface Experiment {
  id: string;
  name: string;
  lifecycleStage: LifecycleStage;
  createdAt: number;
  updatedAt: number;
  artifactLocation: string | null;
  tags: KeyValue[];
}

export interface LatestMetric {
  key: string;
  value: WireMetricValue;
  step: number;
  timestamp: number;
}

/** A run as the runs table shows it. */
export interface RunSummary {
  id: string;
  name: string;
  status: RunStatus;
  startTime: number;
  endTime: number | null;
  experimentId: string;
  lifecycleStage: LifecycleStage;
  parentRun: { id: string } | null;
  params: KeyValue[];
  tags: KeyValue[];
  latestMetrics: LatestMetric[];
}

export interface RunDetail extends RunSummary {
  metricKeys: string[];
  childRuns: { id: string; name: string; status: RunStatus }[];
  source: { gitCommit: string | null; entryPoint: string | null; sourceType: string | null };
  experiment: { id: string; name: string } | null;
}

export interface PageInfo {
  endCursor: string | null;
  hasNextPage: boolean;
}

const EXPERIMENT_FIELDS = `id name lifecycleStage createdAt updatedAt artifactLocation tags { key value }`;
const RUN_SUMMARY_FIELDS = `id name status startTime endTime experimentId lifecycleStage parentRun { id }
  params { key value } tags { key value } latestMetrics { key value step timestamp }`;
const RUN_DETAIL_FIELDS = `${RUN_SUMMARY_FIELDS} metricKeys
  childRuns { id name status } source { gitCommit entryPoint sourceType } experiment { id name }`;

export const EXPERIMENTS_QUERY = `
  query Experiments($filter: ExperimentFilter, $first: Int, $after: String) {
    experiments(filter: $filter, first: $first, after: $after) {
      totalCount
      edges { cursor node { ${EXPERIMENT_FIELDS} } }
      pageInfo { endCursor hasNextPage }
    }
  }`;
export interface ExperimentsResult {
  experiments: {
    totalCount: number;
    edges: { cursor: string; node: Experiment }[];
    pageInfo: PageInfo;
  };
}

export const EXPERIMENT_QUERY = `
  query Experiment($id: String!) { experiment(id: $id) { ${EXPERIMENT_FIELDS} } }`;
export interface ExperimentResult {
  experiment: Experiment | null;
}

export const CREATE_EXPERIMENT = `
  mutation CreateExperiment($name: String!) { createExperiment(name: $name) { ${EXPERIMENT_FIELDS} } }`;
export const RENAME_EXPERIMENT = `
  mutation RenameExperiment($id: String!, $name: String!) {
    renameExperiment(id: $id, name: $name) { ${EXPERIMENT_FIELDS} }
  }`;
export const DELETE_EXPERIMENT = `
  mutation DeleteExperiment($id: String!) { deleteExperiment(id: $id) { ${EXPERIMENT_FIELDS} } }`;
export const RESTORE_EXPERIMENT = `
  mutation RestoreExperiment($id: String!) { restoreExperiment(id: $id) { ${EXPERIMENT_FIELDS} } }`;

export const RUNS_QUERY = `
  query Runs($experimentIds: [String!]!, $filter: String, $orderBy: [String!], $first: Int, $after: String) {
    runs(experimentIds: $experimentIds, filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
      totalCount
      edges { cursor node { ${RUN_SUMMARY_FIELDS} } }
      pageInfo { endCursor hasNextPage }
    }
  }`;
export interface RunsResult {
  runs: {
    totalCount: number;
    edges: { cursor: string; node: RunSummary }[];
    pageInfo: PageInfo;
  };
}

/** Ids suffice: the experiments page re-reads its loaded rows (order and filter stay the server's). */
export const EXPERIMENTS_CHANGED = `
  subscription ExperimentsChanged { experimentsChanged { ids } }`;

export const RUNS_CHANGED = `
  subscription RunsChanged($experimentId: String!) {
    runsChanged(experimentId: $experimentId) { experimentId runs { ${RUN_SUMMARY_FIELDS} } }
  }`;
export interface RunsChangedResult {
  runsChanged: { experimentId: string; runs: RunSummary[] };
}

export const RUN_QUERY = `query Run($id: String!) { run(id: $id) { ${RUN_DETAIL_FIELDS} } }`;
export interface RunResult {
  run: RunDetail | null;
}

export const RUN_CHANGED = `
  subscription RunChanged($runId: String!) { runChanged(runId: $runId) { ${RUN_DETAIL_FIELDS} } }`;
export interface RunChangedResult {
  runChanged: RunDetail | null;
}

export const METRIC_HISTORY_QUERY = `
  query MetricHistory($id: String!, $key: String!, $maxPoints: Int, $startStep: Long, $endStep: Long) {
    run(id: $id) {
      id
      metricHistory(key: $key, maxPoints: $maxPoints, startStep: $startStep, endStep: $endStep) {
        step timestamp value
      }
    }
  }`;
export interface MetricHistoryResult {
  run: { id: string; metricHistory: WirePoint[] } | null;
}

export const METRIC_HISTORIES_QUERY = `
  query MetricHistories($runIds: [String!]!, $keys: [String!]!, $maxPoints: Int) {
    metricHistories(runIds: $runIds, keys: $keys, maxPoints: $maxPoints) {
      runId key points { step timestamp value }
    }
  }`;
export interface MetricHistoriesResult {
  metricHistories: { runId: string; key: string; points: WirePoint[] }[];
}

export const METRICS_LOGGED = `
  subscription MetricsLogged($runId: String!, $keys: [String!]) {
    metricsLogged(runId: $runId, keys: $keys) { runId points { key step timestamp value } }
  }`;
export interface MetricsLoggedResult {
  metricsLogged: { runId: string; points: (WirePoint & { key: string })[] };
}

/** Several runs in one request (compare view): `r0: run(id: $r0) { … }`, at most 20. */
export function compareRunsQuery(count: number): string {
  const vars = Array.from({ length: count }, (_, i) => `$r${i}: String!`).join(', ');
  const fields = Array.from(
    { length: count },
    (_, i) => `r${i}: run(id: $r${i}) { ${RUN_SUMMARY_FIELDS} metricKeys }`,
  ).join('\n');
  return `query CompareRuns(${vars}) {\n${fields}\n}`;
}
export type CompareRun = RunSummary & { metricKeys: string[] };
