/**
 * `CairnSpanProcessor`: a batching `SpanProcessor` with a bounded queue that never blocks the
 * caller. Ended spans wait in memory; the sender wakes when `batchSize` spans wait, when a root
 * span ends (a finished trace reaches the server within milliseconds), or every `intervalMs`,
 * and hands batches to its exporter one at a time. When `maxQueue` spans wait, new ones are
 * dropped and counted (`stats().droppedSpans`, one warning). Its timer does not keep the process
 * alive; `beforeExit` flushes what is left (bounded by `exitTimeoutMs`).
 */
import type { Context } from '@opentelemetry/api';
import { TraceFlags } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type {
  ReadableSpan,
  Span,
  SpanExporter,
  SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import {
  resolveProcessorOptions,
  type ProcessorOptions,
  type ResolvedProcessorOptions,
} from './config.ts';
import { CairnSpanExporter } from './exporter.ts';

export interface ProcessorStats {
  /** Spans waiting or being exported. */
  pendingSpans: number;
  /** Spans handed to the exporter whose export succeeded / failed. */
  exportedSpans: number;
  failedSpans: number;
  /** Spans dropped because the queue was full. */
  droppedSpans: number;
}

interface Waiter {
  target: number;
  resolve: () => void;
}

export class CairnSpanProcessor implements SpanProcessor {
  readonly exporter: SpanExporter;
  private readonly options: ResolvedProcessorOptions;
  private queue: ReadableSpan[] = [];
  private enqueued = 0;
  private done = 0;
  private inFlight = 0;
  private exported = 0;
  private failed = 0;
  private dropped = 0;
  private warnedFull = false;
  private sending = false;
  private timer: NodeJS.Timeout | undefined;
  private waiters: Waiter[] = [];
  private closed = false;
  private readonly onBeforeExit = () => {
    if (this.pending() === 0) return;
    void this.flushWithin(this.options.exitTimeoutMs);
  };

  constructor(exporter?: SpanExporter, options: ProcessorOptions = {}) {
    this.exporter = exporter ?? new CairnSpanExporter();
    this.options = resolveProcessorOptions(options);
    process.on('beforeExit', this.onBeforeExit);
  }

  stats(): ProcessorStats {
    return {
      pendingSpans: this.pending(),
      exportedSpans: this.exported,
      failedSpans: this.failed,
      droppedSpans: this.dropped,
    };
  }

  onStart(_span: Span, _parentContext: Context): void {}

  onEnd(span: ReadableSpan): void {
    if (this.closed) return;
    if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
    if (this.queue.length + this.inFlight >= this.options.maxQueue) {
      this.dropped++;
      if (!this.warnedFull) {
        this.warnedFull = true;
        this.options.logger.warn(
          `${this.queue.length + this.inFlight} spans are waiting to be exported; dropping new spans (maxQueue ${this.options.maxQueue}, CAIRN_TRACE_EXPORT_MAX_QUEUE)`,
        );
      }
      return;
    }
    this.queue.push(span);
    this.enqueued++;
    const root = span.parentSpanContext === undefined || span.parentSpanContext.isRemote === true;
    if (root || this.queue.length >= this.options.batchSize) this.wake();
    else this.arm();
  }

  /** Sends what waits now instead of at the next tick. */
  wake(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (!this.sending) void this.drain();
  }

  /** Resolves once every span that ended before the call was exported (or given up on). */
  forceFlush(): Promise<void> {
    const target = this.enqueued;
    const wait =
      this.done >= target
        ? Promise.resolve()
        : new Promise<void>((resolve) => this.waiters.push({ target, resolve }));
    this.wake();
    return wait.then(() => this.exporter.forceFlush?.());
  }

  /** `forceFlush`, but gives up after `timeoutMs`; false on timeout. */
  async flushWithin(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
      timer.unref();
    });
    try {
      return await Promise.race([this.forceFlush().then(() => true), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async shutdown(): Promise<void> {
    if (this.closed) return;
    process.off('beforeExit', this.onBeforeExit);
    const ok = await this.flushWithin(this.options.exitTimeoutMs);
    if (!ok)
      this.options.logger.error(
        `${this.pending()} span(s) were not exported within ${this.options.exitTimeoutMs} ms`,
      );
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.exporter.shutdown();
  }

  private pending(): number {
    return this.queue.length + this.inFlight;
  }

  private arm(): void {
    if (this.timer || this.sending) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.drain();
    }, this.options.intervalMs);
    this.timer.unref();
  }

  private async drain(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.options.batchSize);
        this.inFlight = batch.length;
        const result = await this.exportBatch(batch);
        this.inFlight = 0;
        if (result.code === ExportResultCode.SUCCESS) this.exported += batch.length;
        else this.failed += batch.length;
        this.done += batch.length;
        this.release();
      }
    } finally {
      this.sending = false;
      this.inFlight = 0;
    }
  }

  private exportBatch(batch: ReadableSpan[]): Promise<ExportResult> {
    return new Promise<ExportResult>((resolve) => {
      try {
        this.exporter.export(batch, resolve);
      } catch (error) {
        resolve({ code: ExportResultCode.FAILED, error: error as Error });
      }
    });
  }

  private release(): void {
    if (this.waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const waiter of this.waiters) {
      if (this.done >= waiter.target) waiter.resolve();
      else still.push(waiter);
    }
    this.waiters = still;
  }
}
