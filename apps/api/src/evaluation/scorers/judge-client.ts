import { parseModelUri } from './scorer-spec.ts';

/**
 * The LLM judge client (docs/evaluation.md, "Online evaluation"): OpenAI-compatible
 * `/chat/completions`, asked for `{"result": "yes"|"no"|<number>, "rationale": "…"}`. Retries 429
 * and 5xx (and network errors and timeouts) with exponential back-off that honours
 * `Retry-After`; a bounded number of calls in flight per client.
 */

export interface JudgeClientOptions {
  /** `CAIRN_JUDGE_BASE_URL`, else `OPENAI_BASE_URL`, else https://api.openai.com/v1. */
  baseUrl: string;
  apiKey: string | null;
  /** Deadline of one HTTP attempt (default 30 s). */
  timeoutMs?: number;
  /** Attempts in all (default 3). */
  maxAttempts?: number;
  /** First back-off (default 500 ms), doubled per attempt, with jitter. */
  baseDelayMs?: number;
  /** Longest wait between attempts, Retry-After included (default 20 s). */
  maxDelayMs?: number;
  /** Calls in flight at once (default 4). */
  concurrency?: number;
}

export const DEFAULT_OPENAI_BASE_URL = 'https://api.openai.com/v1';

/** The judge endpoint from the environment, as the contract names it. */
export function judgeOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): JudgeClientOptions {
  return {
    baseUrl: env.CAIRN_JUDGE_BASE_URL || env.OPENAI_BASE_URL || DEFAULT_OPENAI_BASE_URL,
    apiKey: env.OPENAI_API_KEY || null,
  };
}

export interface JudgeAnswer {
  result: string | number | boolean;
  rationale: string | null;
  model: string;
  attempts: number;
  usage: { promptTokens: number; completionTokens: number } | null;
}

/** A judge call that failed for good (after the retries, or not retryable). */
export class JudgeError extends Error {
  override readonly name = 'JudgeError';
  constructor(
    message: string,
    readonly attempts: number,
    readonly status: number | null = null,
  ) {
    super(message);
  }
}

/** A counting semaphore: at most `limit` holders. */
export class Semaphore {
  private active = 0;
  private readonly queue: (() => void)[] = [];
  constructor(private readonly limit: number) {}
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((r) => this.queue.push(r));
    else this.active++;
    try {
      return await task();
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.active--;
    }
  }
  get inFlight(): number {
    return this.active;
  }
}

/** Retry-After: delay-seconds or an HTTP date; null when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | null {
  if (header === null || header.trim() === '') return null;
  const seconds = Number(header.trim());
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** The judge's JSON answer, tolerating a fenced block or text around the object. */
export function parseJudgeContent(content: string): {
  result: string | number | boolean;
  rationale: string | null;
} {
  const start = content.indexOf('{');
  const end = content.lastIndexOf('}');
  if (start < 0 || end < start) throw new Error('the judge did not answer a JSON object');
  let parsed: unknown;
  try {
    parsed = JSON.parse(content.slice(start, end + 1));
  } catch {
    throw new Error('the judge answered invalid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null)
    throw new Error('the judge did not answer a JSON object');
  const obj = parsed as Record<string, unknown>;
  let result = obj.result;
  if (typeof result === 'string') {
    const lower = result.trim().toLowerCase();
    result = lower === 'yes' || lower === 'no' ? lower : result.trim();
  }
  if (
    !(typeof result === 'string' && result !== '') &&
    !(typeof result === 'number' && Number.isFinite(result)) &&
    typeof result !== 'boolean'
  )
    throw new Error('the judge answer has no "result" ("yes", "no" or a number)');
  const rationale = typeof obj.rationale === 'string' ? obj.rationale : null;
  return { result, rationale };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class JudgeClient {
  private readonly semaphore: Semaphore;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(private readonly opts: JudgeClientOptions) {
    this.semaphore = new Semaphore(Math.max(1, opts.concurrency ?? 4));
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? 3);
    this.baseDelayMs = opts.baseDelayMs ?? 500;
    this.maxDelayMs = opts.maxDelayMs ?? 20_000;
  }

  get inFlight(): number {
    return this.semaphore.inFlight;
  }

  /** Asks the judge; throws JudgeError when every attempt failed or the answer is unusable. */
  judge(
    modelUri: string,
    messages: { role: 'system' | 'user'; content: string }[],
    signal?: AbortSignal,
  ): Promise<JudgeAnswer> {
    const parsed = parseModelUri(modelUri);
    if (!parsed) return Promise.reject(new JudgeError(`unsupported model URI "${modelUri}"`, 0));
    return this.semaphore.run(() => this.call(parsed.model, messages, signal));
  }

  private async call(
    model: string,
    messages: { role: 'system' | 'user'; content: string }[],
    signal?: AbortSignal,
  ): Promise<JudgeAnswer> {
    const url = `${this.opts.baseUrl.replace(/\/+$/u, '')}/chat/completions`;
    const body = JSON.stringify({ model, messages, temperature: 0 });
    let last = 'no attempt made';
    let lastStatus: number | null = null;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      if (signal?.aborted) throw new JudgeError('aborted', attempt - 1);
      let wait: number | null = null;
      const timeout = AbortSignal.timeout(this.timeoutMs);
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            ...(this.opts.apiKey ? { authorization: `Bearer ${this.opts.apiKey}` } : {}),
          },
          body,
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        });
        const text = await response.text();
        lastStatus = response.status;
        if (response.ok) {
          let content: unknown;
          let usage: JudgeAnswer['usage'] = null;
          try {
            const json = JSON.parse(text) as {
              choices?: { message?: { content?: unknown } }[];
              usage?: { prompt_tokens?: number; completion_tokens?: number };
            };
            content = json.choices?.[0]?.message?.content;
            if (json.usage)
              usage = {
                promptTokens: json.usage.prompt_tokens ?? 0,
                completionTokens: json.usage.completion_tokens ?? 0,
              };
          } catch {
            throw new JudgeError('the judge endpoint answered invalid JSON', attempt, 200);
          }
          if (typeof content !== 'string')
            throw new JudgeError('the judge endpoint answered no message content', attempt, 200);
          try {
            return { ...parseJudgeContent(content), model, attempts: attempt, usage };
          } catch (error) {
            throw new JudgeError((error as Error).message, attempt, 200);
          }
        }
        last = `HTTP ${response.status}: ${text.slice(0, 200)}`;
        const retryable = response.status === 429 || response.status >= 500;
        if (!retryable) throw new JudgeError(`judge request failed: ${last}`, attempt, lastStatus);
        wait = retryAfterMs(response.headers.get('retry-after'));
      } catch (error) {
        if (error instanceof JudgeError) throw error;
        if (signal?.aborted) throw new JudgeError('aborted', attempt);
        last = timeout.aborted
          ? `timed out after ${this.timeoutMs} ms`
          : `network error: ${(error as Error).message}`;
        lastStatus = null;
      }
      if (attempt === this.maxAttempts) break;
      const backoff = this.baseDelayMs * 2 ** (attempt - 1);
      const delay = Math.min(this.maxDelayMs, wait ?? backoff * (0.5 + Math.random() / 2));
      await sleep(delay);
    }
    throw new JudgeError(
      `judge failed after ${this.maxAttempts} attempts: ${last}`,
      this.maxAttempts,
      lastStatus,
    );
  }
}
