import { describe, expect, it } from 'vitest';
import {
  normaliseSpan,
  parseJsonish,
  pickRoot,
  resolveTraceFields,
  traceFieldsOf,
  unflattenList,
  type TraceFieldCandidate,
} from '../src/index.ts';

describe('normaliseSpan: Cairn cairn.*', () => {
  it('reads type, inputs and outputs (JSON strings parsed)', () => {
    expect(
      normaliseSpan({
        'cairn.span.type': 'retriever',
        'cairn.span.inputs': '{"q":"x"}',
        'cairn.span.outputs': 'plain text',
      }),
    ).toMatchObject({ spanType: 'RETRIEVER', inputs: { q: 'x' }, outputs: 'plain text' });
    expect(normaliseSpan({ 'cairn.span.type': 'NOT_A_TYPE' }).spanType).toBe('UNKNOWN');
  });
});

describe('normaliseSpan: MLflow mlflow.*', () => {
  it('reads the JSON-encoded span type, inputs and outputs', () => {
    expect(
      normaliseSpan({
        'mlflow.spanType': '"CHAT_MODEL"',
        'mlflow.spanInputs': '{"messages":[{"role":"user","content":"hi"}]}',
        'mlflow.spanOutputs': '"hello"',
      }),
    ).toMatchObject({
      spanType: 'CHAT_MODEL',
      inputs: { messages: [{ role: 'user', content: 'hi' }] },
      outputs: 'hello',
    });
  });

  it('reads model, provider and token usage as mlflow.openai.autolog writes them (JSON-encoded)', () => {
    expect(
      normaliseSpan({
        'mlflow.spanType': '"CHAT_MODEL"',
        'mlflow.llm.model': '"gpt-4o-mini"',
        'mlflow.llm.provider': '"openai"',
        'mlflow.chat.tokenUsage':
          '{"input_tokens": 9, "output_tokens": 12, "total_tokens": 21, "cache_read_input_tokens": 4}',
      }),
    ).toMatchObject({
      model: 'gpt-4o-mini',
      provider: 'openai',
      inputTokens: 9,
      outputTokens: 12,
      totalTokens: 21,
      cachedTokens: 4,
    });
    // OTel GenAI keys win over MLflow's object; a malformed object counts nothing.
    expect(
      normaliseSpan({
        'gen_ai.usage.input_tokens': 3,
        'mlflow.chat.tokenUsage': '{"input_tokens": 9, "output_tokens": 2}',
      }),
    ).toMatchObject({ inputTokens: 3, outputTokens: 2, totalTokens: 5 });
    expect(normaliseSpan({ 'mlflow.chat.tokenUsage': '[1,2]' })).toMatchObject({
      inputTokens: null,
      totalTokens: null,
    });
  });
});

describe('normaliseSpan: OpenInference', () => {
  it('reads span kind, values, flattened messages, model and token counts', () => {
    const n = normaliseSpan({
      'openinference.span.kind': 'LLM',
      'llm.model_name': 'gpt-4o',
      'llm.provider': 'openai',
      'llm.input_messages.0.message.role': 'system',
      'llm.input_messages.0.message.content': 'be brief',
      'llm.input_messages.1.message.role': 'user',
      'llm.input_messages.1.message.content': 'hi',
      'llm.output_messages.0.message.role': 'assistant',
      'llm.output_messages.0.message.tool_calls.0.tool_call.function.name': 'search',
      'llm.token_count.prompt': 12,
      'llm.token_count.completion': '3',
      'llm.token_count.total': 15,
      'llm.token_count.prompt_details.cache_read': 4,
      'llm.token_count.completion_details.reasoning': 2,
    });
    expect(n).toEqual({
      spanType: 'LLM',
      inputs: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hi' },
      ],
      outputs: [
        { role: 'assistant', tool_calls: [{ tool_call: { function: { name: 'search' } } }] },
      ],
      model: 'gpt-4o',
      provider: 'openai',
      inputTokens: 12,
      outputTokens: 3,
      totalTokens: 15,
      cachedTokens: 4,
      reasoningTokens: 2,
    });
    expect(
      normaliseSpan({
        'openinference.span.kind': 'TOOL',
        'input.value': '{"a":1}',
        'output.value': 'ok',
      }),
    ).toMatchObject({ spanType: 'TOOL', inputs: { a: 1 }, outputs: 'ok' });
    for (const kind of [
      'CHAIN',
      'AGENT',
      'EMBEDDING',
      'RERANKER',
      'GUARDRAIL',
      'EVALUATOR',
      'RETRIEVER',
    ])
      expect(normaliseSpan({ 'openinference.span.kind': kind }).spanType).toBe(kind);
  });
});

describe('normaliseSpan: OTel GenAI', () => {
  it('maps operation names to span types', () => {
    const types = Object.fromEntries(
      [
        'chat',
        'text_completion',
        'generate_content',
        'embeddings',
        'execute_tool',
        'invoke_agent',
        'create_agent',
        'other',
      ].map((op) => [op, normaliseSpan({ 'gen_ai.operation.name': op }).spanType]),
    );
    expect(types).toEqual({
      chat: 'CHAT_MODEL',
      text_completion: 'LLM',
      generate_content: 'LLM',
      embeddings: 'EMBEDDING',
      execute_tool: 'TOOL',
      invoke_agent: 'AGENT',
      create_agent: 'AGENT',
      other: 'UNKNOWN',
    });
  });

  it('rebuilds gen_ai.prompt.N.* / gen_ai.completion.N.* and prefers gen_ai.input.messages', () => {
    const flat = normaliseSpan({
      'gen_ai.prompt.1.role': 'user',
      'gen_ai.prompt.1.content': 'second',
      'gen_ai.prompt.0.role': 'system',
      'gen_ai.prompt.0.content': 'first',
      'gen_ai.completion.0.role': 'assistant',
      'gen_ai.completion.0.content': 'done',
    });
    expect(flat.inputs).toEqual([
      { role: 'system', content: 'first' },
      { role: 'user', content: 'second' },
    ]);
    expect(flat.outputs).toEqual([{ role: 'assistant', content: 'done' }]);
    const structured = normaliseSpan({
      'gen_ai.input.messages': '[{"role":"user","parts":[{"type":"text","content":"hi"}]}]',
      'gen_ai.output.messages': [{ role: 'assistant', parts: [] }],
      'gen_ai.prompt.0.content': 'ignored',
    });
    expect(structured.inputs).toEqual([{ role: 'user', parts: [{ type: 'text', content: 'hi' }] }]);
    expect(structured.outputs).toEqual([{ role: 'assistant', parts: [] }]);
  });

  it('reads model (response before request), provider and usage; total defaults to input + output', () => {
    expect(
      normaliseSpan({
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.response.model': 'gpt-4o-2024-08-06',
        'gen_ai.provider.name': 'openai',
        'gen_ai.system': 'ignored',
        'gen_ai.usage.prompt_tokens': 10,
        'gen_ai.usage.completion_tokens': 5,
        'gen_ai.usage.cache_read_input_tokens': 2,
        'gen_ai.usage.reasoning_tokens': 1,
      }),
    ).toMatchObject({
      model: 'gpt-4o-2024-08-06',
      provider: 'openai',
      inputTokens: 10,
      outputTokens: 5,
      totalTokens: 15,
      cachedTokens: 2,
      reasoningTokens: 1,
    });
    expect(
      normaliseSpan({
        'gen_ai.usage.input_tokens': 7,
        'gen_ai.usage.total_tokens': 99,
        'gen_ai.system': 'anthropic',
      }),
    ).toMatchObject({ inputTokens: 7, outputTokens: null, totalTokens: 99, provider: 'anthropic' });
    expect(
      normaliseSpan({ 'gen_ai.usage.input_tokens': -1, 'gen_ai.usage.output_tokens': 'x' }),
    ).toMatchObject({
      inputTokens: null,
      outputTokens: null,
      totalTokens: null,
    });
  });
});

describe('normaliseSpan: Vercel AI SDK ai.*', () => {
  it('reads operation ids, prompt, response, model and usage', () => {
    expect(
      normaliseSpan({
        'ai.operationId': 'ai.streamText.doStream',
        'ai.model.id': 'gpt-4o-mini',
        'ai.model.provider': 'openai.chat',
        'ai.prompt.messages': '[{"role":"user","content":"hi"}]',
        'ai.response.text': 'hello',
        'ai.usage.inputTokens': 3,
        'ai.usage.outputTokens': 4,
      }),
    ).toEqual({
      spanType: 'LLM',
      inputs: [{ role: 'user', content: 'hi' }],
      outputs: 'hello',
      model: 'gpt-4o-mini',
      provider: 'openai.chat',
      inputTokens: 3,
      outputTokens: 4,
      totalTokens: 7,
      cachedTokens: null,
      reasoningTokens: null,
    });
    expect(normaliseSpan({ 'ai.operationId': 'ai.toolCall' }).spanType).toBe('TOOL');
    expect(normaliseSpan({ 'ai.operationId': 'ai.embedMany' }).spanType).toBe('EMBEDDING');
    expect(
      normaliseSpan({ 'ai.operationId': 'ai.generateText', 'ai.prompt': '{"prompt":"p"}' }).inputs,
    ).toEqual({
      prompt: 'p',
    });
    expect(
      normaliseSpan({ 'ai.response.toolCalls': '[{"toolName":"t"}]', 'ai.usage.promptTokens': 1 })
        .outputs,
    ).toEqual([{ toolName: 't' }]);
  });

  it('follows the documented order across families: cairn first, then mlflow, OpenInference, GenAI, ai.*', () => {
    expect(
      normaliseSpan({
        'cairn.span.type': 'AGENT',
        'mlflow.spanType': '"TOOL"',
        'openinference.span.kind': 'LLM',
        'gen_ai.operation.name': 'chat',
        'ai.operationId': 'ai.toolCall',
      }).spanType,
    ).toBe('AGENT');
    expect(
      normaliseSpan({ 'openinference.span.kind': 'LLM', 'gen_ai.operation.name': 'chat' }).spanType,
    ).toBe('LLM');
    expect(normaliseSpan({}).spanType).toBe('UNKNOWN');
    expect(normaliseSpan({})).toMatchObject({
      inputs: null,
      outputs: null,
      model: null,
      provider: null,
    });
  });
});

describe('trace-level fields', () => {
  it('reads session, user, environment (resource too), links, tags and metadata', () => {
    expect(
      traceFieldsOf(
        {
          'session.id': 's',
          'cairn.trace.session_id': 'cairn-s',
          'enduser.id': 'u',
          'cairn.trace.run_id': 'r1',
          'cairn.trace.model_version': 'models:/classifier/3',
          'cairn.trace.prompt_versions': '["prompts:/a/1","prompts:/b/2"]',
          'cairn.trace.tags': '{"a":"1","n":2}',
          'tag.tags': ['ignored'],
          metadata: '{"m":"v"}',
        },
        { 'deployment.environment': 'staging' },
      ),
    ).toEqual({
      sessionId: 'cairn-s',
      userId: 'u',
      environment: 'staging',
      runId: 'r1',
      modelVersion: 'classifier/3',
      promptVersions: ['prompts:/a/1', 'prompts:/b/2'],
      tags: { a: '1', n: '2' },
      metadata: { m: 'v' },
    });
    expect(
      traceFieldsOf(
        {
          'gen_ai.conversation.id': 'conv',
          'mlflow.trace.user': 'mu',
          'tag.tags': '["x","y"]',
          'deployment.environment.name': 'prod',
          'cairn.trace.model_version': 'name/7',
        },
        { 'deployment.environment': 'ignored' },
      ),
    ).toEqual({
      sessionId: 'conv',
      userId: 'mu',
      environment: 'prod',
      modelVersion: 'name/7',
      tags: { x: '', y: '' },
    });
    expect(traceFieldsOf({ 'mlflow.trace.session': 'ms', 'user.id': 'uu' }, {})).toEqual({
      sessionId: 'ms',
      userId: 'uu',
    });
    expect(traceFieldsOf({ 'cairn.trace.model_version': 'not a ref' }, {})).toBeNull();
    expect(traceFieldsOf({}, {})).toBeNull();
  });

  it('resolves conflicts: the root first, then the earliest start, ties by span id; per tag key', () => {
    const spans: TraceFieldCandidate[] = [
      { spanId: 'b', startTimeUnixNano: '5', fields: { userId: 'b', tags: { k: 'b', only: 'b' } } },
      {
        spanId: 'a',
        startTimeUnixNano: '5',
        fields: { userId: 'a', sessionId: 'a', tags: { k: 'a' } },
      },
      { spanId: 'root', startTimeUnixNano: '9', fields: { sessionId: 'root' } },
      { spanId: 'early', startTimeUnixNano: '1', fields: null },
    ];
    expect(resolveTraceFields(spans, 'root')).toEqual({
      sessionId: 'root',
      userId: 'a',
      tags: { k: 'a', only: 'b' },
    });
    expect(resolveTraceFields(spans, null)).toEqual({
      sessionId: 'a',
      userId: 'a',
      tags: { k: 'a', only: 'b' },
    });
  });

  it('picks the root: no parent first, else a parent outside the trace, earliest, then span id', () => {
    const s = (spanId: string, parentSpanId: string | null, start: string) => ({
      spanId,
      parentSpanId,
      startTimeUnixNano: start,
    });
    expect(pickRoot([s('c', 'r', '1'), s('r', null, '5'), s('o', 'missing', '0')])).toBe('r');
    expect(pickRoot([s('c', 'o2', '3'), s('o2', 'missing', '2'), s('o1', 'gone', '2')])).toBe('o1');
    expect(pickRoot([s('x', 'y', '1'), s('y', 'x', '1')])).toBeNull();
    expect(pickRoot([])).toBeNull();
  });
});

describe('helpers', () => {
  it('parseJsonish parses JSON strings and keeps other values', () => {
    expect(parseJsonish('{"a":1}')).toEqual({ a: 1 });
    expect(parseJsonish('[1]')).toEqual([1]);
    expect(parseJsonish('12')).toBe(12);
    expect(parseJsonish('{not json')).toBe('{not json');
    expect(parseJsonish('hello')).toBe('hello');
    expect(parseJsonish(5)).toBe(5);
  });

  it('unflattenList fills gaps and nests dotted paths', () => {
    expect(unflattenList({ 'p.2.role': 'x', 'p.0.a.b': 1, other: 1 }, 'p.')).toEqual([
      { a: { b: 1 } },
      {},
      { role: 'x' },
    ]);
    expect(unflattenList({ other: 1 }, 'p.')).toBeNull();
  });
});
