/**
 * The trace mutations the trace and traces pages send (docs/tracing.md, "GraphQL"): tags,
 * metadata, deletion; and the usage page's stats. Each mutation answers the fields the page re-renders at once; the rest follows
 * from the live re-read (`tracesChanged`).
 */

import type { TraceStatsBucket, TraceStatsResult } from '../../lib/graphql/tracing-documents.ts';

const ANNOTATIONS = `id tags { key value } metadata { key value }`;

export const SET_TRACE_TAG = `
  mutation SetTraceTag($traceId: ID!, $key: String!, $value: String!) {
    setTraceTag(traceId: $traceId, key: $key, value: $value) { ${ANNOTATIONS} }
  }`;

export const DELETE_TRACE_TAG = `
  mutation DeleteTraceTag($traceId: ID!, $key: String!) {
    deleteTraceTag(traceId: $traceId, key: $key) { ${ANNOTATIONS} }
  }`;

export const SET_TRACE_METADATA = `
  mutation SetTraceMetadata($traceId: ID!, $key: String!, $value: String!) {
    setTraceMetadata(traceId: $traceId, key: $key, value: $value) { ${ANNOTATIONS} }
  }`;

export const DELETE_TRACE_METADATA = `
  mutation DeleteTraceMetadata($traceId: ID!, $key: String!) {
    deleteTraceMetadata(traceId: $traceId, key: $key) { ${ANNOTATIONS} }
  }`;

/** At most this many ids per call (the API's bound). */
export const DELETE_TRACES_MAX = 1000;

export const DELETE_TRACES = `
  mutation DeleteTraces($traceIds: [ID!]!) {
    deleteTraces(traceIds: $traceIds)
  }`;
export interface DeleteTracesResult {
  deleteTraces: number;
}

/** The API's bounds on tag and metadata keys and values (TRACE_LIMITS). */
export const KEY_MAX = 250;
export const VALUE_MAX = 8000;

const STATS_FIELDS = `key count errorCount errorRate latencyP50Ms latencyP95Ms latencyP99Ms
  inputTokens outputTokens totalTokens cost`;

/** The usage page: totals, a time series, and the roll-ups by model and by user. */
export const USAGE_STATS_QUERY = `
  query UsageStats($filter: String, $groupBy: TraceStatsGroupBy) {
    total: traceStats(filter: $filter, groupBy: NONE) { ${STATS_FIELDS} }
    buckets: traceStats(filter: $filter, groupBy: $groupBy) { ${STATS_FIELDS} }
    byModel: traceStats(filter: $filter, groupBy: MODEL) { ${STATS_FIELDS} }
    byUser: traceStats(filter: $filter, groupBy: USER) { ${STATS_FIELDS} }
  }`;
export interface UsageStatsResult extends TraceStatsResult {
  byUser: TraceStatsBucket[];
}
