import { sql, type Kysely } from 'kysely';
import type pg from 'pg';
import type { DB } from '@cairn/db';
import type { Logger } from '../logger.ts';
import { PollingLoop } from '../polling-loop.ts';
import { WEBHOOK_DELIVERIES_CHANNEL } from '../projections/webhooks.projection.ts';
import { SecretBox, SecretBoxError, webhookSecretContext } from './secret-box.ts';
import { signWebhook } from './signature.ts';
import { postWebhook, type PostResult } from './webhook-http.ts';
import { checkWebhookUrl, OPEN_HOST_POLICY, type WebhookHostPolicy } from './webhook-url.ts';

export interface RetryPolicy {
  /** Attempts before a delivery is FAILED (default 8). */
  maxAttempts: number;
  /** Delay after the first failed attempt; doubles after each one (default 10 s). */
  baseDelayMs: number;
  /** Upper bound of one delay (default 1 h). */
  maxDelayMs: number;
  /** Each delay is spread uniformly by ± this fraction (default 0.2). */
  jitter: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 8,
  baseDelayMs: 10_000,
  maxDelayMs: 3_600_000,
  jitter: 0.2,
};

/** The delay before attempt `failedAttempts + 1`, after `failedAttempts` failures (≥ 1). */
export function retryDelayMs(
  failedAttempts: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  const exponent = Math.min(Math.max(failedAttempts - 1, 0), 40);
  const base = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exponent);
  const spread = base * policy.jitter;
  return Math.max(0, Math.round(base - spread + random() * 2 * spread));
}

export interface WebhookSenderOptions {
  /** The server key that opens the sealed signing secrets. */
  secretKey: Buffer;
  /** A pool to hold one LISTEN connection from (wake-ups on new deliveries). */
  pool?: pg.Pool;
  hostPolicy?: WebhookHostPolicy;
  retry?: Partial<RetryPolicy>;
  /** Deadline of one POST (default 10 s). */
  timeoutMs?: number;
  /** Deliveries in flight at once (default 8). */
  concurrency?: number;
  /** Longest sleep when nothing is due and no notice arrives (default 2 s). */
  idlePollMs?: number;
  /** Finished deliveries (and their attempts) older than this are deleted (default 30 days). */
  deliveryRetentionMs?: number;
  /** Time between two prunings (default 1 h; the first runs at start). */
  pruneIntervalMs?: number;
  logger: Logger;
}

export const DEFAULT_DELIVERY_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;

interface Claimed {
  workspace_id: string;
  delivery_id: string;
  webhook_id: string;
  event: string;
  attempts: number;
  payload: string;
}

interface Outcome {
  result: PostResult;
  startedAt: Date;
  durationMs: number;
  /** No further attempt makes sense (the target is refused). */
  permanent: boolean;
}

/**
 * Drains the delivery outbox (`webhook_deliveries`, filled by the `webhooks` projection): claims
 * due rows with `FOR UPDATE SKIP LOCKED` (so several senders share the work) by pushing their
 * `next_attempt_at` past the POST deadline as a lease, POSTs them signed, records each attempt,
 * and reschedules failures with exponential backoff and jitter until `maxAttempts`, then FAILED.
 * A sender that dies mid-POST leaves the lease to expire and another sender tries again: delivery
 * is at least once, and receivers deduplicate by `x-cairn-delivery`.
 */
export class WebhookSender {
  private readonly loop: PollingLoop;
  private readonly secrets: SecretBox;
  private readonly retry: RetryPolicy;
  private readonly timeoutMs: number;
  private readonly concurrency: number;
  private readonly idlePollMs: number;
  private readonly policy: WebhookHostPolicy;
  private readonly inFlight = new Set<Promise<void>>();
  private listener: pg.PoolClient | null = null;
  private listenRetry: NodeJS.Timeout | null = null;
  private pruneTimer: NodeJS.Timeout | null = null;
  private pruning: Promise<unknown> | null = null;
  private stopped = false;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly opts: WebhookSenderOptions,
  ) {
    this.secrets = new SecretBox(opts.secretKey);
    const given = Object.entries(opts.retry ?? {}).filter(([, v]) => v !== undefined);
    this.retry = { ...DEFAULT_RETRY_POLICY, ...Object.fromEntries(given) };
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.concurrency = opts.concurrency ?? 8;
    this.idlePollMs = opts.idlePollMs ?? 2000;
    this.policy = opts.hostPolicy ?? OPEN_HOST_POLICY;
    this.loop = new PollingLoop(
      () => this.step(),
      opts.logger,
      (_error, retryInMs) => `webhook sender: step failed, retrying in ${retryInMs} ms`,
    );
  }

  start(): void {
    void this.listen();
    this.loop.start();
    const every = this.opts.pruneIntervalMs ?? 3_600_000;
    const prune = () => {
      this.pruning ??= this.pruneFinished()
        .catch((error: unknown) =>
          this.opts.logger.error('webhook sender: pruning finished deliveries failed', error),
        )
        .finally(() => (this.pruning = null));
    };
    prune();
    this.pruneTimer = setInterval(prune, every);
    this.pruneTimer.unref();
  }

  /**
   * Deletes finished deliveries (SUCCEEDED or FAILED) created before the retention period, with
   * their attempts, and moves each webhook's horizon to the highest log position pruned, so that
   * a replay of the `webhooks` projection does not queue (and send) them again. Answers how many
   * deliveries it deleted. One statement: a crash leaves nothing half done.
   */
  async pruneFinished(): Promise<number> {
    const retentionMs = this.opts.deliveryRetentionMs ?? DEFAULT_DELIVERY_RETENTION_MS;
    const result = await sql<{ pruned: number }>`
      WITH pruned AS (
        DELETE FROM webhook_deliveries
        WHERE status IN ('SUCCEEDED', 'FAILED')
          AND created_at < now() - ${retentionMs} * interval '1 millisecond'
        RETURNING workspace_id, webhook_id, delivery_id, event_id),
      attempts AS (
        DELETE FROM webhook_delivery_attempts a USING pruned p
        WHERE a.workspace_id = p.workspace_id AND a.delivery_id = p.delivery_id),
      horizons AS (
        INSERT INTO webhook_delivery_horizons (workspace_id, webhook_id, through_position)
        SELECT p.workspace_id, p.webhook_id, max(e.global_position)
        FROM pruned p JOIN events e ON e.event_id = p.event_id::uuid
        GROUP BY p.workspace_id, p.webhook_id
        ON CONFLICT (workspace_id, webhook_id) DO UPDATE
        SET through_position = GREATEST(webhook_delivery_horizons.through_position,
                                        excluded.through_position))
      SELECT count(*)::int AS pruned FROM pruned`.execute(this.db);
    const pruned = result.rows[0]?.pruned ?? 0;
    if (pruned > 0)
      this.opts.logger.info(
        `webhook sender: pruned ${pruned} finished deliveries older than ${Math.round(retentionMs / 86_400_000)} day(s)`,
      );
    return pruned;
  }

  /** Deliveries were queued or a delivery finished: look now. */
  wake(): void {
    this.loop.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.listenRetry) clearTimeout(this.listenRetry);
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    await this.pruning;
    await this.loop.stop();
    await Promise.allSettled([...this.inFlight]);
    const client = this.listener;
    this.listener = null;
    if (client) {
      try {
        await client.query(`UNLISTEN ${WEBHOOK_DELIVERIES_CHANNEL}`);
        client.release();
      } catch {
        client.release(true);
      }
    }
  }

  private async listen(): Promise<void> {
    const pool = this.opts.pool;
    if (!pool || this.stopped) return;
    let client: pg.PoolClient | null = null;
    try {
      client = await pool.connect();
      client.on('notification', (message) => {
        if (message.channel === WEBHOOK_DELIVERIES_CHANNEL) this.wake();
      });
      client.on('error', () => this.relisten(client));
      await client.query(`LISTEN ${WEBHOOK_DELIVERIES_CHANNEL}`);
      if (this.stopped) {
        client.release();
        return;
      }
      this.listener = client;
      // Anything queued while not listening.
      this.wake();
    } catch (error) {
      this.opts.logger.error('webhook sender: cannot LISTEN for new deliveries', error);
      this.relisten(client);
    }
  }

  private relisten(client: pg.PoolClient | null): void {
    if (client) {
      if (this.listener === client) this.listener = null;
      try {
        client.release(true);
      } catch {
        // already released
      }
    }
    if (this.stopped || this.listenRetry) return;
    this.listenRetry = setTimeout(() => {
      this.listenRetry = null;
      void this.listen();
    }, 1000);
  }

  /** One round: claim what is due and start it; answers how long to sleep. */
  private async step(): Promise<number> {
    const free = this.concurrency - this.inFlight.size;
    if (free > 0) {
      const claimed = await this.claim(free);
      for (const delivery of claimed) {
        const task: Promise<void> = this.deliver(delivery)
          .catch((error: unknown) =>
            this.opts.logger.error(
              `webhook sender: delivery ${delivery.delivery_id} failed`,
              error,
            ),
          )
          .finally(() => {
            this.inFlight.delete(task);
            this.wake();
          });
        this.inFlight.add(task);
      }
      if (claimed.length === free) return 0;
    }
    if (this.inFlight.size >= this.concurrency) return this.idlePollMs;
    const next = await sql<{ ms: number | null }>`
      SELECT (extract(epoch FROM min(next_attempt_at) - now()) * 1000)::float8 AS ms
      FROM webhook_deliveries WHERE status IN ('PENDING', 'RETRYING')`.execute(this.db);
    const ms = next.rows[0]?.ms;
    if (ms === null || ms === undefined) return this.idlePollMs;
    return Math.min(this.idlePollMs, Math.max(ms, 5));
  }

  private async claim(limit: number): Promise<Claimed[]> {
    const leaseMs = this.timeoutMs + 30_000;
    const result = await sql<Claimed>`
      WITH due AS (
        SELECT workspace_id, delivery_id FROM webhook_deliveries
        WHERE status IN ('PENDING', 'RETRYING') AND next_attempt_at <= now()
        ORDER BY next_attempt_at
        LIMIT ${limit}
        FOR UPDATE SKIP LOCKED)
      UPDATE webhook_deliveries d
      SET next_attempt_at = now() + ${leaseMs} * interval '1 millisecond'
      FROM due
      WHERE d.workspace_id = due.workspace_id AND d.delivery_id = due.delivery_id
      RETURNING d.workspace_id, d.delivery_id, d.webhook_id, d.event, d.attempts, d.payload`.execute(
      this.db,
    );
    return result.rows;
  }

  private async deliver(delivery: Claimed): Promise<void> {
    const webhook = await this.db
      .selectFrom('webhooks')
      .select(['url', 'active', 'encrypted_secret'])
      .where('workspace_id', '=', delivery.workspace_id)
      .where('webhook_id', '=', delivery.webhook_id)
      .executeTakeFirst();
    if (!webhook || !webhook.active) {
      await this.cancel(delivery, webhook ? 'webhook is inactive' : 'webhook was deleted');
      return;
    }
    const outcome = await this.attempt(delivery, webhook);
    await this.record(delivery, outcome);
  }

  private async attempt(
    delivery: Claimed,
    webhook: { url: string; encrypted_secret: string },
  ): Promise<Outcome> {
    const startedAt = new Date();
    const t0 = performance.now();
    const done = (result: PostResult, permanent = false): Outcome => ({
      result,
      startedAt,
      durationMs: Math.round(performance.now() - t0),
      permanent,
    });
    const target = checkWebhookUrl(webhook.url, this.policy);
    if (!target.ok) return done({ statusCode: null, error: `refused: ${target.reason}` }, true);
    let secret: string;
    try {
      secret = this.secrets.open(
        webhook.encrypted_secret,
        webhookSecretContext(delivery.webhook_id),
      );
    } catch (error) {
      if (!(error instanceof SecretBoxError)) throw error;
      return done({ statusCode: null, error: `cannot open the signing secret: ${error.message}` });
    }
    const timestamp = Math.floor(Date.now() / 1000);
    const result = await postWebhook(
      target.url,
      {
        'content-type': 'application/json',
        'user-agent': 'Cairn-Webhooks/1',
        'x-cairn-event': delivery.event,
        'x-cairn-delivery': delivery.delivery_id,
        'x-cairn-timestamp': String(timestamp),
        'x-cairn-signature': signWebhook(secret, timestamp, delivery.payload),
      },
      delivery.payload,
      { timeoutMs: this.timeoutMs, policy: this.policy },
    );
    if (result.statusCode !== null && (result.statusCode < 200 || result.statusCode > 299))
      return done({ statusCode: result.statusCode, error: `HTTP ${result.statusCode}` });
    return done(result);
  }

  /** The attempt row and the delivery's new state, together; a stale claim changes nothing. */
  private async record(delivery: Claimed, outcome: Outcome): Promise<void> {
    const attempt = delivery.attempts + 1;
    const { statusCode, error } = outcome.result;
    const succeeded = error === null && statusCode !== null;
    const failed = !succeeded && (outcome.permanent || attempt >= this.retry.maxAttempts);
    const status = succeeded ? 'SUCCEEDED' : failed ? 'FAILED' : 'RETRYING';
    const delayMs = succeeded || failed ? null : retryDelayMs(attempt, this.retry);
    await this.db.transaction().execute(async (trx) => {
      const updated = await trx
        .updateTable('webhook_deliveries')
        .set({
          status,
          attempts: attempt,
          last_status_code: statusCode,
          last_error: error,
          next_attempt_at:
            delayMs === null ? null : sql<Date>`now() + ${delayMs} * interval '1 millisecond'`,
          delivered_at: succeeded ? sql<Date>`now()` : null,
        })
        .where('workspace_id', '=', delivery.workspace_id)
        .where('delivery_id', '=', delivery.delivery_id)
        .where('attempts', '=', delivery.attempts)
        .where('status', 'in', ['PENDING', 'RETRYING'])
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) === 0) return;
      await trx
        .insertInto('webhook_delivery_attempts')
        .values({
          workspace_id: delivery.workspace_id,
          delivery_id: delivery.delivery_id,
          attempt,
          started_at: outcome.startedAt,
          duration_ms: outcome.durationMs,
          status_code: statusCode,
          error,
        })
        .execute();
    });
  }

  private async cancel(delivery: Claimed, reason: string): Promise<void> {
    await this.db
      .updateTable('webhook_deliveries')
      .set({ status: 'FAILED', last_error: reason, next_attempt_at: null })
      .where('workspace_id', '=', delivery.workspace_id)
      .where('delivery_id', '=', delivery.delivery_id)
      .where('attempts', '=', delivery.attempts)
      .where('status', 'in', ['PENDING', 'RETRYING'])
      .execute();
  }
}
