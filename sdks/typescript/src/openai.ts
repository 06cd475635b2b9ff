/**
 * Tracing of the `openai` npm client (v4 to v6): `wrapOpenAI(client)`.
 *
 * Wraps `chat.completions.create`, `responses.create`, `embeddings.create` and the legacy
 * `completions.create` of one client instance (in place; the same client is returned). Each
 * call is a CLIENT span (CHAT_MODEL, EMBEDDING, LLM) under the current span, with the same
 * attributes as the Python SDK's `cairn.openai.autolog()`: inputs are the request body, outputs
 * the response; the OTel GenAI attributes carry model, provider and token usage, from which the
 * server computes the cost. A streamed response (`stream: true`) keeps its type; its span ends
 * when the stream is consumed, closed early or fails, with the assembled message (text and tool
 * calls) as outputs, a `first_token` event, and the usage of the final chunk (pass
 * `stream_options: { include_usage: true }`, otherwise OpenAI sends none).
 *
 * The returned `APIPromise` is the client's own (`.withResponse()`, `.asResponse()` keep
 * working): the span hooks into its parsing, so the response body is never read twice.
 */
import { SpanKind } from '@opentelemetry/api';
import { SpanType } from './attributes.ts';
import type { LiveSpan } from './span.ts';
import { startSpan } from './tracing.ts';

const PROVIDER = 'openai';
const WRAPPED = Symbol.for('cairn.openai.wrapped');

type Obj = Record<string, unknown>;

function isObj(value: unknown): value is Obj {
  return value !== null && typeof value === 'object';
}

/** `obj.a.b`; undefined when a step is missing. */
function get(obj: unknown, ...path: string[]): unknown {
  let at: unknown = obj;
  for (const key of path) {
    if (!isObj(at)) return undefined;
    at = at[key];
  }
  return at;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? Math.trunc(value) : undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** OTel GenAI usage attributes (the Python SDK's `usage_attributes`). */
export function usageAttributes(usage: unknown): Record<string, number> {
  if (!isObj(usage)) return {};
  const first = (...values: unknown[]) => values.map(num).find((v) => v !== undefined);
  const out: Record<string, number> = {};
  const entries: [string, number | undefined][] = [
    ['gen_ai.usage.input_tokens', first(usage.prompt_tokens, usage.input_tokens)],
    ['gen_ai.usage.output_tokens', first(usage.completion_tokens, usage.output_tokens)],
    ['gen_ai.usage.total_tokens', num(usage.total_tokens)],
    [
      'gen_ai.usage.cache_read_input_tokens',
      first(
        get(usage, 'prompt_tokens_details', 'cached_tokens'),
        get(usage, 'input_tokens_details', 'cached_tokens'),
      ),
    ],
    [
      'gen_ai.usage.reasoning_tokens',
      first(
        get(usage, 'completion_tokens_details', 'reasoning_tokens'),
        get(usage, 'output_tokens_details', 'reasoning_tokens'),
      ),
    ],
  ];
  for (const [key, value] of entries) if (value !== undefined) out[key] = value;
  const input = out['gen_ai.usage.input_tokens'];
  const output = out['gen_ai.usage.output_tokens'];
  if (out['gen_ai.usage.total_tokens'] === undefined && input !== undefined && output !== undefined)
    out['gen_ai.usage.total_tokens'] = input + output;
  return out;
}

export function responseAttributes(response: unknown): Record<string, unknown> {
  const attrs: Record<string, unknown> = {};
  const model = str(get(response, 'model'));
  if (model) attrs['gen_ai.response.model'] = model;
  const id = str(get(response, 'id'));
  if (id) attrs['gen_ai.response.id'] = id;
  const choices = get(response, 'choices');
  if (Array.isArray(choices)) {
    const reasons = choices
      .map((c) => get(c, 'finish_reason'))
      .filter((r) => typeof r === 'string' && r !== '');
    if (reasons.length > 0) attrs['gen_ai.response.finish_reasons'] = reasons.map(String);
  }
  Object.assign(attrs, usageAttributes(get(response, 'usage')));
  return attrs;
}

export function requestAttributes(operation: string, body: unknown): Record<string, unknown> {
  const attrs: Record<string, unknown> = {
    'gen_ai.operation.name': operation,
    'gen_ai.provider.name': PROVIDER,
  };
  const model = str(get(body, 'model'));
  if (model) attrs['gen_ai.request.model'] = model;
  const params: [string, string][] = [
    ['temperature', 'gen_ai.request.temperature'],
    ['top_p', 'gen_ai.request.top_p'],
    ['max_tokens', 'gen_ai.request.max_tokens'],
    ['max_completion_tokens', 'gen_ai.request.max_tokens'],
    ['max_output_tokens', 'gen_ai.request.max_tokens'],
    ['seed', 'gen_ai.request.seed'],
  ];
  for (const [key, attr] of params) {
    const value = get(body, key);
    if (typeof value === 'number' && Number.isFinite(value)) attrs[attr] = value;
  }
  return attrs;
}

/** Assembles a streamed response: `add` each item, then `result()`. */
export interface Accumulator {
  add(item: unknown): void;
  result(): { outputs: unknown; attributes: Record<string, unknown> };
}

interface ToolCallSlot {
  id: string | null;
  type: string;
  function: { name: string; arguments: string };
}

interface ChoiceEntry {
  index: number;
  role: string | null;
  content: string | null;
  refusal: string | null;
  finishReason: string | null;
  toolCalls: Map<number, ToolCallSlot>;
}

/** Chat completion chunks → one `chat.completion` object (text, tool calls, usage). */
export class ChatStreamAccumulator implements Accumulator {
  private id: string | undefined;
  private model: string | undefined;
  private created: number | undefined;
  private systemFingerprint: string | undefined;
  private usage: unknown;
  private readonly choices = new Map<number, ChoiceEntry>();

  add(chunk: unknown): void {
    this.id = str(get(chunk, 'id')) ?? this.id;
    this.model = str(get(chunk, 'model')) ?? this.model;
    this.created = num(get(chunk, 'created')) ?? this.created;
    this.systemFingerprint = str(get(chunk, 'system_fingerprint')) ?? this.systemFingerprint;
    const usage = get(chunk, 'usage');
    if (isObj(usage)) this.usage = usage;
    const choices = get(chunk, 'choices');
    for (const choice of Array.isArray(choices) ? choices : []) {
      const index = num(get(choice, 'index')) ?? 0;
      let entry = this.choices.get(index);
      if (!entry) {
        entry = {
          index,
          role: null,
          content: null,
          refusal: null,
          finishReason: null,
          toolCalls: new Map(),
        };
        this.choices.set(index, entry);
      }
      const reason = str(get(choice, 'finish_reason'));
      if (reason) entry.finishReason = reason;
      const delta = get(choice, 'delta');
      if (!isObj(delta)) continue;
      const role = str(delta.role);
      if (role) entry.role = role;
      const content = str(delta.content);
      if (content) entry.content = (entry.content ?? '') + content;
      const refusal = str(delta.refusal);
      if (refusal) entry.refusal = (entry.refusal ?? '') + refusal;
      for (const call of Array.isArray(delta.tool_calls) ? (delta.tool_calls as unknown[]) : []) {
        const position = num(get(call, 'index')) ?? 0;
        let slot = entry.toolCalls.get(position);
        if (!slot) {
          slot = { id: null, type: 'function', function: { name: '', arguments: '' } };
          entry.toolCalls.set(position, slot);
        }
        const id = str(get(call, 'id'));
        if (id) slot.id = id;
        const type = str(get(call, 'type'));
        if (type) slot.type = type;
        slot.function.name += str(get(call, 'function', 'name')) ?? '';
        slot.function.arguments += str(get(call, 'function', 'arguments')) ?? '';
      }
    }
  }

  result(): { outputs: unknown; attributes: Record<string, unknown> } {
    const choices = [...this.choices.values()]
      .sort((a, b) => a.index - b.index)
      .map((entry) => {
        const message: Obj = { role: entry.role ?? 'assistant', content: entry.content };
        if (entry.refusal) message.refusal = entry.refusal;
        if (entry.toolCalls.size > 0)
          message.tool_calls = [...entry.toolCalls.entries()]
            .sort(([a], [b]) => a - b)
            .map(([, slot]) => slot);
        return { index: entry.index, message, finish_reason: entry.finishReason };
      });
    const outputs: Obj = {
      id: this.id ?? null,
      object: 'chat.completion',
      created: this.created ?? null,
      model: this.model ?? null,
      choices,
      usage: this.usage ?? null,
    };
    if (this.systemFingerprint) outputs.system_fingerprint = this.systemFingerprint;
    return { outputs, attributes: responseAttributes(outputs) };
  }
}

/** Responses API stream events → the final `response` (from `response.completed`). */
export class ResponsesStreamAccumulator implements Accumulator {
  private response: unknown;
  private readonly text: string[] = [];

  add(event: unknown): void {
    const kind = str(get(event, 'type')) ?? '';
    const response = get(event, 'response');
    if (
      isObj(response) &&
      [
        'response.completed',
        'response.failed',
        'response.incomplete',
        'response.created',
        'response.in_progress',
      ].includes(kind)
    )
      this.response = response;
    else if (kind === 'response.output_text.delta') this.text.push(str(get(event, 'delta')) ?? '');
  }

  result(): { outputs: unknown; attributes: Record<string, unknown> } {
    if (this.response === undefined)
      return { outputs: { output_text: this.text.join('') }, attributes: {} };
    return { outputs: this.response, attributes: responseAttributes(this.response) };
  }
}

interface Target {
  path: string[];
  spanName: string;
  operation: string;
  spanType: SpanType;
  accumulator?: () => Accumulator;
}

const TARGETS: Target[] = [
  {
    path: ['chat', 'completions'],
    spanName: 'Completions',
    operation: 'chat',
    spanType: SpanType.CHAT_MODEL,
    accumulator: () => new ChatStreamAccumulator(),
  },
  {
    path: ['responses'],
    spanName: 'Responses',
    operation: 'chat',
    spanType: SpanType.CHAT_MODEL,
    accumulator: () => new ResponsesStreamAccumulator(),
  },
  {
    path: ['embeddings'],
    spanName: 'Embeddings',
    operation: 'embeddings',
    spanType: SpanType.EMBEDDING,
  },
  {
    path: ['completions'],
    spanName: 'LegacyCompletions',
    operation: 'text_completion',
    spanType: SpanType.LLM,
  },
];

function endOk(span: LiveSpan, outputs: unknown, attributes: Record<string, unknown>): void {
  try {
    span.setAttributes(attributes);
    if (outputs !== undefined) span.setOutputs(outputs);
    span.setStatus('OK');
  } catch {
    // recording must never break the call
  }
  span.end();
}

function endError(span: LiveSpan, error: unknown): void {
  try {
    span.recordException(error);
  } finally {
    span.end();
  }
}

function isStream(value: unknown): value is { iterator: () => AsyncIterator<unknown> } {
  return (
    isObj(value) &&
    typeof (value as { iterator?: unknown }).iterator === 'function' &&
    typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function'
  );
}

/** Makes `stream` (an openai `Stream`) end `span` when it is consumed, closed or fails. */
function traceStream(
  stream: { iterator: () => AsyncIterator<unknown> },
  span: LiveSpan,
  acc: Accumulator,
): void {
  let first = true;
  let done = false;
  const finish = (error?: unknown, failed = false) => {
    if (done) return;
    done = true;
    if (failed) return endError(span, error);
    let result: ReturnType<Accumulator['result']> = { outputs: undefined, attributes: {} };
    try {
      result = acc.result();
    } catch {
      // an unexpected stream shape: end without outputs
    }
    endOk(span, result.outputs, result.attributes);
  };
  const inner = stream.iterator;
  stream.iterator = function (this: unknown) {
    const iterator = inner.call(this);
    async function* traced(): AsyncGenerator<unknown> {
      try {
        for await (const item of { [Symbol.asyncIterator]: () => iterator }) {
          if (first) {
            first = false;
            span.addEvent('first_token');
          }
          try {
            acc.add(item);
          } catch {
            // keep streaming even if one item cannot be read
          }
          yield item;
        }
      } catch (error) {
        finish(error, true);
        throw error;
      } finally {
        finish();
      }
    }
    return traced();
  };
}

function finishResult(span: LiveSpan, result: unknown, target: Target, body: unknown): void {
  try {
    if (target.accumulator && get(body, 'stream') === true && isStream(result)) {
      traceStream(result, span, target.accumulator());
      return;
    }
    endOk(span, result, responseAttributes(result));
  } catch (error) {
    endError(span, error);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return isObj(value) && typeof (value as { then?: unknown }).then === 'function';
}

interface ApiPromiseLike {
  parse: () => Promise<unknown>;
  asResponse?: () => Promise<unknown>;
}

function isApiPromise(value: unknown): value is ApiPromiseLike & PromiseLike<unknown> {
  return isThenable(value) && typeof (value as { parse?: unknown }).parse === 'function';
}

/** Ends `span` when the call's result is known, without reading the body the client reads. */
function observe(result: unknown, span: LiveSpan, target: Target, body: unknown): void {
  if (!isThenable(result)) return finishResult(span, result, target, body);
  if (!isApiPromise(result)) {
    result.then(
      (value) => finishResult(span, value, target, body),
      (error: unknown) => endError(span, error),
    );
    return;
  }
  let hooked = false;
  const parse = result.parse;
  result.parse = function (this: unknown) {
    const parsed = parse.call(this);
    if (!hooked) {
      hooked = true;
      parsed.then(
        (value) => finishResult(span, value, target, body),
        (error: unknown) => endError(span, error),
      );
    }
    return parsed;
  };
  const asResponse = result.asResponse;
  if (typeof asResponse === 'function')
    result.asResponse = function (this: unknown) {
      const response = asResponse.call(this);
      response.then(
        (raw) => {
          // Only the raw response was asked for (the caller reads the body): end without outputs.
          // withResponse() parses first, so `hooked` is set and the parse ends the span.
          queueMicrotask(() => {
            if (!hooked && !span.isEnded)
              endOk(span, undefined, { 'http.response.status_code': get(raw, 'status') });
          });
        },
        (error: unknown) => {
          if (!hooked) endError(span, error);
        },
      );
      return response;
    };
}

function wrapMethod(owner: Obj, target: Target): void {
  const original = owner.create;
  if (typeof original !== 'function' || (original as { [WRAPPED]?: boolean })[WRAPPED]) return;
  const create = original as (this: unknown, ...args: unknown[]) => unknown;
  const traced = function (this: unknown, ...args: unknown[]): unknown {
    const body = args[0];
    const span = startSpan(target.spanName, {
      spanType: target.spanType,
      kind: SpanKind.CLIENT,
      attributes: requestAttributes(target.operation, body),
      inputs: isObj(body) ? body : undefined,
    });
    let result: unknown;
    try {
      result = create.apply(this, args);
    } catch (error) {
      endError(span, error);
      throw error;
    }
    try {
      observe(result, span, target, body);
    } catch (error) {
      endError(span, error);
    }
    return result;
  };
  Object.defineProperty(traced, WRAPPED, { value: true });
  Object.defineProperty(traced, 'name', { value: create.name, configurable: true });
  owner.create = traced;
}

/**
 * Traces the calls of an `openai` client (`new OpenAI(...)`, or an `AzureOpenAI`): wraps its
 * `chat.completions.create`, `responses.create`, `embeddings.create` and `completions.create`
 * in place and returns the same client. Calling it twice is harmless.
 */
export function wrapOpenAI<T extends object>(client: T): T {
  for (const target of TARGETS) {
    const owner = get(client, ...target.path);
    if (isObj(owner)) wrapMethod(owner, target);
  }
  return client;
}
