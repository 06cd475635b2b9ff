/**
 * A small local OpenAI-compatible judge server for tests (node:http on 127.0.0.1): answers
 * `POST /chat/completions` with a fixed answer chosen by the first rule whose pattern matches the
 * prompt (all messages joined), fixed token usage, and, on demand, 429 with Retry-After or 5xx
 * for the next N calls. Counts calls. Not a stand-in for Cairn: it is the outside LLM endpoint.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface JudgeRule {
  /** Matched against the prompt text (every message's content, joined by newlines). */
  match: RegExp;
  result: string | number;
  rationale?: string;
}

export interface JudgeCall {
  model: string;
  prompt: string;
  authorization: string | undefined;
  status: number;
  at: number;
}

export class LlmJudgeServer {
  readonly calls: JudgeCall[] = [];
  /** First match wins; no match answers `fallback`. */
  rules: JudgeRule[] = [];
  fallback: { result: string | number; rationale: string } = {
    result: 'yes',
    rationale: 'fallback answer',
  };
  readonly usage = { prompt_tokens: 42, completion_tokens: 7, total_tokens: 49 };
  /** Failures answered before any normal answer, in order. */
  private failures: { status: number; retryAfter?: string }[] = [];
  /** Milliseconds to wait before answering (timeouts). */
  delayMs = 0;
  private server: http.Server | null = null;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/v1`;
  }

  /** The next `count` calls answer `status` (429 with `retryAfter` seconds when given). */
  failNext(count: number, status: number, retryAfter?: string): void {
    for (let i = 0; i < count; i++) this.failures.push({ status, retryAfter });
  }

  async start(): Promise<void> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void (async () => {
          if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
            res.writeHead(404).end('not found');
            return;
          }
          let body: { model?: string; messages?: { content?: string }[] } = {};
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
          } catch {
            res.writeHead(400).end('bad json');
            return;
          }
          const prompt = (body.messages ?? []).map((m) => m.content ?? '').join('\n');
          const failure = this.failures.shift();
          const status = failure?.status ?? 200;
          this.calls.push({
            model: body.model ?? '',
            prompt,
            authorization: req.headers.authorization,
            status,
            at: Date.now(),
          });
          if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
          if (failure) {
            const headers: Record<string, string> = { 'content-type': 'application/json' };
            if (failure.retryAfter !== undefined) headers['retry-after'] = failure.retryAfter;
            res
              .writeHead(failure.status, headers)
              .end(JSON.stringify({ error: { message: `injected ${failure.status}` } }));
            return;
          }
          const rule = this.rules.find((r) => r.match.test(prompt));
          const answer = rule
            ? { result: rule.result, rationale: rule.rationale ?? `matched ${String(rule.match)}` }
            : this.fallback;
          res.writeHead(200, { 'content-type': 'application/json' }).end(
            JSON.stringify({
              id: `chatcmpl-${this.calls.length}`,
              object: 'chat.completion',
              model: body.model,
              choices: [
                {
                  index: 0,
                  finish_reason: 'stop',
                  message: { role: 'assistant', content: JSON.stringify(answer) },
                },
              ],
              usage: this.usage,
            }),
          );
        })();
      });
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
