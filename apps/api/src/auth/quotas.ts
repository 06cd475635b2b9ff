import { CairnError } from '../errors.ts';
import type { Caller } from '../write/command-handler.ts';
import { numbersFromEnv, RateLimiter } from './rate-limits.ts';

/**
 * Volume quotas (docs/auth.md, "Rate limits and quotas"): metric points and spans per second,
 * per credential (the actor of the events) and per workspace, token buckets in each API
 * process like the request limits. A write over its quota is refused whole with
 * RESOURCE_EXHAUSTED and `retryAfterSeconds`; nothing of it is stored. `0` turns a quota off.
 */
export interface QuotaConfig {
  /** CAIRN_QUOTA_POINTS_PER_SECOND, default 5,000,000. */
  pointsPerSecond: number;
  /** CAIRN_QUOTA_SPANS_PER_SECOND, default 500,000. */
  spansPerSecond: number;
  /** A bucket holds this many seconds of its rate (CAIRN_QUOTA_BURST_SECONDS, default 2). */
  burstSeconds: number;
}

export const DEFAULT_QUOTAS: QuotaConfig = {
  pointsPerSecond: 5_000_000,
  spansPerSecond: 500_000,
  burstSeconds: 2,
};

const ENV: Record<keyof QuotaConfig, string> = {
  pointsPerSecond: 'CAIRN_QUOTA_POINTS_PER_SECOND',
  spansPerSecond: 'CAIRN_QUOTA_SPANS_PER_SECOND',
  burstSeconds: 'CAIRN_QUOTA_BURST_SECONDS',
};

export function quotasFromEnv(env: NodeJS.ProcessEnv = process.env): QuotaConfig {
  return numbersFromEnv({ ...DEFAULT_QUOTAS }, ENV, env);
}

export type QuotaKind = 'points' | 'spans';

export class VolumeQuotas {
  private readonly limiters: Record<QuotaKind, RateLimiter>;
  private readonly capacity: Record<QuotaKind, number>;

  constructor(readonly config: QuotaConfig = DEFAULT_QUOTAS) {
    const limiter = (rate: number) =>
      new RateLimiter({
        keyRequestsPerSecond: rate,
        workspaceRequestsPerSecond: rate,
        burstSeconds: config.burstSeconds,
      });
    this.limiters = {
      points: limiter(config.pointsPerSecond),
      spans: limiter(config.spansPerSecond),
    };
    this.capacity = {
      points: Math.max(1, config.pointsPerSecond * config.burstSeconds),
      spans: Math.max(1, config.spansPerSecond * config.burstSeconds),
    };
  }

  /** Takes `count` from the caller's and the workspace's bucket, or throws RESOURCE_EXHAUSTED. */
  charge(kind: QuotaKind, caller: Caller, count: number): void {
    if (count <= 0) return;
    // One write larger than a whole bucket waits for a full bucket, not forever.
    const cost = Math.min(count, this.capacity[kind]);
    const decision = this.limiters[kind].request(
      { credential: caller.metadata.actor, workspace: caller.workspaceId },
      cost,
    );
    if (!decision.ok)
      throw new CairnError(
        'RESOURCE_EXHAUSTED',
        `Quota of ${kind} per second exceeded; retry after ${decision.retryAfterSeconds} s`,
        { quota: kind, retryAfterSeconds: decision.retryAfterSeconds },
      );
  }
}
