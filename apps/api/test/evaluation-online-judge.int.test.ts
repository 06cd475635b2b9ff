import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { JudgeClient, JudgeError } from '../src/evaluation/scorers/judge-client.ts';
import { runScorer } from '../src/evaluation/scorers/scorers.ts';
import { validateScorerSpecs } from '../src/evaluation/scorers/scorer-spec.ts';
import { LlmJudgeServer } from './helpers/llm-judge-server.ts';

const judge = new LlmJudgeServer();
beforeAll(() => judge.start());
afterAll(() => judge.stop());
beforeEach(() => {
  judge.calls.length = 0;
  judge.rules = [];
  judge.delayMs = 0;
});

const client = (overrides: Partial<ConstructorParameters<typeof JudgeClient>[0]> = {}) =>
  new JudgeClient({ baseUrl: judge.url, apiKey: 'sk-test', baseDelayMs: 20, ...overrides });

const messages = [{ role: 'user' as const, content: 'Is the sky blue?' }];

describe('judge client against a local OpenAI-compatible server', () => {
  it('sends the model and key, keeps the rationale and the usage', async () => {
    judge.rules = [{ match: /sky/, result: 'no', rationale: 'it is night' }];
    const answer = await client().judge('openai:/judge-small', messages);
    expect(answer).toMatchObject({
      result: 'no',
      rationale: 'it is night',
      model: 'judge-small',
      attempts: 1,
      usage: { promptTokens: 42, completionTokens: 7 },
    });
    expect(judge.calls).toHaveLength(1);
    expect(judge.calls[0]).toMatchObject({ model: 'judge-small', authorization: 'Bearer sk-test' });
  });

  it('retries 429 honouring Retry-After, then succeeds', async () => {
    judge.failNext(1, 429, '1');
    const started = Date.now();
    const answer = await client().judge('openai:/m', messages);
    expect(answer.attempts).toBe(2);
    expect(judge.calls.map((c) => c.status)).toEqual([429, 200]);
    // Retry-After: 1 s, far above the 20 ms back-off.
    expect(judge.calls[1]!.at - judge.calls[0]!.at).toBeGreaterThanOrEqual(950);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('retries 5xx with back-off and gives up after 3 attempts with a typed error', async () => {
    judge.failNext(3, 503);
    const error = await client()
      .judge('openai:/m', messages)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JudgeError);
    expect((error as JudgeError).attempts).toBe(3);
    expect((error as JudgeError).status).toBe(503);
    expect((error as JudgeError).message).toMatch(/after 3 attempts: HTTP 503/);
    expect(judge.calls.map((c) => c.status)).toEqual([503, 503, 503]);
  });

  it('does not retry a 4xx other than 429', async () => {
    judge.failNext(1, 401);
    const error = await client()
      .judge('openai:/m', messages)
      .catch((e: unknown) => e);
    expect((error as JudgeError).status).toBe(401);
    expect(judge.calls).toHaveLength(1);
  });

  it('times out a slow answer and retries it', async () => {
    judge.delayMs = 300;
    const error = await client({ timeoutMs: 100, maxAttempts: 2 })
      .judge('openai:/m', messages)
      .catch((e: unknown) => e);
    expect((error as JudgeError).message).toMatch(/timed out after 100 ms/);
    expect(judge.calls).toHaveLength(2);
  });

  it('bounds the calls in flight', async () => {
    judge.delayMs = 100;
    const c = client({ concurrency: 2 });
    let peak = 0;
    const timer = setInterval(() => (peak = Math.max(peak, c.inFlight)), 5);
    const started = Date.now();
    await Promise.all(Array.from({ length: 6 }, () => c.judge('openai:/m', messages)));
    clearInterval(timer);
    expect(peak).toBe(2);
    // 6 calls, 2 at a time, 100 ms each: at least 3 rounds.
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('judge scorers build their prompt from the trace, and failures become error results', async () => {
    judge.rules = [
      { match: /<guidelines>\n- Be polite/, result: 'no', rationale: 'rude' },
      { match: /Rate: hello \/ world/, result: 4 },
    ];
    const [guidelines, custom, correctness] = validateScorerSpecs([
      { name: 'polite', type: 'guidelines', config: { guidelines: ['Be polite'] } },
      {
        name: 'custom',
        type: 'llm_judge',
        config: { instructions: 'Rate: {{ inputs }} / {{ outputs }}', model: 'openai:/big' },
      },
      { name: 'correct', type: 'correctness' },
    ]);
    const input = {
      traceId: 't',
      inputs: 'hello',
      outputs: 'world',
      expectations: {},
      durationMs: 5,
      totalTokens: 1,
    };
    const c = client();
    expect(await runScorer(guidelines!, input, c)).toMatchObject({
      name: 'polite',
      sourceType: 'LLM_JUDGE',
      value: 'no',
      rationale: 'rude',
      error: null,
    });
    expect(await runScorer(custom!, input, c)).toMatchObject({
      value: 4,
      metadata: { model: 'openai:/big' },
    });
    expect(await runScorer(correctness!, input, c)).toMatchObject({
      value: null,
      error: 'correctness needs an expected_response or expected_facts expectation',
    });
    judge.failNext(3, 500);
    const failed = await runScorer(guidelines!, input, c);
    expect(failed).toMatchObject({ value: null, metadata: { attempts: 3, status: 500 } });
    expect(failed.error).toMatch(/after 3 attempts/);
  });
});
