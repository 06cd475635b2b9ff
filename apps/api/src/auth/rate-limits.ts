import { createHash } from 'node:crypto';
import type http from 'node:http';
import { SESSION_COOKIE } from './sessions.ts';

/**
 * Rate limits per credential and per workspace (docs/auth.md, "Rate limits"): token buckets in
 * the memory of each API process (so N processes allow N times the rate; a shared store is not
 * worth its round trip for a guard against floods). A request takes one token from the bucket of
 * its credential and one from the bucket of its workspace; when either is empty it gets `429`
 * with `Retry-After` (seconds until both hold a token again) and nothing runs.
 *
 * The defaults are far above what one client (or the test suite) does, so they only stop floods.
 * `0` turns a limit off.
 */
export interface RateLimitConfig {
  /** Requests per second per credential (API key, session, or `anonymous`) (CAIRN_RATE_LIMIT_KEY_RPS). */
  keyRequestsPerSecond: number;
  /** Requests per second per workspace, all credentials together (CAIRN_RATE_LIMIT_WORKSPACE_RPS). */
  workspaceRequestsPerSecond: number;
  /** A bucket holds this many seconds of its rate, so short bursts pass (CAIRN_RATE_LIMIT_BURST_SECONDS). */
  burstSeconds: number;
}

export const DEFAULT_RATE_LIMITS: RateLimitConfig = {
  keyRequestsPerSecond: 5000,
  workspaceRequestsPerSecond: 10000,
  burstSeconds: 2,
};

const ENV_NAMES: Record<keyof RateLimitConfig, string> = {
  keyRequestsPerSecond: 'CAIRN_RATE_LIMIT_KEY_RPS',
  workspaceRequestsPerSecond: 'CAIRN_RATE_LIMIT_WORKSPACE_RPS',
  burstSeconds: 'CAIRN_RATE_LIMIT_BURST_SECONDS',
};

export class RateLimitConfigError extends Error {
  override readonly name = 'RateLimitConfigError';
}

/**
 * Numbers from the environment over defaults (rate limits, quotas): `names` maps each field to
 * its variable; a value that is not a number ≥ 0 (`burstSeconds`: > 0) throws.
 */
export function numbersFromEnv<T extends Record<string, number>>(
  defaults: T,
  names: Record<keyof T, string>,
  env: NodeJS.ProcessEnv,
): T {
  const config = { ...defaults };
  for (const [field, name] of Object.entries(names) as [keyof T & string, string][]) {
    const text = env[name]?.trim();
    if (!text) continue;
    const n = Number(text);
    if (!Number.isFinite(n) || n < 0 || (field === 'burstSeconds' && n <= 0))
      throw new RateLimitConfigError(`${name} must be a number ≥ 0 (burst: > 0), not "${text}"`);
    (config as Record<string, number>)[field] = n;
  }
  return config;
}

/** The limits from the environment over the defaults; a bad value throws. */
export function rateLimitsFromEnv(env: NodeJS.ProcessEnv = process.env): RateLimitConfig {
  return numbersFromEnv({ ...DEFAULT_RATE_LIMITS }, ENV_NAMES, env);
}

/** A token bucket: `rate` tokens per second, at most `capacity`, full at first. */
class Bucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly rate: number,
    private readonly capacity: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.at = now;
  }

  private refill(now: number): void {
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.at) / 1000) * this.rate);
    this.at = now;
  }

  /** Milliseconds until `cost` tokens are there (0: they are now). */
  waitMs(cost: number, now: number): number {
    this.refill(now);
    return this.tokens >= cost ? 0 : ((cost - this.tokens) / this.rate) * 1000;
  }

  take(cost: number): void {
    this.tokens -= cost;
  }

  full(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.capacity;
  }
}

/** Buckets kept at most; beyond it full buckets, then the oldest, are dropped. */
const MAX_BUCKETS = 20_000;

export type RateDecision = { ok: true } | { ok: false; retryAfterSeconds: number };

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    readonly config: RateLimitConfig = DEFAULT_RATE_LIMITS,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  private bucket(name: string, rate: number, now: number): Bucket {
    let bucket = this.buckets.get(name);
    if (!bucket) {
      if (this.buckets.size >= MAX_BUCKETS) this.evict(now);
      bucket = new Bucket(rate, Math.max(1, rate * this.config.burstSeconds), now);
      this.buckets.set(name, bucket);
    }
    return bucket;
  }

  private evict(now: number): void {
    for (const [name, bucket] of this.buckets) if (bucket.full(now)) this.buckets.delete(name);
    while (this.buckets.size >= MAX_BUCKETS) {
      const oldest = this.buckets.keys().next().value;
      if (oldest === undefined) break;
      this.buckets.delete(oldest);
    }
  }

  /**
   * One request of `subject.credential` in `subject.workspace`: takes a token from both buckets
   * when both have one, else takes none and says how long to wait.
   */
  request(subject: { credential: string; workspace: string }, cost = 1): RateDecision {
    const now = this.clock();
    const limited: Bucket[] = [];
    const { keyRequestsPerSecond: keyRate, workspaceRequestsPerSecond: wsRate } = this.config;
    if (keyRate > 0) limited.push(this.bucket(`key:${subject.credential}`, keyRate, now));
    if (wsRate > 0) limited.push(this.bucket(`ws:${subject.workspace}`, wsRate, now));
    const waitMs = Math.max(0, ...limited.map((b) => b.waitMs(cost, now)));
    if (waitMs > 0) return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
    for (const b of limited) b.take(cost);
    return { ok: true };
  }
}

const header = (req: http.IncomingMessage, name: string): string | undefined => {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/**
 * Who a request counts against, before authentication: the API key id of `Bearer cairn_<id>_…`
 * (or of the password of Basic), a hash of any other credential, else `anonymous`; and the
 * workspace it names (`x-cairn-workspace`, `?ws=`, default `default`). A forged key id only
 * spends that key's budget for requests that are refused anyway.
 */
export function rateLimitSubject(
  req: http.IncomingMessage,
  url: URL,
): { credential: string; workspace: string } {
  const workspace = header(req, 'x-cairn-workspace') ?? url.searchParams.get('ws') ?? 'default';
  const authorization = header(req, 'authorization')?.trim();
  const cookie = header(req, 'cookie');
  let token: string | null = null;
  if (authorization) {
    const [scheme = '', value = ''] = authorization.split(/\s+/u, 2);
    if (scheme.toLowerCase() === 'basic') {
      const decoded = Buffer.from(value, 'base64').toString('utf8');
      token = decoded.slice(decoded.indexOf(':') + 1);
    } else token = value || scheme;
  }
  if (token) {
    const keyId = /^cairn_([a-z2-7]{12})_/u.exec(token)?.[1];
    return { credential: keyId ? `key:${keyId}` : `token:${sha(token)}`, workspace };
  }
  const session = cookie
    ?.split(';')
    .map((part) => part.trim())
    .find((part) => part.startsWith(`${SESSION_COOKIE}=`))
    ?.slice(SESSION_COOKIE.length + 1);
  return { credential: session ? `session:${sha(session)}` : 'anonymous', workspace };
}

function sha(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}

/** The `429` answer: `Retry-After` in whole seconds, a typed error body. */
export function tooManyRequests(res: http.ServerResponse, retryAfterSeconds: number): void {
  res.writeHead(429, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'retry-after': String(retryAfterSeconds),
  });
  res.end(
    JSON.stringify({
      errors: [
        {
          message: `Rate limit exceeded; retry after ${retryAfterSeconds} s`,
          extensions: { code: 'RESOURCE_EXHAUSTED', retryAfterSeconds },
        },
      ],
    }),
  );
}
