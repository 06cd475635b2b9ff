/**
 * A small OpenAI-compatible HTTP server for the SDK's tests: fixed answers and fixed token
 * usage for `POST /v1/chat/completions` (JSON, or SSE with `stream: true`, the usage in a final
 * chunk when `stream_options.include_usage`), `/v1/embeddings` (float or base64 vectors) and
 * `/v1/responses` (JSON or SSE). A `model` of `bad-model` gets a 400 error like OpenAI's. Every
 * request body is kept in `requests`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const CHAT_USAGE = { prompt_tokens: 1000, completion_tokens: 200, total_tokens: 1200 };
export const STREAM_USAGE = { prompt_tokens: 40, completion_tokens: 8, total_tokens: 48 };
export const EMBEDDING_USAGE = { prompt_tokens: 500, total_tokens: 500 };
export const RESPONSES_USAGE = { input_tokens: 300, output_tokens: 50, total_tokens: 350 };

export interface FakeOpenAI {
  url: string;
  requests: { path: string; body: Record<string, unknown> }[];
  close(): Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': 'req_test' });
  res.end(JSON.stringify(body));
}

function sse(res: ServerResponse, events: { event?: string; data: unknown }[]): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  for (const e of events) {
    if (e.event) res.write(`event: ${e.event}\n`);
    res.write(`data: ${typeof e.data === 'string' ? e.data : JSON.stringify(e.data)}\n\n`);
  }
  res.end();
}

function chat(body: Record<string, unknown>, res: ServerResponse): void {
  const model = `${String(body.model)}-2024-07-18`;
  if (body.stream !== true) {
    json(res, 200, {
      id: 'chatcmpl-fixed',
      object: 'chat.completion',
      created: 1_764_583_200,
      model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'Paris is sunny.', refusal: null },
          finish_reason: 'stop',
          logprobs: null,
        },
      ],
      usage: CHAT_USAGE,
    });
    return;
  }
  const base = { id: 'chatcmpl-stream', object: 'chat.completion.chunk', created: 1, model };
  const chunk = (delta: unknown, finish: string | null = null) => ({
    ...base,
    choices: [{ index: 0, delta, finish_reason: finish }],
  });
  const events: { data: unknown }[] = [
    { data: chunk({ role: 'assistant', content: '' }) },
    { data: chunk({ content: 'Let me ' }) },
    { data: chunk({ content: 'check.' }) },
    {
      data: chunk({
        tool_calls: [
          {
            index: 0,
            id: 'call_weather',
            type: 'function',
            function: { name: 'get_weather', arguments: '{"city":' },
          },
        ],
      }),
    },
    { data: chunk({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }) },
    { data: chunk({}, 'tool_calls') },
  ];
  const options = body.stream_options as { include_usage?: boolean } | undefined;
  if (options?.include_usage) events.push({ data: { ...base, choices: [], usage: STREAM_USAGE } });
  events.push({ data: '[DONE]' });
  sse(res, events);
}

function embeddings(body: Record<string, unknown>, res: ServerResponse): void {
  const inputs = Array.isArray(body.input) ? body.input : [body.input];
  const vector = [0.25, -0.5, 1];
  const encode = (v: number[]) =>
    body.encoding_format === 'base64'
      ? Buffer.from(new Float32Array(v).buffer).toString('base64')
      : v;
  json(res, 200, {
    object: 'list',
    model: body.model,
    data: inputs.map((_, index) => ({ object: 'embedding', index, embedding: encode(vector) })),
    usage: EMBEDDING_USAGE,
  });
}

function responses(body: Record<string, unknown>, res: ServerResponse): void {
  const response = {
    id: 'resp_fixed',
    object: 'response',
    created_at: 1_764_583_200,
    status: 'completed',
    model: `${String(body.model)}-2024-08-06`,
    output: [
      {
        type: 'message',
        id: 'msg_1',
        status: 'completed',
        role: 'assistant',
        content: [{ type: 'output_text', text: 'Bonjour.', annotations: [] }],
      },
    ],
    usage: RESPONSES_USAGE,
  };
  if (body.stream !== true) return json(res, 200, response);
  const created = { ...response, status: 'in_progress', output: [], usage: null };
  sse(res, [
    { event: 'response.created', data: { type: 'response.created', response: created } },
    {
      event: 'response.output_text.delta',
      data: { type: 'response.output_text.delta', delta: 'Bonjour.', item_id: 'msg_1' },
    },
    { event: 'response.completed', data: { type: 'response.completed', response } },
  ]);
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

export async function startFakeOpenAI(): Promise<FakeOpenAI> {
  const requests: FakeOpenAI['requests'] = [];
  const server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const path = (req.url ?? '').split('?')[0]!;
      requests.push({ path, body });
      if (body.model === 'bad-model')
        return json(res, 400, {
          error: {
            message: 'The model `bad-model` does not exist',
            type: 'invalid_request_error',
            code: 'model_not_found',
          },
        });
      if (req.method === 'POST' && path === '/v1/chat/completions') return chat(body, res);
      if (req.method === 'POST' && path === '/v1/embeddings') return embeddings(body, res);
      if (req.method === 'POST' && path === '/v1/responses') return responses(body, res);
      json(res, 404, { error: { message: `no route ${path}` } });
    })().catch((error: unknown) => json(res, 500, { error: { message: String(error) } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
