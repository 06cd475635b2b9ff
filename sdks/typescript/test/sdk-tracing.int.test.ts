/**
 * @cairn/sdk against a real Cairn API (embedded PostgreSQL, the `traces` projection): spans from
 * `trace`/`withSpan` and from `wrapOpenAI` calls to a local OpenAI-compatible server (fixed
 * answers and token usage, streaming too), read back through GraphQL `trace(id)` with
 * `getTrace`: the tree, span types, inputs/outputs, token usage and cost (the shipped default
 * prices).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, randomWorkspaceId } from '@cairn/testing';
import { startApiHarness, type ApiHarness } from '../../../apps/api/test/helpers/api-harness.ts';
import {
  SpanType,
  configure,
  flush,
  getExportPipeline,
  getLastActiveTraceId,
  getTrace,
  shutdown,
  trace,
  updateCurrentTrace,
  withSpan,
  wrapOpenAI,
  type TraceSpanView,
  type TraceView,
} from '../src/index.ts';
import {
  CHAT_USAGE,
  EMBEDDING_USAGE,
  RESPONSES_USAGE,
  STREAM_USAGE,
  startFakeOpenAI,
  type FakeOpenAI,
} from './helpers/fake-openai.ts';

let api: ApiHarness;
let dropDb: () => Promise<void>;
let fake: FakeOpenAI;
let workspace: string;
let client: OpenAI;

beforeAll(async () => {
  const database = await createTestDatabase();
  dropDb = database.drop;
  api = await startApiHarness({ databaseUrl: database.url });
  fake = await startFakeOpenAI();
  workspace = randomWorkspaceId();
  configure({ trackingUri: api.url, workspace });
  client = wrapOpenAI(new OpenAI({ apiKey: 'sk-test', baseURL: `${fake.url}/v1`, maxRetries: 0 }));
});

afterAll(async () => {
  await shutdown();
  await fake?.close();
  await api?.stop();
  await dropDb?.();
});

/** USD per token of the shipped default prices (packages/events/src/tracing/default-prices.ts). */
const GPT_4O_MINI = { input: 0.15e-6, output: 0.6e-6 };
const GPT_4O = { input: 2.5e-6, output: 10e-6 };
const EMBEDDING_3_SMALL = { input: 0.02e-6 };

function spanNamed(t: TraceView, name: string): TraceSpanView {
  const found = t.spans.filter((s) => s.name === name);
  expect(found, `one span named ${name}`).toHaveLength(1);
  return found[0]!;
}

async function traced(traceId: string | undefined): Promise<TraceView> {
  expect(traceId).toMatch(/^[0-9a-f]{32}$/);
  const t = await getTrace(traceId!);
  expect(t).not.toBeNull();
  return t!;
}

describe('trace and withSpan', () => {
  it('send a tree the server stores with types, inputs, outputs and trace fields', async () => {
    const lookup = trace(
      async (city: string) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return { city, forecast: 'sun' };
      },
      { name: 'lookup', spanType: SpanType.TOOL },
    );
    const failing = trace(
      function validate(input: string) {
        throw new TypeError(`bad input ${input}`);
      },
      { spanType: SpanType.GUARDRAIL },
    );
    const agent = trace(
      async function agent(question: string) {
        updateCurrentTrace({
          sessionId: 'session-ts-1',
          userId: 'ana',
          tags: { team: 'search' },
          metadata: { build: '42' },
        });
        const docs = await withSpan('retrieve', { spanType: SpanType.RETRIEVER }, async (span) => {
          span.setInputs({ query: question });
          const found = await Promise.all([lookup('Paris'), lookup('Oslo')]);
          span.setAttribute('hits', found.length);
          return found;
        });
        try {
          failing('x');
        } catch {
          // recorded on its span
        }
        return `${docs.length} forecasts`;
      },
      { spanType: SpanType.AGENT },
    );

    await expect(agent('Weather in Paris?')).resolves.toBe('2 forecasts');
    const t = await traced(getLastActiveTraceId());

    expect(t).toMatchObject({
      name: 'agent',
      status: 'ERROR', // one span failed
      spanCount: 5,
      errorCount: 1,
      inputs: { question: 'Weather in Paris?' },
      outputs: '2 forecasts',
      sessionId: 'session-ts-1',
      userId: 'ana',
      tags: [{ key: 'team', value: 'search' }],
      metadata: [{ key: 'build', value: '42' }],
      cost: null,
    });
    const root = spanNamed(t, 'agent');
    const retrieve = spanNamed(t, 'retrieve');
    const validate = spanNamed(t, 'validate');
    const lookups = t.spans.filter((s) => s.name === 'lookup');
    expect(root).toMatchObject({ parentId: null, spanType: 'AGENT', kind: 'INTERNAL' });
    expect(root.status.code).toBe('OK');
    expect(retrieve).toMatchObject({
      parentId: root.id,
      spanType: 'RETRIEVER',
      inputs: { query: 'Weather in Paris?' },
      outputs: [
        { city: 'Paris', forecast: 'sun' },
        { city: 'Oslo', forecast: 'sun' },
      ],
    });
    expect(retrieve.attributes.hits).toBe(2);
    expect(lookups).toHaveLength(2);
    for (const l of lookups) expect(l).toMatchObject({ parentId: retrieve.id, spanType: 'TOOL' });
    expect(
      lookups
        .map((l) => l.inputs)
        .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    ).toEqual([{ city: 'Oslo' }, { city: 'Paris' }]);
    expect(validate).toMatchObject({
      parentId: root.id,
      spanType: 'GUARDRAIL',
      status: { code: 'ERROR', message: 'TypeError: bad input x' },
      inputs: { input: 'x' },
    });
    expect(validate.events.map((e) => e.name)).toEqual(['exception']);
    expect(validate.events[0]!.attributes['exception.type']).toBe('TypeError');
    // Every span ends within its parent, and spans carry the SDK's resource.
    for (const s of t.spans)
      expect(BigInt(s.endTimeUnixNano!)).toBeGreaterThanOrEqual(BigInt(s.startTimeUnixNano));
    expect(getExportPipeline()!.exporter.stats()).toMatchObject({
      rejectedSpans: 0,
      failedSpans: 0,
    });
  });
});

describe('wrapOpenAI', () => {
  it('records a chat completion under the current span with token usage and cost', async () => {
    const answer = trace(
      async (question: string) => {
        const reply = await client.chat.completions.create({
          model: 'gpt-4o-mini',
          messages: [
            { role: 'system', content: 'Be brief.' },
            { role: 'user', content: question },
          ],
          temperature: 0.2,
        });
        return reply.choices[0]!.message.content;
      },
      { name: 'answer', spanType: SpanType.CHAIN },
    );
    await expect(answer('Weather?')).resolves.toBe('Paris is sunny.');
    const t = await traced(getLastActiveTraceId());
    const chat = spanNamed(t, 'Completions');
    const root = spanNamed(t, 'answer');
    expect(chat).toMatchObject({
      parentId: root.id,
      spanType: 'CHAT_MODEL',
      kind: 'CLIENT',
      model: 'gpt-4o-mini-2024-07-18',
      provider: 'openai',
      status: { code: 'OK' },
      tokenUsage: { inputTokens: 1000, outputTokens: 200, totalTokens: 1200 },
    });
    expect(chat.inputs).toEqual({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Weather?' },
      ],
      temperature: 0.2,
    });
    expect(chat.outputs).toMatchObject({
      id: 'chatcmpl-fixed',
      choices: [
        { message: { role: 'assistant', content: 'Paris is sunny.' }, finish_reason: 'stop' },
      ],
      usage: CHAT_USAGE,
    });
    expect(chat.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'gpt-4o-mini',
      'gen_ai.request.temperature': 0.2,
      'gen_ai.response.id': 'chatcmpl-fixed',
      'gen_ai.response.finish_reasons': ['stop'],
    });
    const cost = 1000 * GPT_4O_MINI.input + 200 * GPT_4O_MINI.output;
    expect(chat.cost).toBeCloseTo(cost, 12);
    expect(t.cost).toBeCloseTo(cost, 12);
    expect(t.tokenUsage).toMatchObject({ inputTokens: 1000, outputTokens: 200, totalTokens: 1200 });
  });

  it('records a streamed chat completion whole once consumed: text, tool call, final usage', async () => {
    const run = trace(
      async () => {
        const stream = await client.chat.completions.create({
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: 'Weather in Paris?' }],
          tools: [
            {
              type: 'function',
              function: { name: 'get_weather', parameters: { type: 'object', properties: {} } },
            },
          ],
          stream: true,
          stream_options: { include_usage: true },
        });
        let text = '';
        for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
        return text;
      },
      { name: 'streaming', spanType: SpanType.AGENT },
    );
    await expect(run()).resolves.toBe('Let me check.');
    const t = await traced(getLastActiveTraceId());
    const chat = spanNamed(t, 'Completions');
    expect(chat).toMatchObject({
      parentId: spanNamed(t, 'streaming').id,
      spanType: 'CHAT_MODEL',
      tokenUsage: { inputTokens: 40, outputTokens: 8, totalTokens: 48 },
    });
    expect(chat.outputs).toEqual({
      id: 'chatcmpl-stream',
      object: 'chat.completion',
      created: 1,
      model: 'gpt-4o-mini-2024-07-18',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: 'Let me check.',
            tool_calls: [
              {
                id: 'call_weather',
                type: 'function',
                function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
              },
            ],
          },
          finish_reason: 'tool_calls',
        },
      ],
      usage: STREAM_USAGE,
    });
    expect(chat.events.map((e) => e.name)).toEqual(['first_token']);
    expect(chat.cost).toBeCloseTo(40 * GPT_4O_MINI.input + 8 * GPT_4O_MINI.output, 12);
  });

  it('ends a stream span when the consumer stops early', async () => {
    await withSpan('early-exit', async () => {
      const stream = await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'hi' }],
        stream: true,
      });
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta?.content) break;
      }
    });
    const t = await traced(getLastActiveTraceId());
    const chat = spanNamed(t, 'Completions');
    expect(chat.status.code).toBe('OK');
    expect(chat.tokenUsage).toBeNull(); // no include_usage, and stopped early
    expect(
      (chat.outputs as { choices: { message: { content: string } }[] }).choices[0]!.message.content,
    ).toBe('Let me ');
  });

  it('records embeddings, responses (plain and streamed) and a failed call', async () => {
    await withSpan('pipeline', { spanType: SpanType.CHAIN }, async () => {
      const embedded = await client.embeddings.create({
        model: 'text-embedding-3-small',
        input: ['a', 'b'],
      });
      expect(embedded.data[0]!.embedding).toEqual([0.25, -0.5, 1]);
      const plain = await client.responses.create({ model: 'gpt-4o', input: 'Say hi in French' });
      expect(plain.output_text).toBe('Bonjour.');
      const stream = await client.responses.create({
        model: 'gpt-4o',
        input: 'again',
        stream: true,
      });
      const kinds: string[] = [];
      for await (const event of stream) kinds.push(event.type);
      expect(kinds).toEqual([
        'response.created',
        'response.output_text.delta',
        'response.completed',
      ]);
      await expect(
        client.chat.completions.create({
          model: 'bad-model',
          messages: [{ role: 'user', content: 'x' }],
        }),
      ).rejects.toThrow(/bad-model/);
    });
    const t = await traced(getLastActiveTraceId());
    expect(t.spanCount).toBe(5);
    const root = spanNamed(t, 'pipeline');
    const embedding = spanNamed(t, 'Embeddings');
    expect(embedding).toMatchObject({
      parentId: root.id,
      spanType: 'EMBEDDING',
      kind: 'CLIENT',
      model: 'text-embedding-3-small',
      tokenUsage: { inputTokens: EMBEDDING_USAGE.prompt_tokens },
      inputs: { model: 'text-embedding-3-small', input: ['a', 'b'] },
    });
    expect(embedding.attributes['gen_ai.operation.name']).toBe('embeddings');
    expect(embedding.cost).toBeCloseTo(500 * EMBEDDING_3_SMALL.input, 12);

    const responses = t.spans.filter((s) => s.name === 'Responses');
    expect(responses).toHaveLength(2);
    const responseCost =
      RESPONSES_USAGE.input_tokens * GPT_4O.input + RESPONSES_USAGE.output_tokens * GPT_4O.output;
    for (const r of responses) {
      expect(r).toMatchObject({
        parentId: root.id,
        spanType: 'CHAT_MODEL',
        model: 'gpt-4o-2024-08-06',
        tokenUsage: { inputTokens: 300, outputTokens: 50, totalTokens: 350 },
        outputs: { id: 'resp_fixed', status: 'completed' },
      });
      expect(r.cost).toBeCloseTo(responseCost, 12);
    }
    const failed = t.spans.find((s) => s.name === 'Completions')!;
    expect(failed.status.code).toBe('ERROR');
    expect(failed.status.message).toMatch(/bad-model/);
    expect(failed.events.map((e) => e.name)).toEqual(['exception']);
    expect(t.cost).toBeCloseTo(500 * EMBEDDING_3_SMALL.input + 2 * responseCost, 12);
    // The embeddings request went out as the client sends it (base64), decoded for the caller.
    expect(fake.requests.find((r) => r.path === '/v1/embeddings')!.body.encoding_format).toBe(
      'base64',
    );
  });

  it('keeps withResponse() and asResponse() of the client working', async () => {
    await withSpan('raw', async () => {
      const { data, response } = await client.chat.completions
        .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'a' }] })
        .withResponse();
      expect(data.id).toBe('chatcmpl-fixed');
      expect(response.headers.get('x-request-id')).toBe('req_test');
      const raw = await client.chat.completions
        .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'b' }] })
        .asResponse();
      expect(((await raw.json()) as { id: string }).id).toBe('chatcmpl-fixed');
    });
    const t = await traced(getLastActiveTraceId());
    const chats = t.spans.filter((s) => s.name === 'Completions');
    expect(chats).toHaveLength(2);
    expect(chats.map((c) => c.tokenUsage?.inputTokens ?? null).sort()).toEqual([1000, null]);
    expect(chats.every((c) => c.status.code === 'OK')).toBe(true);
    expect(await flush()).toBe(true);
  });
});

describe('process exit', () => {
  it('exports what is still queued on beforeExit, without an explicit flush', async () => {
    const fixture = fileURLToPath(new URL('./fixtures/exit-flush.ts', import.meta.url));
    const tsx = fileURLToPath(new URL('../../../node_modules/tsx/dist/cli.mjs', import.meta.url));
    const started = Date.now();
    const { stdout } = await promisify(execFile)(process.execPath, [tsx, fixture], {
      env: { ...process.env, CAIRN_TEST_URI: api.url, CAIRN_TEST_WORKSPACE: workspace },
      timeout: 30_000,
    });
    expect(Date.now() - started).toBeLessThan(20_000); // not held open by the 60 s interval
    const traceId = stdout.trim();
    // This process ended none of its spans, so getTrace cannot know how many to wait for.
    let t = await traced(traceId);
    for (let i = 0; i < 100 && t.spanCount < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      t = await traced(traceId);
    }
    expect(t.spanCount).toBe(2);
    expect(spanNamed(t, 'exit-child')).toMatchObject({
      parentId: spanNamed(t, 'exit-root').id,
      spanType: 'TOOL',
      inputs: { n: 21 },
      outputs: 42,
    });
  });
});
