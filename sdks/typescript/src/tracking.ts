/**
 * Experiments, runs, params, metrics and tags: the shapes the client returns, the GraphQL
 * documents it sends (schema: packages/schema/schema.graphql) and the client-side copies of the
 * server's write checks (apps/api/src/limits.ts), so that a queued metric point with a bad key
 * is refused on the caller's line, with the code the server would use. The server stays the
 * authority: anything not checked here is refused by it.
 */
import { invalidArgument } from './errors.ts';

export const LIMITS = {
  experimentName: 500,
  runName: 500,
  paramKey: 250,
  paramValue: 6000,
  tagKey: 250,
  tagValue: 8000,
  metricKey: 250,
  metricsPerBatch: 50_000,
  paramsPerBatch: 1000,
  tagsPerBatch: 1000,
} as const;

const KEY_PATTERN = /^[\w\-. /:]+$/u;

export function validateKey(kind: 'param' | 'metric' | 'tag', key: unknown): string {
  if (typeof key !== 'string')
    throw invalidArgument(`${kind} key must be a string, got ${typeof key}`, { field: kind });
  const max =
    kind === 'param' ? LIMITS.paramKey : kind === 'metric' ? LIMITS.metricKey : LIMITS.tagKey;
  if (key.length === 0) throw invalidArgument(`${kind} key must not be empty`, { field: kind });
  if (key.length > max)
    throw invalidArgument(`${kind} key "${key.slice(0, 40)}…" is longer than ${max} characters`, {
      key,
    });
  if (!KEY_PATTERN.test(key) || key.split('/').includes('..') || key.startsWith('/'))
    throw invalidArgument(
      `Invalid ${kind} key "${key}": use letters, digits, "_", "-", ".", " ", ":" and "/" (no "..", no leading "/")`,
      { key },
    );
  return key;
}

/** Params and tags are strings; numbers and booleans are stringified as MLflow does. */
export function validateValue(kind: 'param' | 'tag', key: string, value: unknown): string {
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean')
    throw invalidArgument(`${kind} "${key}" value must be a string, number or boolean`, { key });
  const text = String(value);
  const max = kind === 'param' ? LIMITS.paramValue : LIMITS.tagValue;
  if (text.length > max)
    throw invalidArgument(`${kind} "${key}" value is longer than ${max} characters`, {
      key,
      length: text.length,
    });
  if (text.includes('\u0000'))
    throw invalidArgument(`${kind} "${key}" value contains a NUL character (\\u0000)`, {
      key,
      field: 'value',
    });
  return text;
}

/** An integer within ±(2^53-1) (steps, timestamps). */
export function checkInteger(what: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value))
    throw invalidArgument(`${what} must be an integer within ±(2^53-1), got ${String(value)}`, {
      field: what,
    });
  return value;
}

export function checkId(what: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '')
    throw invalidArgument(`${what} must be a non-empty string`, { field: what });
  return value;
}

/** A metric value for the wire: JSON has no NaN or infinities, the server takes them as text. */
export function encodeMetricValue(value: number): number | string {
  if (Number.isFinite(value)) return value;
  if (Number.isNaN(value)) return 'NaN';
  return value > 0 ? 'Infinity' : '-Infinity';
}

export function decodeMetricValue(value: unknown): number {
  if (typeof value === 'number') return value;
  if (value === 'NaN') return Number.NaN;
  if (value === 'Infinity') return Number.POSITIVE_INFINITY;
  if (value === '-Infinity') return Number.NEGATIVE_INFINITY;
  return Number(value);
}

// ------------------------------------------------------------------------------- shapes

export type RunStatus = 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';
export type LifecycleStage = 'ACTIVE' | 'DELETED';

export interface Experiment {
  id: string;
  name: string;
  artifactLocation: string | null;
  lifecycleStage: LifecycleStage;
  createdAt: number;
  updatedAt: number;
  tags: Record<string, string>;
}

export interface Metric {
  value: number;
  step: number;
  timestamp: number;
}

export interface Run {
  id: string;
  name: string;
  experimentId: string;
  status: RunStatus;
  startTime: number;
  endTime: number | null;
  lifecycleStage: LifecycleStage;
  parentRunId: string | null;
  params: Record<string, string>;
  tags: Record<string, string>;
  /** The latest value of each metric key. */
  latestMetrics: Record<string, number>;
  /** The latest point of each metric key, with its step and timestamp. */
  latestMetricPoints: Record<string, Metric>;
}

export interface MetricPoint {
  step: number;
  value: number;
  timestamp: number;
}

export interface SearchRunsOptions {
  experimentIds: string[];
  /** MLflow search syntax plus OR, NOT and parentheses (docs/search.md). */
  filter?: string;
  /** Entries like `metrics.loss ASC`. */
  orderBy?: string[];
  /** Runs per page (1–1000, default 100). */
  maxResults?: number;
  /** `nextPageToken` of the previous page. */
  pageToken?: string;
  /** Default ACTIVE. */
  lifecycleStage?: LifecycleStage;
}

export interface SearchRunsResult {
  runs: Run[];
  /** Pass as `pageToken` for the next page; null on the last page. */
  nextPageToken: string | null;
  totalCount: number;
}

interface KeyValue {
  key: string;
  value: string;
}

export interface RawExperiment extends Omit<Experiment, 'tags'> {
  tags: KeyValue[];
}

export interface RawRun {
  id: string;
  name: string;
  experimentId: string;
  status: RunStatus;
  startTime: number;
  endTime: number | null;
  lifecycleStage: LifecycleStage;
  parentRun: { id: string } | null;
  params: KeyValue[];
  tags: KeyValue[];
  latestMetrics: { key: string; value: unknown; step: number; timestamp: number }[];
}

export function toRecord(pairs: readonly KeyValue[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { key, value } of pairs) out[key] = value;
  return out;
}

export function toKeyValues(
  record: Record<string, string> | undefined,
  kind: 'tag' | 'param',
): KeyValue[] | undefined {
  if (record === undefined) return undefined;
  return Object.entries(record).map(([key, value]) => ({
    key: validateKey(kind, key),
    value: validateValue(kind, key, value),
  }));
}

export function toExperiment(raw: RawExperiment): Experiment {
  return { ...raw, tags: toRecord(raw.tags) };
}

export function toRun(raw: RawRun): Run {
  const latestMetrics: Record<string, number> = {};
  const latestMetricPoints: Record<string, Metric> = {};
  for (const m of raw.latestMetrics) {
    const value = decodeMetricValue(m.value);
    latestMetrics[m.key] = value;
    latestMetricPoints[m.key] = { value, step: m.step, timestamp: m.timestamp };
  }
  return {
    id: raw.id,
    name: raw.name,
    experimentId: raw.experimentId,
    status: raw.status,
    startTime: raw.startTime,
    endTime: raw.endTime,
    lifecycleStage: raw.lifecycleStage,
    parentRunId: raw.parentRun?.id ?? null,
    params: toRecord(raw.params),
    tags: toRecord(raw.tags),
    latestMetrics,
    latestMetricPoints,
  };
}

// ---------------------------------------------------------------------------- documents

const EXPERIMENT_FIELDS =
  'id name artifactLocation lifecycleStage createdAt updatedAt tags { key value }';

const RUN_FIELDS = `id name experimentId status startTime endTime lifecycleStage parentRun { id }
  params { key value } tags { key value } latestMetrics { key value step timestamp }`;

export const CREATE_EXPERIMENT = `mutation CairnCreateExperiment($name: String!, $artifactLocation: String, $tags: [KeyValueInput!]) {
  createExperiment(name: $name, artifactLocation: $artifactLocation, tags: $tags) { ${EXPERIMENT_FIELDS} } }`;

export const EXPERIMENT_BY_NAME = `query CairnExperimentByName($name: String!) {
  experimentByName(name: $name) { ${EXPERIMENT_FIELDS} } }`;

export const EXPERIMENT = `query CairnExperiment($id: String!) { experiment(id: $id) { ${EXPERIMENT_FIELDS} } }`;

export const CREATE_RUN = `mutation CairnCreateRun($experimentId: String!, $name: String, $startTime: Timestamp,
    $parentRunId: String, $tags: [KeyValueInput!]) {
  createRun(experimentId: $experimentId, name: $name, startTime: $startTime, parentRunId: $parentRunId,
    tags: $tags) { ${RUN_FIELDS} } }`;

export const UPDATE_RUN = `mutation CairnUpdateRun($runId: String!, $status: RunStatus, $endTime: Timestamp, $name: String) {
  updateRun(runId: $runId, status: $status, endTime: $endTime, name: $name) { ${RUN_FIELDS} } }`;

export const GET_RUN = `query CairnRun($id: String!) { run(id: $id) { ${RUN_FIELDS} } }`;

export const LOG_PARAM = `mutation CairnLogParam($runId: String!, $key: String!, $value: String!) {
  logParam(runId: $runId, key: $key, value: $value) { id } }`;

export const SET_TAG = `mutation CairnSetTag($runId: String!, $key: String!, $value: String!) {
  setTag(runId: $runId, key: $key, value: $value) { id } }`;

export const DELETE_TAG = `mutation CairnDeleteTag($runId: String!, $key: String!) {
  deleteTag(runId: $runId, key: $key) { id } }`;

export const LOG_BATCH = `mutation CairnLogBatch($runId: String!, $metrics: [MetricInput!], $params: [KeyValueInput!],
    $tags: [KeyValueInput!], $sync: Boolean, $idempotencyKey: String) {
  logBatch(runId: $runId, metrics: $metrics, params: $params, tags: $tags, sync: $sync,
    idempotencyKey: $idempotencyKey) { id } }`;

export const METRIC_HISTORY = `query CairnMetricHistory($id: String!, $key: String!, $maxPoints: Int, $startStep: Long, $endStep: Long) {
  run(id: $id) { id metricHistory(key: $key, maxPoints: $maxPoints, startStep: $startStep, endStep: $endStep) {
    step timestamp value } } }`;

export const SEARCH_RUNS = `query CairnSearchRuns($experimentIds: [String!]!, $filter: String, $orderBy: [String!],
    $first: Int, $after: String, $lifecycleStage: LifecycleStage) {
  runs(experimentIds: $experimentIds, filter: $filter, orderBy: $orderBy, first: $first, after: $after,
    lifecycleStage: $lifecycleStage) {
    nodes { ${RUN_FIELDS} } pageInfo { hasNextPage endCursor } totalCount } }`;

export const DELETE_RUN = `mutation CairnDeleteRun($runId: String!) { deleteRun(runId: $runId) { id } }`;

export const LIST_ARTIFACTS = `query CairnListArtifacts($id: String!, $path: String) {
  run(id: $id) { id artifacts(path: $path) { path name isDir size sha256 loggedAt } } }`;

export interface ArtifactEntry {
  /** Relative to the run's artifact root. */
  path: string;
  name: string;
  isDir: boolean;
  size: number | null;
  sha256: string | null;
  loggedAt: number | null;
}
