import { SPAN_TYPES, type AttributeMap, type SpanType } from '@cairn/events';

/**
 * The normaliser (docs/tracing.md, "Attribute conventions"): Cairn's fields read from the
 * attribute conventions of Cairn (`cairn.*`), MLflow (`mlflow.*`), OpenInference, OTel GenAI and
 * the Vercel AI SDK (`ai.*`). Pure; first match wins, in the documented order. JSON-valued
 * attributes arrive as strings: they are parsed, and kept as strings when they are not JSON.
 */

export interface TokenCounts {
  inputTokens: number | null;
  outputTokens: number | null;
  totalTokens: number | null;
  cachedTokens: number | null;
  reasoningTokens: number | null;
}

export interface NormalisedSpan extends TokenCounts {
  spanType: SpanType;
  inputs: unknown;
  outputs: unknown;
  model: string | null;
  provider: string | null;
}

/** Trace-level fields a span sets (absent keys: the span says nothing). */
export interface TraceFields {
  sessionId?: string;
  userId?: string;
  environment?: string;
  runId?: string;
  modelVersion?: string;
  promptVersions?: string[];
  tags?: Record<string, string>;
  metadata?: Record<string, string>;
}

/** A string that holds JSON becomes its value; anything else is returned as is. */
export function parseJsonish(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const t = value.trimStart();
  const c = t[0];
  if (
    c === '{' ||
    c === '[' ||
    c === '"' ||
    (c !== undefined && (c === '-' || (c >= '0' && c <= '9'))) ||
    t.startsWith('true') ||
    t.startsWith('false') ||
    t.startsWith('null')
  ) {
    try {
      return JSON.parse(value) as unknown;
    } catch {
      return value;
    }
  }
  return value;
}

function present(attrs: AttributeMap, key: string): boolean {
  const v = attrs[key];
  return v !== undefined && v !== null && v !== '';
}

function firstPresent(attrs: AttributeMap, keys: readonly string[]): unknown {
  for (const k of keys) if (present(attrs, k)) return attrs[k];
  return undefined;
}

function firstString(attrs: AttributeMap, keys: readonly string[]): string | null {
  for (const k of keys) {
    const v = parseJsonish(attrs[k]);
    if (typeof v === 'string' && v !== '') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  }
  return null;
}

/** A non-negative integer from a number or a decimal string; null otherwise. */
function toCount(value: unknown): number | null {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) return null;
  return Math.round(n);
}

function firstCount(attrs: AttributeMap, keys: readonly string[]): number | null {
  for (const k of keys) {
    const n = toCount(attrs[k]);
    if (n !== null) return n;
  }
  return null;
}

const SPAN_TYPE_SET: ReadonlySet<string> = new Set(SPAN_TYPES);

function asSpanType(value: unknown): SpanType | null {
  const v = parseJsonish(value);
  if (typeof v !== 'string') return null;
  const upper = v.trim().toUpperCase();
  return SPAN_TYPE_SET.has(upper) ? (upper as SpanType) : null;
}

const GEN_AI_OPERATIONS: Readonly<Record<string, SpanType>> = {
  chat: 'CHAT_MODEL',
  text_completion: 'LLM',
  generate_content: 'LLM',
  embeddings: 'EMBEDDING',
  execute_tool: 'TOOL',
  invoke_agent: 'AGENT',
  create_agent: 'AGENT',
};

function vercelSpanType(operationId: unknown): SpanType | null {
  if (typeof operationId !== 'string') return null;
  if (/^ai\.(generateText|streamText|generateObject|streamObject)(\.|$)/.test(operationId))
    return 'LLM';
  if (operationId === 'ai.toolCall') return 'TOOL';
  if (/^ai\.embed(Many)?(\.|$)/.test(operationId)) return 'EMBEDDING';
  return null;
}

export function spanTypeOf(attrs: AttributeMap): SpanType {
  return (
    asSpanType(attrs['cairn.span.type']) ??
    asSpanType(attrs['mlflow.spanType']) ??
    asSpanType(attrs['openinference.span.kind']) ??
    (typeof attrs['gen_ai.operation.name'] === 'string'
      ? (GEN_AI_OPERATIONS[attrs['gen_ai.operation.name']] ?? null)
      : null) ??
    vercelSpanType(attrs['ai.operationId']) ??
    'UNKNOWN'
  );
}

/**
 * Rebuilds a list from flattened attributes: `<prefix>0.role`, `<prefix>0.content`,
 * `<prefix>1.tool_calls.0.name`, … become `[{role, content}, {tool_calls: [{name}]}]`. `infix`
 * is skipped after the index (OpenInference's `message.`). Null when no key has the prefix.
 */
export function unflattenList(attrs: AttributeMap, prefix: string, infix = ''): unknown[] | null {
  const items: unknown[] = [];
  let found = false;
  for (const key of Object.keys(attrs)) {
    if (!key.startsWith(prefix)) continue;
    const rest = key.slice(prefix.length);
    const dot = rest.indexOf('.');
    if (dot <= 0) continue;
    const index = Number(rest.slice(0, dot));
    if (!Number.isInteger(index) || index < 0 || index > 100_000) continue;
    let path = rest.slice(dot + 1);
    if (infix && path.startsWith(infix)) path = path.slice(infix.length);
    if (path === '') continue;
    found = true;
    items[index] ??= {};
    setPath(items[index] as Record<string, unknown>, path.split('.'), parseJsonish(attrs[key]));
  }
  if (!found) return null;
  return Array.from(items, (x) => x ?? {});
}

function setPath(target: Record<string, unknown> | unknown[], path: string[], value: unknown) {
  const [head, ...rest] = path as [string, ...string[]];
  const container = target as Record<string, unknown>;
  if (rest.length === 0) {
    container[head] = value;
    return;
  }
  const nextIsIndex = /^\d+$/.test(rest[0]!);
  let child = container[head];
  if (typeof child !== 'object' || child === null) {
    child = nextIsIndex ? [] : {};
    container[head] = child;
  }
  setPath(child as Record<string, unknown>, rest, value);
  if (Array.isArray(child)) {
    for (let i = 0; i < child.length; i++) child[i] ??= {};
  }
}

function inputsOf(attrs: AttributeMap): unknown {
  const direct = firstPresent(attrs, [
    'cairn.span.inputs',
    'mlflow.spanInputs',
    'input.value',
    'gen_ai.input.messages',
  ]);
  if (direct !== undefined) return parseJsonish(direct);
  const flattened =
    unflattenList(attrs, 'gen_ai.prompt.') ??
    unflattenList(attrs, 'llm.input_messages.', 'message.');
  if (flattened) return flattened;
  const vercel = firstPresent(attrs, ['ai.prompt.messages', 'ai.prompt']);
  return vercel === undefined ? null : parseJsonish(vercel);
}

function outputsOf(attrs: AttributeMap): unknown {
  const direct = firstPresent(attrs, [
    'cairn.span.outputs',
    'mlflow.spanOutputs',
    'output.value',
    'gen_ai.output.messages',
  ]);
  if (direct !== undefined) return parseJsonish(direct);
  const flattened =
    unflattenList(attrs, 'gen_ai.completion.') ??
    unflattenList(attrs, 'llm.output_messages.', 'message.');
  if (flattened) return flattened;
  const vercel = firstPresent(attrs, ['ai.response.text', 'ai.response.toolCalls']);
  return vercel === undefined ? null : parseJsonish(vercel);
}

/**
 * MLflow's `mlflow.chat.tokenUsage` (its autologgers and `mlflow.start_span`): one JSON object
 * `{input_tokens, output_tokens, total_tokens, cache_read_input_tokens?}`, as keys of its own.
 */
function mlflowUsageOf(attrs: AttributeMap): AttributeMap {
  const usage = parseJsonish(attrs['mlflow.chat.tokenUsage']);
  if (usage === null || typeof usage !== 'object' || Array.isArray(usage)) return {};
  return usage as AttributeMap;
}

export function tokenCountsOf(attrs: AttributeMap): TokenCounts {
  const mlflow = mlflowUsageOf(attrs);
  const inputTokens =
    firstCount(attrs, [
      'gen_ai.usage.input_tokens',
      'gen_ai.usage.prompt_tokens',
      'llm.token_count.prompt',
      'ai.usage.promptTokens',
      'ai.usage.inputTokens',
    ]) ?? firstCount(mlflow, ['input_tokens']);
  const outputTokens =
    firstCount(attrs, [
      'gen_ai.usage.output_tokens',
      'gen_ai.usage.completion_tokens',
      'llm.token_count.completion',
      'ai.usage.completionTokens',
      'ai.usage.outputTokens',
    ]) ?? firstCount(mlflow, ['output_tokens']);
  const totalTokens =
    firstCount(attrs, ['gen_ai.usage.total_tokens', 'llm.token_count.total']) ??
    firstCount(mlflow, ['total_tokens']) ??
    (inputTokens === null && outputTokens === null
      ? null
      : (inputTokens ?? 0) + (outputTokens ?? 0));
  return {
    inputTokens,
    outputTokens,
    totalTokens,
    cachedTokens:
      firstCount(attrs, [
        'gen_ai.usage.cache_read_input_tokens',
        'gen_ai.usage.cached_tokens',
        'llm.token_count.prompt_details.cache_read',
      ]) ?? firstCount(mlflow, ['cache_read_input_tokens']),
    reasoningTokens: firstCount(attrs, [
      'gen_ai.usage.reasoning_tokens',
      'llm.token_count.completion_details.reasoning',
    ]),
  };
}

/** The span's normalised columns (everything but cost). */
export function normaliseSpan(attrs: AttributeMap): NormalisedSpan {
  return {
    spanType: spanTypeOf(attrs),
    inputs: inputsOf(attrs),
    outputs: outputsOf(attrs),
    model: firstString(attrs, [
      'gen_ai.response.model',
      'gen_ai.request.model',
      'llm.model_name',
      'mlflow.llm.model',
      'ai.model.id',
    ]),
    provider: firstString(attrs, [
      'gen_ai.provider.name',
      'gen_ai.system',
      'llm.provider',
      'llm.system',
      'mlflow.llm.provider',
      'ai.model.provider',
    ]),
    ...tokenCountsOf(attrs),
  };
}

function asText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** A JSON object (or a string holding one) as string → string; lists as keys with value "". */
function keyValuesOf(value: unknown, listAsKeys: boolean): Record<string, string> | null {
  const v = parseJsonish(value);
  if (Array.isArray(v)) {
    if (!listAsKeys) return null;
    const out: Record<string, string> = {};
    for (const x of v) {
      const k = asText(x);
      if (k !== null && k !== '') out[k] = '';
    }
    return Object.keys(out).length > 0 ? out : null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    const text = asText(x);
    if (text !== null) out[k] = text;
  }
  return Object.keys(out).length > 0 ? out : null;
}

/** `models:/name/3` or `name/3` → `name/3`. */
export function modelVersionRef(value: string): string | null {
  const ref = value.startsWith('models:/') ? value.slice('models:/'.length) : value;
  return /^.+\/\d+$/.test(ref) ? ref : null;
}

const ENVIRONMENT_KEYS = [
  'cairn.trace.environment',
  'deployment.environment.name',
  'deployment.environment',
];

/** The trace-level fields a span sets (docs/tracing.md), resource attributes for environment. */
export function traceFieldsOf(attrs: AttributeMap, resource: AttributeMap): TraceFields | null {
  const f: TraceFields = {};
  const sessionId = firstString(attrs, [
    'cairn.trace.session_id',
    'session.id',
    'gen_ai.conversation.id',
    'mlflow.trace.session',
  ]);
  if (sessionId !== null) f.sessionId = sessionId;
  const userId = firstString(attrs, [
    'cairn.trace.user_id',
    'user.id',
    'enduser.id',
    'mlflow.trace.user',
  ]);
  if (userId !== null) f.userId = userId;
  const environment =
    firstString(attrs, ENVIRONMENT_KEYS) ?? firstString(resource, ENVIRONMENT_KEYS);
  if (environment !== null) f.environment = environment;
  const runId = firstString(attrs, ['cairn.trace.run_id']);
  if (runId !== null) f.runId = runId;
  const modelVersion = firstString(attrs, ['cairn.trace.model_version']);
  const ref = modelVersion === null ? null : modelVersionRef(modelVersion);
  if (ref !== null) f.modelVersion = ref;
  const prompts = parseJsonish(attrs['cairn.trace.prompt_versions']);
  if (Array.isArray(prompts)) {
    const list = [
      ...new Set(prompts.filter((p): p is string => typeof p === 'string' && p !== '')),
    ];
    if (list.length > 0) f.promptVersions = list;
  }
  const tags =
    (present(attrs, 'cairn.trace.tags') ? keyValuesOf(attrs['cairn.trace.tags'], false) : null) ??
    (present(attrs, 'tag.tags') ? keyValuesOf(attrs['tag.tags'], true) : null);
  if (tags) f.tags = tags;
  const metadata =
    (present(attrs, 'cairn.trace.metadata')
      ? keyValuesOf(attrs['cairn.trace.metadata'], false)
      : null) ?? (present(attrs, 'metadata') ? keyValuesOf(attrs['metadata'], false) : null);
  if (metadata) f.metadata = metadata;
  return Object.keys(f).length > 0 ? f : null;
}

export interface TraceFieldCandidate {
  spanId: string;
  startTimeUnixNano: string;
  fields: TraceFields | null;
}

/** Precedence of spans for trace-level fields: the root first, then earliest start, then span id. */
export function comparePrecedence(
  a: TraceFieldCandidate,
  b: TraceFieldCandidate,
  rootSpanId: string | null,
): number {
  const ra = a.spanId === rootSpanId;
  const rb = b.spanId === rootSpanId;
  if (ra !== rb) return ra ? -1 : 1;
  const sa = BigInt(a.startTimeUnixNano);
  const sb = BigInt(b.startTimeUnixNano);
  if (sa !== sb) return sa < sb ? -1 : 1;
  return a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0;
}

/**
 * The trace's fields from its spans' (the pure statement of the rule the projection's SQL
 * roll-up applies): per field, and per tag or metadata key, the first span in precedence order
 * that sets it.
 */
export function resolveTraceFields(
  spans: readonly TraceFieldCandidate[],
  rootSpanId: string | null,
): TraceFields {
  const ordered = [...spans].sort((a, b) => comparePrecedence(a, b, rootSpanId));
  const out: TraceFields = {};
  const scalar = ['sessionId', 'userId', 'environment', 'runId', 'modelVersion'] as const;
  for (const s of ordered) {
    const f = s.fields;
    if (!f) continue;
    for (const k of scalar) if (out[k] === undefined && f[k] !== undefined) out[k] = f[k];
    if (out.promptVersions === undefined && f.promptVersions) out.promptVersions = f.promptVersions;
    for (const k of ['tags', 'metadata'] as const) {
      const kv = f[k];
      if (!kv) continue;
      const target = (out[k] ??= {});
      for (const [key, value] of Object.entries(kv)) if (!(key in target)) target[key] = value;
    }
  }
  return out;
}

/**
 * The root of a trace: a span without a parent, else one whose parent is not in the trace;
 * among several, the earliest start, then the smallest span id. Null for no spans.
 */
export function pickRoot(
  spans: readonly { spanId: string; parentSpanId: string | null; startTimeUnixNano: string }[],
): string | null {
  const ids = new Set(spans.map((s) => s.spanId));
  const rank = (s: (typeof spans)[number]) =>
    s.parentSpanId === null ? 0 : ids.has(s.parentSpanId) ? 2 : 1;
  let best: (typeof spans)[number] | null = null;
  for (const s of spans) {
    const r = rank(s);
    if (r === 2) continue;
    if (!best) {
      best = s;
      continue;
    }
    const rb = rank(best);
    const sa = BigInt(s.startTimeUnixNano);
    const sb = BigInt(best.startTimeUnixNano);
    if (r < rb || (r === rb && (sa < sb || (sa === sb && s.spanId < best.spanId)))) best = s;
  }
  return best?.spanId ?? null;
}
