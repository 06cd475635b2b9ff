/**
 * Pure helpers of the tracing pages (docs/tracing.md): nanosecond times, the span tree, the
 * waterfall's geometry, chat messages found in span inputs and outputs (OpenAI, Anthropic, OTel
 * GenAI, Vercel AI SDK shapes), exceptions in span events, tokens and cost as text, and the
 * filter strings the pages build. No I/O, no React.
 */

// ---------------------------------------------------------------------------------------------
// Times

/** A decimal nanosecond string (OTLP's int64) as a BigInt; null when it is not one. */
export function parseNs(ns: string | null | undefined): bigint | null {
  if (ns === null || ns === undefined || !/^\d{1,30}$/u.test(ns)) return null;
  return BigInt(ns);
}

/** Nanoseconds (a decimal string) → milliseconds as a float (sub-millisecond digits kept). */
export function nsToMs(ns: string): number {
  const v = parseNs(ns);
  if (v === null) return Number.NaN;
  const whole = v / 1_000_000n;
  const rest = v % 1_000_000n;
  return Number(whole) + Number(rest) / 1e6;
}

/** `ns − baseNs` in milliseconds, exact to the nanosecond before the conversion to a float. */
export function nsDiffMs(ns: string, baseNs: string): number {
  const a = parseNs(ns);
  const b = parseNs(baseNs);
  if (a === null || b === null) return Number.NaN;
  const d = a - b;
  return Number(d / 1_000_000n) + Number(d % 1_000_000n) / 1e6;
}

/**
 * A span or trace latency for people: µs below a millisecond, ms with up to two decimals below a
 * second, then seconds and minutes.
 */
export function formatLatency(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1) return `${Math.round(ms * 1000)} µs`;
  if (ms < 10) return `${trimZeros(ms.toFixed(2))} ms`;
  if (ms < 100) return `${trimZeros(ms.toFixed(1))} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 10) return `${trimZeros(s.toFixed(2))} s`;
  if (s < 60) return `${trimZeros(s.toFixed(1))} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${Math.round(s - m * 60)}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

function trimZeros(text: string): string {
  return text.includes('.') ? text.replace(/\.?0+$/u, '') : text;
}

// ---------------------------------------------------------------------------------------------
// Tokens and cost

export interface TokenUsageLike {
  inputTokens?: number | null;
  outputTokens?: number | null;
  totalTokens?: number | null;
}

const intFormat = new Intl.NumberFormat('en-US');

export function formatCount(n: number | null | undefined): string {
  return n === null || n === undefined || !Number.isFinite(n) ? '—' : intFormat.format(n);
}

/** The total (input + output when the total is missing); null when nothing is known. */
export function totalTokens(usage: TokenUsageLike | null | undefined): number | null {
  if (!usage) return null;
  if (usage.totalTokens !== null && usage.totalTokens !== undefined) return usage.totalTokens;
  if (
    (usage.inputTokens === null || usage.inputTokens === undefined) &&
    (usage.outputTokens === null || usage.outputTokens === undefined)
  )
    return null;
  return (usage.inputTokens ?? 0) + (usage.outputTokens ?? 0);
}

/** "1,200 in · 45 out · 1,245", or "—" without any token count. */
export function formatTokenUsage(usage: TokenUsageLike | null | undefined): string {
  const total = totalTokens(usage);
  if (total === null || !usage) return '—';
  return `${formatCount(usage.inputTokens ?? 0)} in · ${formatCount(usage.outputTokens ?? 0)} out · ${formatCount(total)}`;
}

/** US dollars: cents above a dollar-cent, else four significant digits ($0.0001234 → $0.0001234). */
export function formatCost(usd: number | null | undefined): string {
  if (usd === null || usd === undefined || !Number.isFinite(usd)) return '—';
  if (usd === 0) return '$0';
  const abs = Math.abs(usd);
  if (abs >= 1) return `$${usd.toFixed(2)}`;
  if (abs >= 0.01) return `$${trimZeros(usd.toFixed(4))}`;
  return `$${trimZeros(usd.toPrecision(4))}`;
}

// ---------------------------------------------------------------------------------------------
// Span tree

export interface SpanLike {
  id: string;
  parentId: string | null;
  startTimeUnixNano: string;
  endTimeUnixNano: string | null;
}

export interface SpanNode<S extends SpanLike> {
  span: S;
  children: SpanNode<S>[];
  depth: number;
  /** The span names a parent that is not in the trace (not arrived yet, or dropped). */
  orphan: boolean;
}

function compareSpans(a: SpanLike, b: SpanLike): number {
  const x = parseNs(a.startTimeUnixNano) ?? 0n;
  const y = parseNs(b.startTimeUnixNano) ?? 0n;
  if (x !== y) return x < y ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * The spans of a trace as a forest: children under their parent, ordered by start then id.
 * A span whose parent is missing is a root marked `orphan`; spans caught in a parent cycle
 * (bad data) become roots too, so every span appears exactly once.
 */
export function buildSpanTree<S extends SpanLike>(spans: readonly S[]): SpanNode<S>[] {
  const byId = new Map<string, S>();
  for (const s of spans) if (!byId.has(s.id)) byId.set(s.id, s);
  const sorted = [...byId.values()].sort(compareSpans);
  const children = new Map<string, S[]>();
  const roots: { span: S; orphan: boolean }[] = [];
  for (const s of sorted) {
    const parent = s.parentId && s.parentId !== s.id ? s.parentId : null;
    if (parent === null) roots.push({ span: s, orphan: false });
    else if (!byId.has(parent)) roots.push({ span: s, orphan: true });
    else {
      const list = children.get(parent) ?? [];
      list.push(s);
      children.set(parent, list);
    }
  }
  const placed = new Set<string>();
  const build = (span: S, depth: number, orphan: boolean): SpanNode<S> => {
    placed.add(span.id);
    const node: SpanNode<S> = { span, children: [], depth, orphan };
    for (const child of children.get(span.id) ?? [])
      if (!placed.has(child.id)) node.children.push(build(child, depth + 1, false));
    return node;
  };
  const forest = roots.map((r) => build(r.span, 0, r.orphan));
  // Cycles: spans never reached from a root.
  for (const s of sorted) if (!placed.has(s.id)) forest.push(build(s, 0, true));
  return forest.sort((a, b) => compareSpans(a.span, b.span));
}

export interface SpanRow<S extends SpanLike> {
  node: SpanNode<S>;
  hasChildren: boolean;
  expanded: boolean;
}

/** The tree's visible rows, depth first, skipping the children of collapsed spans. */
export function visibleRows<S extends SpanLike>(
  forest: readonly SpanNode<S>[],
  collapsed: ReadonlySet<string>,
): SpanRow<S>[] {
  const rows: SpanRow<S>[] = [];
  const walk = (node: SpanNode<S>) => {
    const expanded = !collapsed.has(node.span.id);
    rows.push({ node, hasChildren: node.children.length > 0, expanded });
    if (expanded) for (const child of node.children) walk(child);
  };
  for (const root of forest) walk(root);
  return rows;
}

/** The ids of a span's ancestors (nearest first), to expand the way to a selected span. */
export function ancestorIds(spans: readonly SpanLike[], id: string): string[] {
  const parentOf = new Map(spans.map((s) => [s.id, s.parentId]));
  const out: string[] = [];
  const seen = new Set<string>([id]);
  let cur = parentOf.get(id) ?? null;
  while (cur !== null && parentOf.has(cur) && !seen.has(cur)) {
    out.push(cur);
    seen.add(cur);
    cur = parentOf.get(cur) ?? null;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Waterfall

export interface TraceBounds {
  startNs: string;
  /** The latest end (or start, for spans without an end). */
  endNs: string;
  durationMs: number;
}

export function traceBounds(spans: readonly SpanLike[]): TraceBounds | null {
  let lo: bigint | null = null;
  let hi: bigint | null = null;
  for (const s of spans) {
    const start = parseNs(s.startTimeUnixNano);
    if (start === null) continue;
    const end = parseNs(s.endTimeUnixNano) ?? start;
    if (lo === null || start < lo) lo = start;
    if (hi === null || end > hi) hi = end;
  }
  if (lo === null || hi === null) return null;
  const d = hi - lo;
  return {
    startNs: lo.toString(),
    endNs: hi.toString(),
    durationMs: Number(d / 1_000_000n) + Number(d % 1_000_000n) / 1e6,
  };
}

export interface BarGeometry {
  /** Offset from the trace start, in percent of the trace's duration. */
  leftPct: number;
  /** Width in percent (at least `minWidthPct`, so an instant span stays visible). */
  widthPct: number;
  /** Start relative to the trace start, ms. */
  offsetMs: number;
  durationMs: number;
  /** The span has no end yet (still open, or its end was not sent). */
  open: boolean;
}

/** Where a span's bar goes on the waterfall of a trace with these bounds (clamped to 0–100). */
export function barGeometry(span: SpanLike, bounds: TraceBounds, minWidthPct = 0.4): BarGeometry {
  const offsetMs = Math.max(0, nsDiffMs(span.startTimeUnixNano, bounds.startNs) || 0);
  const open = parseNs(span.endTimeUnixNano) === null;
  const durationMs = open
    ? Math.max(0, nsDiffMs(bounds.endNs, span.startTimeUnixNano) || 0)
    : Math.max(0, nsDiffMs(span.endTimeUnixNano!, span.startTimeUnixNano) || 0);
  const total = bounds.durationMs;
  if (!(total > 0)) return { leftPct: 0, widthPct: 100, offsetMs, durationMs, open };
  const leftPct = clamp((offsetMs / total) * 100, 0, 100);
  const rawWidth = (durationMs / total) * 100;
  const widthPct = clamp(
    Math.max(rawWidth, minWidthPct),
    0,
    100 - Math.min(leftPct, 100 - minWidthPct),
  );
  return { leftPct: Math.min(leftPct, 100 - widthPct), widthPct, offsetMs, durationMs, open };
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

/** Tick marks for the waterfall's time axis: about `count` round values from 0 to `totalMs`. */
export function axisTicks(totalMs: number, count = 5): number[] {
  if (!(totalMs > 0)) return [0];
  const raw = totalMs / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let t = 0; t <= totalMs + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

// ---------------------------------------------------------------------------------------------
// Chat messages

export interface ToolCall {
  id: string | null;
  name: string;
  /** The arguments as text (JSON pretty-printed when they are JSON). */
  arguments: string;
}

export interface ChatMessage {
  role: string;
  /** The text of the message (text parts joined by blank lines); "" when it has none. */
  content: string;
  /** Non-text parts (images, files, …) described in a word, e.g. "[image]". */
  attachments: string[];
  toolCalls: ToolCall[];
  /** For a tool result: the call it answers. */
  toolCallId: string | null;
  /** A participant or tool name, when given. */
  name: string | null;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

function asText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === undefined || v === null) return '';
  return JSON.stringify(v, null, 2);
}

/** Tool arguments: a JSON string pretty-printed, an object as JSON, other text as is. */
function argumentsText(v: unknown): string {
  if (typeof v === 'string') {
    try {
      const parsed: unknown = JSON.parse(v);
      if (parsed !== null && typeof parsed === 'object') return JSON.stringify(parsed, null, 2);
    } catch {
      // not JSON
    }
    return v;
  }
  return asText(v);
}

function toolCallOf(v: unknown): ToolCall | null {
  if (!isObj(v)) return null;
  // OpenAI: {id, type: 'function', function: {name, arguments}}
  if (isObj(v.function) && str(v.function.name) !== null)
    return {
      id: str(v.id),
      name: str(v.function.name)!,
      arguments: argumentsText(v.function.arguments),
    };
  // Anthropic tool_use {id, name, input}; OTel GenAI tool_call {id, name, arguments};
  // Vercel AI SDK tool-call {toolCallId, toolName, args|input}
  const name = str(v.name) ?? str(v.toolName);
  if (name === null) return null;
  return {
    id: str(v.id) ?? str(v.toolCallId),
    name,
    arguments: argumentsText(v.input ?? v.arguments ?? v.args ?? null),
  };
}

interface Parts {
  text: string[];
  attachments: string[];
  toolCalls: ToolCall[];
  toolCallId: string | null;
}

/** A content value: a string, or a list of parts (OpenAI, Anthropic, OTel GenAI, AI SDK). */
function readContent(content: unknown, into: Parts): boolean {
  if (content === undefined || content === null) return true;
  if (typeof content === 'string') {
    into.text.push(content);
    return true;
  }
  const parts = Array.isArray(content) ? content : isObj(content) ? [content] : null;
  if (!parts) return false;
  for (const part of parts) {
    if (typeof part === 'string') {
      into.text.push(part);
      continue;
    }
    if (!isObj(part)) return false;
    const type = str(part.type) ?? (str(part.text) !== null ? 'text' : null);
    switch (type) {
      case 'text':
      case 'input_text':
      case 'output_text':
        into.text.push(str(part.text) ?? str(part.content) ?? '');
        break;
      case 'tool_use':
      case 'tool_call':
      case 'tool-call':
      case 'function_call': {
        const call = toolCallOf(part);
        if (call) into.toolCalls.push(call);
        break;
      }
      case 'tool_result':
      case 'tool_call_response':
      case 'tool-result': {
        into.toolCallId ??= str(part.tool_use_id) ?? str(part.id) ?? str(part.toolCallId);
        const result = part.content ?? part.response ?? part.result ?? part.output;
        const nested: Parts = { text: [], attachments: [], toolCalls: [], toolCallId: null };
        if (typeof result === 'string' || Array.isArray(result)) readContent(result, nested);
        else nested.text.push(asText(result));
        into.text.push(...nested.text);
        into.attachments.push(...nested.attachments);
        break;
      }
      case 'reasoning':
      case 'thinking':
        into.text.push(str(part.thinking) ?? str(part.text) ?? str(part.content) ?? '');
        break;
      case null:
        return false;
      default:
        into.attachments.push(`[${type.replace(/_url$/u, '')}]`);
    }
  }
  return true;
}

/** One message object (`{role, content|parts, tool_calls}`), or null when it is not one. */
export function toChatMessage(v: unknown): ChatMessage | null {
  if (!isObj(v)) return null;
  const role = str(v.role);
  if (role === null) return null;
  const parts: Parts = { text: [], attachments: [], toolCalls: [], toolCallId: null };
  const content = v.content ?? v.parts;
  if (!readContent(content, parts)) return null;
  if (Array.isArray(v.tool_calls))
    for (const c of v.tool_calls) {
      const call = toolCallOf(c);
      if (call) parts.toolCalls.push(call);
    }
  if (isObj(v.function_call)) {
    const call = toolCallOf({ function: v.function_call });
    if (call) parts.toolCalls.push(call);
  }
  if (Array.isArray(v.toolCalls))
    for (const c of v.toolCalls) {
      const call = toolCallOf(c);
      if (call) parts.toolCalls.push(call);
    }
  const hasContent = content !== undefined || parts.toolCalls.length > 0;
  if (!hasContent) return null;
  return {
    role: role === 'model' ? 'assistant' : role,
    content: parts.text.filter((t) => t !== '').join('\n\n'),
    attachments: parts.attachments,
    toolCalls: parts.toolCalls,
    toolCallId: str(v.tool_call_id) ?? str(v.toolCallId) ?? parts.toolCallId,
    name: str(v.name),
  };
}

function messageList(v: unknown): ChatMessage[] | null {
  if (!Array.isArray(v) || v.length === 0) return null;
  const out: ChatMessage[] = [];
  for (const item of v) {
    const m = toChatMessage(item);
    if (!m) return null;
    out.push(m);
  }
  return out;
}

function systemMessage(system: unknown): ChatMessage | null {
  const parts: Parts = { text: [], attachments: [], toolCalls: [], toolCallId: null };
  if (system === undefined || system === null || !readContent(system, parts)) return null;
  const content = parts.text.join('\n\n');
  return content
    ? { role: 'system', content, attachments: [], toolCalls: [], toolCallId: null, name: null }
    : null;
}

const textMessage = (role: string, content: string): ChatMessage => ({
  role,
  content,
  attachments: [],
  toolCalls: [],
  toolCallId: null,
  name: null,
});

/**
 * The conversation in a span's inputs or outputs, or null when the value is not one:
 * - a list of messages (`[{role, content}]`, OTel GenAI `[{role, parts}]`, AI SDK);
 * - `{messages: […]}` (OpenAI and Anthropic requests; Anthropic's `system` comes first),
 *   `{contents: […]}` (Gemini), `{prompt: "…"}` (AI SDK's `ai.prompt`, with `system`);
 * - outputs: `{choices: [{message}]}` (OpenAI), one message (Anthropic's response, whose content
 *   blocks include tool_use), `{content: "…"}`, `{text: "…"}`, `{message: {…}}`, `{output: […]}`.
 */
export function extractMessages(value: unknown, side: 'inputs' | 'outputs'): ChatMessage[] | null {
  if (typeof value === 'string') {
    // JSON kept as a string by an exporter.
    const t = value.trim();
    if (t.startsWith('{') || t.startsWith('[')) {
      try {
        return extractMessages(JSON.parse(t), side);
      } catch {
        return null;
      }
    }
    return null;
  }
  const list = messageList(value);
  if (list) return list;
  if (!isObj(value)) return null;
  for (const key of ['messages', 'contents', 'input'] as const) {
    const inner = messageList(value[key]);
    if (inner) {
      const system = systemMessage(value.system ?? value.instructions);
      return system ? [system, ...inner] : inner;
    }
  }
  if (Array.isArray(value.choices) && value.choices.length > 0) {
    const out: ChatMessage[] = [];
    for (const choice of value.choices) {
      if (!isObj(choice)) return null;
      const m = toChatMessage(choice.message ?? choice.delta);
      if (m) out.push(m);
      else if (typeof choice.text === 'string') out.push(textMessage('assistant', choice.text));
      else return null;
    }
    return out;
  }
  if (Array.isArray(value.output)) {
    const out = value.output.map(toChatMessage).filter((m): m is ChatMessage => m !== null);
    if (out.length > 0) return out;
  }
  const single = toChatMessage(value) ?? toChatMessage(value.message);
  if (single) return [single];
  if (side === 'inputs' && typeof value.prompt === 'string') {
    const system = systemMessage(value.system);
    const user = textMessage('user', value.prompt);
    return system ? [system, user] : [user];
  }
  if (side === 'outputs') {
    const keys = Object.keys(value);
    const onlyText = (k: string) =>
      keys.every((key) => key === k || key === 'role' || key === 'finish_reason');
    if (typeof value.content === 'string' && onlyText('content'))
      return [textMessage(str(value.role) ?? 'assistant', value.content)];
    if (typeof value.text === 'string' && onlyText('text'))
      return [textMessage('assistant', value.text)];
  }
  return null;
}

/**
 * The messages a turn of a session adds: a chat request repeats the history, so a turn after the
 * first shows what follows the last assistant message (the new user or tool messages); the first
 * turn shows everything. `earlier` counts the messages left out.
 */
export function newTurnMessages(
  messages: readonly ChatMessage[],
  first: boolean,
): { messages: ChatMessage[]; earlier: number } {
  if (first) return { messages: [...messages], earlier: 0 };
  let last = -1;
  messages.forEach((m, i) => {
    if (m.role === 'assistant') last = i;
  });
  return { messages: messages.slice(last + 1), earlier: last + 1 };
}

// ---------------------------------------------------------------------------------------------
// Events

export interface ExceptionInfo {
  type: string | null;
  message: string | null;
  stacktrace: string | null;
  escaped: boolean;
}

/** An OTel exception event (`exception.type`, `.message`, `.stacktrace`), else null. */
export function exceptionOf(event: { name: string; attributes: unknown }): ExceptionInfo | null {
  if (event.name !== 'exception') return null;
  const a = isObj(event.attributes) ? event.attributes : {};
  const text = (k: string) => (a[k] === undefined || a[k] === null ? null : asText(a[k]));
  return {
    type: text('exception.type'),
    message: text('exception.message'),
    stacktrace: text('exception.stacktrace'),
    escaped: a['exception.escaped'] === true || a['exception.escaped'] === 'true',
  };
}

// ---------------------------------------------------------------------------------------------
// Filters, URLs, stats

/** A string literal of the search grammar (the quote doubled inside). */
export function quoteFilterValue(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** `a AND b` of the parts that are not empty, each parenthesised when it has an OR. */
export function andFilters(...parts: (string | null | undefined)[]): string | null {
  const kept = parts.map((p) => p?.trim() ?? '').filter((p) => p !== '');
  if (kept.length === 0) return null;
  if (kept.length === 1) return kept[0]!;
  return kept.map((p) => `(${p})`).join(' AND ');
}

/** The OTLP/HTTP traces endpoint next to a GraphQL endpoint (`…/graphql` → `…/v1/traces`). */
export function otlpTracesUrl(graphqlUrl: string, origin: string): string {
  const url = new URL(graphqlUrl, origin);
  url.pathname = url.pathname.replace(/\/graphql\/?$/u, '') + '/v1/traces';
  url.search = '';
  url.hash = '';
  return url.toString();
}

/** The tracking URI the SDKs take (the API's origin and base path, without `/graphql`). */
export function trackingUri(graphqlUrl: string, origin: string): string {
  const url = new URL(graphqlUrl, origin);
  const base = url.pathname.replace(/\/graphql\/?$/u, '');
  return `${url.origin}${base}`;
}

/** A model version link `name/3` (or `models:/name/3`) → name and version; null otherwise. */
export function parseModelVersion(text: string): { name: string; version: number } | null {
  const m = /^(?:models:\/)?(.+)\/(\d+)$/u.exec(text.trim());
  return m ? { name: m[1]!, version: Number(m[2]) } : null;
}

export interface StatsBucketLike {
  key: string | null;
  count: number;
  errorRate: number;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  latencyP99Ms: number | null;
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  cost: number | null;
}

/**
 * Time buckets (DAY/HOUR keys: ISO starts) as chart columns, oldest first: x in epoch seconds,
 * then one column per series. Buckets with an unreadable key are left out. With `stepSeconds`, a
 * single bucket gets empty neighbours one step either side.
 */
export function statsColumns<B extends StatsBucketLike>(
  buckets: readonly B[],
  series: readonly ((b: B) => number | null)[],
  stepSeconds?: number,
): [number[], ...(number | null)[][]] {
  const dated = buckets
    .map((b) => ({ b, t: b.key === null ? Number.NaN : Date.parse(b.key) }))
    .filter((d) => Number.isFinite(d.t))
    .sort((x, y) => x.t - y.t);
  const cols: [number[], ...(number | null)[][]] = [
    dated.map((d) => d.t / 1000),
    ...series.map((f) => dated.map((d) => f(d.b))),
  ];
  // One bucket: empty neighbours, so the time axis spans a bucket either side (not years).
  if (stepSeconds !== undefined && cols[0].length === 1) {
    const x = cols[0][0]!;
    return [
      [x - stepSeconds, x, x + stepSeconds],
      ...cols.slice(1).map((c) => [null, c[0]!, null]),
    ] as [number[], ...(number | null)[][]];
  }
  return cols;
}

/** A percentage of a 0–1 rate, e.g. 0.0412 → "4.1%". */
export function formatRate(rate: number | null | undefined): string {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) return '—';
  const pct = rate * 100;
  return `${pct === 0 || pct >= 10 ? Math.round(pct) : trimZeros(pct.toFixed(1))}%`;
}

// ---------------------------------------------------------------------------------------------
// The live list

export interface TraceLike {
  id: string;
  startTimeUnixNano: string;
}

/**
 * Applies pushed traces to a loaded list: known ones are replaced in place; new ones go on top
 * (newest first) when `placeNew`, else they are counted in `unplaced` for a "Refresh" notice.
 */
export function mergeTraces<T extends TraceLike>(
  list: readonly T[],
  pushed: readonly T[],
  placeNew: boolean,
): { list: T[]; added: number; unplaced: number; changed: string[] } {
  const index = new Map(list.map((t, i) => [t.id, i]));
  const next = [...list];
  const fresh = new Map<string, T>();
  const changed: string[] = [];
  for (const t of pushed) {
    const at = index.get(t.id);
    if (at !== undefined) {
      next[at] = t;
      changed.push(t.id);
    } else fresh.set(t.id, t);
  }
  if (!placeNew) return { list: next, added: 0, unplaced: fresh.size, changed };
  const added = [...fresh.values()].sort((a, b) => {
    const x = parseNs(a.startTimeUnixNano) ?? 0n;
    const y = parseNs(b.startTimeUnixNano) ?? 0n;
    return x !== y ? (x > y ? -1 : 1) : a.id > b.id ? -1 : a.id < b.id ? 1 : 0;
  });
  return {
    list: [...added, ...next],
    added: added.length,
    unplaced: 0,
    changed: [...changed, ...added.map((t) => t.id)],
  };
}
