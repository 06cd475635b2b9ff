/**
 * The background queue behind `CairnClient.logMetric` (docs/typescript-sdk.md, "Batching").
 *
 * Caller's line: `add` validates nothing (the client already did) and appends one object to an
 * array: O(1), no I/O, no promise. Sending: when `flushSize` points wait, on the next turn of the
 * event loop (setImmediate), or `intervalMs` after the first point of an idle queue (an unref'd
 * timer: a queue never keeps the process alive by itself), the queue is drained one batch at a
 * time: at most `maxPointsPerRequest` points, grouped per run, one `logBatch` each, in order.
 * Batches go with `sync: false` (durable when the server answers) except the one that empties
 * the queue or reaches a pending `flush()`: that one waits for the read model, so everything sent
 * before it is queryable when `flush()` resolves.
 *
 * Failures: the transport retries (server down, 5xx, 429) for `retryTimeoutMs`; points the server
 * refuses or that could not be sent are counted and reported by the next `flush()` as a
 * BatchLoggingError. Memory is bounded: beyond `maxQueue` waiting points new points are dropped,
 * counted, reported by `flush()` and warned about once per flush. In Node, `beforeExit` flushes
 * what is left (bounded by `exitTimeoutMs`); in browsers the client calls `sendWaitingNow()` on
 * `pagehide` / `visibilitychange` (client-browser.ts).
 */
import type { CairnLogger } from './config.ts';
import { BatchLoggingError, CairnError } from './errors.ts';

export interface QueuedPoint {
  runId: string;
  key: string;
  value: number;
  step: number;
  timestamp: number;
}

export interface BatcherSettings {
  /** This many waiting points start a send on the next turn (default 10,000). */
  flushSize: number;
  /** A non-empty queue is sent at least this often (default 1 s). */
  intervalMs: number;
  /** Points per request (default and server maximum 50,000). */
  maxPointsPerRequest: number;
  /** Waiting points beyond this are dropped and reported (default 1,000,000). */
  maxQueue: number;
  /** How long the `beforeExit` flush may retry (default 10 s). */
  exitTimeoutMs: number;
  logger: CairnLogger;
}

/** Sends one run's points; `sync` waits for the read model. `shouldStop` ends retries.
 * `urgent` (a browser page being hidden): start the request(s) before returning, no yielding. */
export type SendMetrics = (
  runId: string,
  points: QueuedPoint[],
  sync: boolean,
  shouldStop: () => boolean,
  urgent?: boolean,
) => Promise<void>;

/** The next turn of the event loop: setImmediate in Node, a 0 ms timer elsewhere. */
export const nextTurn: (fn: () => void) => void =
  typeof setImmediate === 'function'
    ? (fn) => void setImmediate(fn)
    : (fn) => void setTimeout(fn, 0);

/** Lets a timer not keep a Node process alive (browsers' timers are numbers: nothing to do). */
export function unrefTimer(timer: ReturnType<typeof setTimeout>): void {
  if (typeof timer === 'object' && timer !== null && 'unref' in timer) timer.unref();
}

export interface BatcherStats {
  /** Points accepted by `add` since the start. */
  queued: number;
  /** Points acknowledged by the server. */
  sent: number;
  /** Points not recorded (refused, unsendable, or dropped because the queue was full). */
  failed: number;
  /** Points waiting or in flight. */
  pending: number;
  requests: number;
}

const MAX_KEPT_ERRORS = 100;

interface Waiter {
  target: number;
  resolve: () => void;
}

export class MetricBatcher {
  private queue: QueuedPoint[] = [];
  private head = 0;
  private accepted = 0;
  private done = 0;
  private sent = 0;
  private failed = 0;
  private requests = 0;
  private errors: CairnError[] = [];
  private unreported = 0;
  private fullWarned = false;
  private waiters: Waiter[] = [];
  private draining = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private immediate = false;
  private abandoned = false;
  private exiting = false;
  private closed = false;

  constructor(
    private readonly send: SendMetrics,
    readonly settings: BatcherSettings,
  ) {}

  /** Points waiting or in flight. */
  get pending(): number {
    return this.accepted - this.done;
  }

  stats(): BatcherStats {
    return {
      queued: this.accepted,
      sent: this.sent,
      failed: this.failed,
      pending: this.pending,
      requests: this.requests,
    };
  }

  /** Queues one point; returns at once. */
  add(point: QueuedPoint): void {
    if (this.closed) {
      this.recordDropped(1);
      return;
    }
    if (this.queue.length - this.head >= this.settings.maxQueue) {
      this.recordDropped(1);
      if (!this.fullWarned) {
        this.fullWarned = true;
        this.settings.logger.warn(
          `${this.settings.maxQueue} metric points are waiting to be sent; dropping new ones (flush() reports how many)`,
        );
      }
      return;
    }
    this.queue.push(point);
    this.accepted += 1;
    if (this.accepted - this.done === 1) exitHook.watch(this);
    if (this.draining) return;
    if (this.queue.length - this.head >= this.settings.flushSize) this.soon();
    else if (this.timer === null && !this.immediate) {
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.drain();
      }, this.settings.intervalMs);
      unrefTimer(this.timer);
    }
  }

  /**
   * Resolves when every point queued before the call has been acknowledged by the server and
   * is queryable; rejects with a BatchLoggingError when some were not recorded since the last
   * flush (they are reported once).
   */
  async flush(): Promise<void> {
    const target = this.accepted;
    if (this.done < target) {
      await new Promise<void>((resolve) => {
        this.waiters.push({ target, resolve });
        this.soon();
      });
    }
    this.report();
  }

  /** Stops accepting points; flushes what is queued. */
  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      this.closed = true;
      exitHook.forget(this);
    }
  }

  private report(): void {
    if (this.unreported === 0) return;
    const error = new BatchLoggingError(this.errors, this.unreported);
    this.errors = [];
    this.unreported = 0;
    this.fullWarned = false;
    throw error;
  }

  private recordDropped(count: number, error?: CairnError): void {
    this.failed += count;
    this.unreported += count;
    if (error && this.errors.length < MAX_KEPT_ERRORS) this.errors.push(error);
  }

  /** Starts a drain on the next turn of the event loop (never on the caller's line). */
  private soon(): void {
    if (this.draining || this.immediate) return;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.immediate = true;
    nextTurn(() => {
      this.immediate = false;
      void this.drain();
    });
  }

  /**
   * A browser page is being hidden or unloaded: every waiting point (not those already in
   * flight) is handed to `send` as urgent, per run, whose requests start before this returns
   * (the page may not get another turn). Results are counted as usual and reported by the next
   * `flush()` if the page lives on.
   */
  sendWaitingNow(): void {
    if (this.head >= this.queue.length) return;
    const batch = this.queue.slice(this.head);
    this.queue = [];
    this.head = 0;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const perRun = new Map<string, QueuedPoint[]>();
    for (const point of batch) {
      const list = perRun.get(point.runId);
      if (list) list.push(point);
      else perRun.set(point.runId, [point]);
    }
    for (const [runId, points] of perRun) {
      this.requests += 1;
      let sending: Promise<void>;
      try {
        sending = this.send(runId, points, true, () => false, true);
      } catch (error) {
        sending = Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
      void sending
        .then(
          () => {
            this.sent += points.length;
          },
          (error: unknown) => this.recordFailure(runId, points.length, error),
        )
        .finally(() => {
          this.done += points.length;
          this.wake();
          if (this.pending === 0) exitHook.forget(this);
        });
    }
  }

  private recordFailure(runId: string, count: number, error: unknown): void {
    const failure =
      error instanceof CairnError
        ? error
        : new CairnError(error instanceof Error ? error.message : String(error), 'INTERNAL');
    this.recordDropped(count, failure);
    this.settings.logger.error(
      `${count} metric point(s) of run ${runId} were not recorded: ${failure.message}`,
    );
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.head < this.queue.length) {
        const end = Math.min(this.queue.length, this.head + this.settings.maxPointsPerRequest);
        const batch = this.queue.slice(this.head, end);
        this.head = end;
        if (this.head === this.queue.length) {
          this.queue = [];
          this.head = 0;
        } else if (this.head >= 65_536) {
          this.queue = this.queue.slice(this.head);
          this.head = 0;
        }
        const reachesFlush = this.waiters.some((w) => w.target <= this.done + batch.length);
        const sync = reachesFlush || this.head >= this.queue.length;
        const perRun = new Map<string, QueuedPoint[]>();
        for (const point of batch) {
          const list = perRun.get(point.runId);
          if (list) list.push(point);
          else perRun.set(point.runId, [point]);
        }
        for (const [runId, points] of perRun) {
          this.requests += 1;
          try {
            await this.send(runId, points, sync, () => this.abandoned);
            this.sent += points.length;
          } catch (error) {
            this.recordFailure(runId, points.length, error);
          }
        }
        this.done += batch.length;
        this.wake();
      }
    } finally {
      this.draining = false;
      this.wake();
      if (this.pending === 0) exitHook.forget(this);
      else if (this.head < this.queue.length) this.soon();
    }
  }

  private wake(): void {
    if (this.waiters.length === 0) return;
    const ready = this.waiters.filter((w) => w.target <= this.done);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((w) => w.target > this.done);
    for (const w of ready) w.resolve();
  }

  /** The `beforeExit` flush: once per batcher, bounded by `exitTimeoutMs`, errors logged. */
  flushAtExit(): void {
    if (this.exiting) {
      // beforeExit again while the exit flush sleeps before a retry: the process is leaving
      this.settings.logger.error(
        `${this.pending} metric point(s) not sent before the process exited`,
      );
      return;
    }
    this.exiting = true;
    const deadline = setTimeout(() => {
      this.abandoned = true;
    }, this.settings.exitTimeoutMs);
    unrefTimer(deadline);
    this.flush().then(
      () => {
        clearTimeout(deadline);
        this.exiting = false;
      },
      (error: unknown) => {
        clearTimeout(deadline);
        this.exiting = false;
        this.settings.logger.error(
          `at exit: ${error instanceof Error ? error.message : String(error)}`,
        );
      },
    );
  }
}

/** One `beforeExit` listener for every batcher with pending points. */
const exitHook = {
  active: new Set<MetricBatcher>(),
  installed: false,
  listener: () => {
    for (const batcher of [...exitHook.active]) batcher.flushAtExit();
  },
  watch(batcher: MetricBatcher): void {
    this.active.add(batcher);
    if (!this.installed && typeof process !== 'undefined' && typeof process.on === 'function') {
      process.on('beforeExit', this.listener);
      this.installed = true;
    }
  },
  forget(batcher: MetricBatcher): void {
    this.active.delete(batcher);
    if (this.active.size === 0 && this.installed) {
      process.off('beforeExit', this.listener);
      this.installed = false;
    }
  },
};
