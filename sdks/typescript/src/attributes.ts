/**
 * Span types and the attribute keys Cairn's normaliser reads (docs/tracing.md, "Attribute
 * conventions"); the same names as the Python SDK's `cairn.tracing._span`.
 */

/** Span types: the GraphQL `SpanType` enum (MLflow's `SpanType`). */
export const SpanType = {
  LLM: 'LLM',
  CHAT_MODEL: 'CHAT_MODEL',
  CHAIN: 'CHAIN',
  TOOL: 'TOOL',
  RETRIEVER: 'RETRIEVER',
  AGENT: 'AGENT',
  EMBEDDING: 'EMBEDDING',
  RERANKER: 'RERANKER',
  PARSER: 'PARSER',
  GUARDRAIL: 'GUARDRAIL',
  EVALUATOR: 'EVALUATOR',
  UNKNOWN: 'UNKNOWN',
} as const;

export type SpanType = (typeof SpanType)[keyof typeof SpanType];

/** A `SpanType` name, or any other string (kept upper-cased; the server shows it as UNKNOWN). */
export type SpanTypeName = SpanType | (string & Record<never, never>);

const SPAN_TYPES = new Set<string>(Object.values(SpanType));

/** `"LLM"` from `"LLM"` or `"llm"`; an unknown name is kept upper-cased (the server maps it to
 * UNKNOWN), an empty one is UNKNOWN. */
export function spanTypeName(spanType: string | undefined | null): string {
  const name = (spanType ?? '').trim().toUpperCase();
  return name === '' ? SpanType.UNKNOWN : name;
}

export function isKnownSpanType(name: string): name is SpanType {
  return SPAN_TYPES.has(name);
}

export const SPAN_TYPE = 'cairn.span.type';
export const SPAN_INPUTS = 'cairn.span.inputs';
export const SPAN_OUTPUTS = 'cairn.span.outputs';
export const TRACE_RUN_ID = 'cairn.trace.run_id';
export const TRACE_TAGS = 'cairn.trace.tags';
export const TRACE_METADATA = 'cairn.trace.metadata';
export const TRACE_SESSION = 'cairn.trace.session_id';
export const TRACE_USER = 'cairn.trace.user_id';
export const TRACE_ENVIRONMENT = 'cairn.trace.environment';
export const TRACE_MODEL_VERSION = 'cairn.trace.model_version';
export const TRACE_PROMPT_VERSIONS = 'cairn.trace.prompt_versions';
