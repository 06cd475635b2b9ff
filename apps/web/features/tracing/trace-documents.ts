/**
 * The trace mutations the trace and traces pages send (docs/tracing.md, "GraphQL"): tags,
 * metadata, deletion. Each answers the fields the page re-renders at once; the rest follows
 * from the live re-read (`tracesChanged`).
 */

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
