/**
 * GraphQL operations of the tracing pages (docs/tracing.md, packages/schema/schema.graphql), with
 * hand-written result types. Strings only: no backend package is imported.
 */
import type { KeyValue, PageInfo } from './documents.ts';

export type TraceStatus = 'UNSET' | 'OK' | 'ERROR';
export type SpanType =
  | 'LLM'
  | 'CHAT_MODEL'
  | 'CHAIN'
  | 'TOOL'
  | 'RETRIEVER'
  | 'AGENT'
  | 'EMBEDDING'
  | 'RERANKER'
  | 'PARSER'
  | 'GUARDRAIL'
  | 'EVALUATOR'
  | 'UNKNOWN';
export type SpanKind = 'UNSPECIFIED' | 'INTERNAL' | 'SERVER' | 'CLIENT' | 'PRODUCER' | 'CONSUMER';
export type TraceStatsGroupBy = 'NONE' | 'MODEL' | 'DAY' | 'HOUR' | 'USER' | 'SESSION';

export interface TokenUsage {
  inputTokens: number | null;
  outputTokens: number | null;
  totalTokens: number | null;
  cachedTokens: number | null;
  reasoningTokens: number | null;
}

/** A trace as the traces list shows it. */
export interface TraceSummary {
  id: string;
  name: string;
  status: TraceStatus;
  startTime: number;
  endTime: number | null;
  startTimeUnixNano: string;
  durationMs: number | null;
  sessionId: string | null;
  userId: string | null;
  environment: string | null;
  tags: KeyValue[];
  spanCount: number;
  errorCount: number;
  tokenUsage: TokenUsage;
  cost: number | null;
}

export interface SpanEvent {
  name: string;
  timeUnixNano: string;
  attributes: unknown;
}

export interface SpanLink {
  traceId: string;
  spanId: string;
  attributes: unknown;
}

export interface Span {
  id: string;
  traceId: string;
  parentId: string | null;
  name: string;
  kind: SpanKind;
  spanType: SpanType;
  startTimeUnixNano: string;
  endTimeUnixNano: string | null;
  startTime: number;
  durationMs: number | null;
  status: { code: TraceStatus; message: string | null };
  inputs: unknown;
  outputs: unknown;
  attributes: unknown;
  events: SpanEvent[];
  links: SpanLink[];
  resource: unknown;
  scope: unknown;
  model: string | null;
  provider: string | null;
  tokenUsage: TokenUsage | null;
  cost: number | null;
}

export interface TraceDetail extends TraceSummary {
  endTimeUnixNano: string | null;
  inputs: unknown;
  outputs: unknown;
  metadata: KeyValue[];
  runId: string | null;
  run: { id: string; name: string; experimentId: string } | null;
  modelVersion: string | null;
  promptVersions: string[];
  spans: Span[];
}

/** A trace of a session page: its root inputs and outputs make the conversation. */
export interface SessionTrace {
  id: string;
  name: string;
  status: TraceStatus;
  startTime: number;
  durationMs: number | null;
  inputs: unknown;
  outputs: unknown;
  tokenUsage: TokenUsage;
  cost: number | null;
}

export interface SessionSummary {
  id: string;
  userId: string | null;
  traceCount: number;
  firstTraceAt: number;
  lastTraceAt: number;
  tokenUsage: TokenUsage;
  cost: number | null;
}

export interface SessionDetail extends SessionSummary {
  traces: { totalCount: number; edges: { node: SessionTrace }[]; pageInfo: PageInfo };
}

export interface TraceStatsBucket {
  key: string | null;
  count: number;
  errorCount: number;
  errorRate: number;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  latencyP99Ms: number | null;
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  cost: number | null;
}

export interface ModelPrice {
  id: string;
  modelPattern: string;
  provider: string | null;
  inputPerMillion: number;
  outputPerMillion: number;
  cachedInputPerMillion: number | null;
  effectiveFrom: number;
  builtIn: boolean;
}

export interface ModelPriceInput {
  id?: string | null;
  modelPattern: string;
  provider?: string | null;
  inputPerMillion: number;
  outputPerMillion: number;
  cachedInputPerMillion?: number | null;
  effectiveFrom?: number | null;
}

const TOKENS = `tokenUsage { inputTokens outputTokens totalTokens cachedTokens reasoningTokens }`;
const TRACE_SUMMARY_FIELDS = `id name status startTime endTime startTimeUnixNano durationMs
  sessionId userId environment tags { key value } spanCount errorCount ${TOKENS} cost`;
const SPAN_FIELDS = `id traceId parentId name kind spanType startTimeUnixNano endTimeUnixNano
  startTime durationMs status { code message } inputs outputs attributes
  events { name timeUnixNano attributes } links { traceId spanId attributes } resource scope
  model provider ${TOKENS} cost`;
const TRACE_DETAIL_FIELDS = `${TRACE_SUMMARY_FIELDS} endTimeUnixNano inputs outputs
  metadata { key value } runId run { id name experimentId } modelVersion promptVersions
  spans { ${SPAN_FIELDS} }`;
const SESSION_FIELDS = `id userId traceCount firstTraceAt lastTraceAt ${TOKENS} cost`;
const PRICE_FIELDS = `id modelPattern provider inputPerMillion outputPerMillion
  cachedInputPerMillion effectiveFrom builtIn`;
const STATS_FIELDS = `key count errorCount errorRate latencyP50Ms latencyP95Ms latencyP99Ms
  inputTokens outputTokens totalTokens cost`;

export const TRACES_QUERY = `
  query Traces($filter: String, $orderBy: [String!], $first: Int, $after: String) {
    traces(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
      totalCount
      edges { cursor node { ${TRACE_SUMMARY_FIELDS} } }
      pageInfo { endCursor hasNextPage }
    }
  }`;
export interface TracesResult {
  traces: {
    totalCount: number;
    edges: { cursor: string; node: TraceSummary }[];
    pageInfo: PageInfo;
  };
}

/** The list's live feed: the traces (matching the filter) that changed since the last push. */
export const TRACES_CHANGED = `
  subscription TracesChanged($filter: String) {
    tracesChanged(filter: $filter) { ${TRACE_SUMMARY_FIELDS} }
  }`;
export interface TracesChangedResult {
  tracesChanged: TraceSummary[];
}

/** Traces that changed and are now deleted or outside the filter: the list drops them. */
export const TRACES_LEFT = `
  subscription TracesLeft($filter: String) { tracesLeft(filter: $filter) }`;
export interface TracesLeftResult {
  tracesLeft: string[];
}

/** A light feed for pages that re-read on a push (trace, session, usage pages). */
export const TRACES_CHANGED_IDS = `
  subscription TracesChangedIds($filter: String) {
    tracesChanged(filter: $filter) { id }
  }`;
export interface TracesChangedIdsResult {
  tracesChanged: { id: string }[];
}

export const TRACE_QUERY = `
  query Trace($id: ID!) {
    trace(id: $id) { ${TRACE_DETAIL_FIELDS} }
  }`;
export interface TraceResult {
  trace: TraceDetail | null;
}

export const SESSIONS_QUERY = `
  query Sessions($filter: String, $first: Int, $after: String) {
    sessions(filter: $filter, first: $first, after: $after) {
      totalCount
      edges { cursor node { ${SESSION_FIELDS} } }
      pageInfo { endCursor hasNextPage }
    }
  }`;
export interface SessionsResult {
  sessions: {
    totalCount: number;
    edges: { cursor: string; node: SessionSummary }[];
    pageInfo: PageInfo;
  };
}

export const SESSION_QUERY = `
  query Session($id: ID!, $first: Int) {
    session(id: $id) {
      ${SESSION_FIELDS}
      traces(first: $first) {
        totalCount
        edges { node { id name status startTime durationMs inputs outputs ${TOKENS} cost } }
        pageInfo { endCursor hasNextPage }
      }
    }
  }`;
export interface SessionResult {
  session: SessionDetail | null;
}

export const TRACE_STATS_QUERY = `
  query TraceStats($filter: String, $groupBy: TraceStatsGroupBy) {
    total: traceStats(filter: $filter, groupBy: NONE) { ${STATS_FIELDS} }
    buckets: traceStats(filter: $filter, groupBy: $groupBy) { ${STATS_FIELDS} }
    byModel: traceStats(filter: $filter, groupBy: MODEL) { ${STATS_FIELDS} }
  }`;
export interface TraceStatsResult {
  total: TraceStatsBucket[];
  buckets: TraceStatsBucket[];
  byModel: TraceStatsBucket[];
}

export const MODEL_PRICES_QUERY = `
  query ModelPrices {
    modelPrices { ${PRICE_FIELDS} }
  }`;
export interface ModelPricesResult {
  modelPrices: ModelPrice[];
}

/** The price list again after each change (another tab, the API, the CLI). */
export const MODEL_PRICES_CHANGED = `
  subscription ModelPricesChanged {
    modelPricesChanged { ${PRICE_FIELDS} }
  }`;
export interface ModelPricesChangedResult {
  modelPricesChanged: ModelPrice[];
}

export const SET_MODEL_PRICE = `
  mutation SetModelPrice($input: ModelPriceInput!) {
    setModelPrice(input: $input) { ${PRICE_FIELDS} }
  }`;
export const DELETE_MODEL_PRICE = `
  mutation DeleteModelPrice($id: ID!) {
    deleteModelPrice(id: $id)
  }`;
