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

/** CAIRN_QUOTA_STORAGE_BYTES: artifact bytes a workspace may store; default 0 (no quota). */
export function storageQuotaFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  return numbersFromEnv({ limitBytes: 0 }, { limitBytes: 'CAIRN_QUOTA_STORAGE_BYTES' }, env)
    .limitBytes;
}

/** Room granted to one artifact write; `release()` once its event is projected (or it failed). */
export interface StorageGrant {
  /** The most bytes this write may store (Infinity without a quota). */
  readonly maxBytes: number;
  /** The error for a body that turned out larger than `maxBytes`. */
  exceeded(): CairnError;
  release(): void;
}

/** The grant when no storage quota applies. */
export const NO_STORAGE_QUOTA: StorageGrant = {
  maxBytes: Number.POSITIVE_INFINITY,
  exceeded: () => new CairnError('RESOURCE_EXHAUSTED', 'No storage quota applies'),
  release: () => undefined,
};

/**
 * The storage quota (docs/auth.md, "Rate limits and quotas"): bytes of artifacts per workspace,
 * counted from the `artifacts` read model (every stored file, deleted runs' too, since their
 * bytes stay) plus the writes this process has admitted and not yet projected. Replacing a path
 * frees its old size. Unlike the rates, waiting does not help: the answer is RESOURCE_EXHAUSTED
 * with `quota: 'storage'`, HTTP 507, never retried by the SDKs. Several API processes each count
 * their own in-flight writes, so together they may overshoot by the writes in flight at once.
 */
export class StorageQuota {
  private readonly inFlight = new Map<string, number>();

  constructor(
    readonly limitBytes: number,
    private readonly usage: (workspaceId: string) => Promise<number>,
  ) {}

  get enabled(): boolean {
    return this.limitBytes > 0;
  }

  /**
   * Admits a write of `declared` bytes (null: not known before the body ends) that replaces
   * `replacing` bytes, or throws RESOURCE_EXHAUSTED when it cannot fit.
   */
  async admit(workspaceId: string, declared: number | null, replacing = 0): Promise<StorageGrant> {
    if (!this.enabled) return NO_STORAGE_QUOTA;
    const used = (await this.usage(workspaceId)) + (this.inFlight.get(workspaceId) ?? 0);
    const room = Math.max(0, this.limitBytes - used + replacing);
    const details = (requested: number | null) =>
      new CairnError(
        'RESOURCE_EXHAUSTED',
        `Storage quota of workspace ${workspaceId} exceeded: ${used} of ${this.limitBytes} bytes ` +
          `used${requested === null ? '' : `, ${requested} more requested`}` +
          ' (delete artifacts or raise CAIRN_QUOTA_STORAGE_BYTES)',
        {
          quota: 'storage',
          usedBytes: used,
          limitBytes: this.limitBytes,
          requestedBytes: requested,
        },
      );
    if (declared !== null && declared > room) throw details(declared);
    if (declared === null && room === 0) throw details(null);
    const held = declared ?? room;
    this.inFlight.set(workspaceId, (this.inFlight.get(workspaceId) ?? 0) + held);
    let released = false;
    return {
      maxBytes: declared ?? room,
      exceeded: () => details(null),
      release: () => {
        if (released) return;
        released = true;
        const left = (this.inFlight.get(workspaceId) ?? 0) - held;
        if (left > 0) this.inFlight.set(workspaceId, left);
        else this.inFlight.delete(workspaceId);
      },
    };
  }
}

/** `quota.admit(...)`, or the unlimited grant when the server has no storage quota. */
export function admitStorage(
  quota: StorageQuota | undefined,
  workspaceId: string,
  declared: number | null,
  replacing = 0,
): Promise<StorageGrant> {
  return quota ? quota.admit(workspaceId, declared, replacing) : Promise.resolve(NO_STORAGE_QUOTA);
}

/** HTTP status of a storage-quota refusal: 507 Insufficient Storage (waiting does not help). */
export const STORAGE_QUOTA_STATUS = 507;

export function isStorageQuotaError(error: unknown): error is CairnError {
  return (
    error instanceof CairnError &&
    error.code === 'RESOURCE_EXHAUSTED' &&
    error.details.quota === 'storage'
  );
}
