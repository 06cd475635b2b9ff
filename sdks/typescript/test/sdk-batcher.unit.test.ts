/**
 * MetricBatcher (the queue behind CairnClient.logMetric) with a recording sender: batching by
 * size and per run, order, sync on the batch that empties the queue, flush semantics, failures
 * reported once by flush, the bounded queue, the interval timer and that it keeps no process
 * alive. The real server path is in sdk-tracking.int.test.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  BatchLoggingError,
  CairnError,
  MetricBatcher,
  type BatcherSettings,
  type QueuedPoint,
} from '../src/index.ts';

interface Call {
  runId: string;
  points: QueuedPoint[];
  sync: boolean;
}

function recorder(fail?: (runId: string) => CairnError | null) {
  const calls: Call[] = [];
  const gates: (() => void)[] = [];
  let hold = false;
  const send = async (runId: string, points: QueuedPoint[], sync: boolean) => {
    calls.push({ runId, points, sync });
    if (hold) await new Promise<void>((resolve) => gates.push(resolve));
    const error = fail?.(runId);
    if (error) throw error;
  };
  return {
    calls,
    send,
    hold: (on: boolean) => {
      hold = on;
    },
    release: () => {
      for (const g of gates.splice(0)) g();
    },
  };
}

const logger = () => {
  const lines: string[] = [];
  return { lines, warn: (m: string) => lines.push(m), error: (m: string) => lines.push(m) };
};

function settings(overrides: Partial<BatcherSettings> = {}): BatcherSettings {
  return {
    flushSize: 10_000,
    intervalMs: 60_000,
    maxPointsPerRequest: 50_000,
    maxQueue: 1_000_000,
    exitTimeoutMs: 1000,
    logger: logger(),
    ...overrides,
  };
}

const point = (runId: string, step: number, key = 'loss'): QueuedPoint => ({
  runId,
  key,
  value: step / 10,
  step,
  timestamp: 1_700_000_000_000 + step,
});

async function until(check: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('MetricBatcher', () => {
  it('sends nothing on the caller line; splits 120k points into requests in order, only the last sync', async () => {
    const r = recorder();
    const b = new MetricBatcher(r.send, settings());
    for (let i = 0; i < 120_000; i++) b.add(point('run-a', i));
    expect(r.calls).toHaveLength(0);
    expect(b.pending).toBe(120_000);
    await b.flush();
    expect(r.calls.map((c) => c.points.length)).toEqual([50_000, 50_000, 20_000]);
    expect(r.calls.map((c) => c.sync)).toEqual([false, false, true]);
    const steps = r.calls.flatMap((c) => c.points.map((p) => p.step));
    expect(steps).toEqual(Array.from({ length: 120_000 }, (_, i) => i));
    expect(b.stats()).toMatchObject({ queued: 120_000, sent: 120_000, failed: 0, pending: 0 });
  });

  it('groups a batch per run, keeping each run’s order', async () => {
    const r = recorder();
    const b = new MetricBatcher(r.send, settings());
    for (let i = 0; i < 6; i++) b.add(point(i % 2 ? 'odd' : 'even', i));
    await b.flush();
    expect(r.calls.map((c) => [c.runId, c.points.map((p) => p.step), c.sync])).toEqual([
      ['even', [0, 2, 4], true],
      ['odd', [1, 3, 5], true],
    ]);
  });

  it('flush resolves only when what was queued before it is acknowledged', async () => {
    const r = recorder();
    r.hold(true);
    const b = new MetricBatcher(r.send, settings());
    b.add(point('run-a', 1));
    let flushed = false;
    const done = b.flush().then(() => {
      flushed = true;
    });
    await until(() => r.calls.length === 1);
    b.add(point('run-a', 2)); // after the flush: not waited for
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(flushed).toBe(false);
    r.release();
    await done;
    expect(flushed).toBe(true);
    r.hold(false);
    r.release();
    await b.flush();
    expect(r.calls.map((c) => c.points.map((p) => p.step))).toEqual([[1], [2]]);
  });

  it('reports a refused batch once, from flush, with the server code; other runs are sent', async () => {
    const r = recorder((runId) =>
      runId === 'gone' ? new CairnError('Run gone not found', 'NOT_FOUND', { runId }) : null,
    );
    const log = logger();
    const b = new MetricBatcher(r.send, settings({ logger: log }));
    b.add(point('gone', 1));
    b.add(point('gone', 2));
    b.add(point('ok', 3));
    const error = await b.flush().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BatchLoggingError);
    const batchError = error as BatchLoggingError;
    expect(batchError.code).toBe('NOT_FOUND');
    expect(batchError.dropped).toBe(2);
    expect(batchError.errors.map((e) => e.code)).toEqual(['NOT_FOUND']);
    expect(log.lines.some((l) => l.includes('2 metric point(s) of run gone'))).toBe(true);
    expect(b.stats()).toMatchObject({ sent: 1, failed: 2, pending: 0 });
    await expect(b.flush()).resolves.toBeUndefined();
  });

  it('is bounded: points beyond maxQueue are dropped, counted and reported', async () => {
    const r = recorder();
    const log = logger();
    const b = new MetricBatcher(r.send, settings({ maxQueue: 100, logger: log }));
    for (let i = 0; i < 150; i++) b.add(point('run-a', i));
    expect(b.pending).toBe(100);
    expect(log.lines.filter((l) => l.includes('dropping'))).toHaveLength(1);
    const error = (await b.flush().catch((e: unknown) => e)) as BatchLoggingError;
    expect(error).toBeInstanceOf(BatchLoggingError);
    expect(error.dropped).toBe(50);
    expect(r.calls.flatMap((c) => c.points)).toHaveLength(100);
  });

  it('sends a small queue after intervalMs without a flush, and flushSize starts a send early', async () => {
    const r = recorder();
    const b = new MetricBatcher(r.send, settings({ intervalMs: 30, flushSize: 1000 }));
    b.add(point('run-a', 1));
    await until(() => r.calls.length === 1);
    expect(r.calls[0]?.points).toHaveLength(1);
    const slow = new MetricBatcher(r.send, settings({ intervalMs: 60_000, flushSize: 5 }));
    for (let i = 0; i < 5; i++) slow.add(point('run-b', i));
    await until(() => r.calls.length === 2);
    expect(r.calls[1]?.points).toHaveLength(5);
  });

  it('keeps no timer that holds the process open while points wait', () => {
    const r = recorder();
    const b = new MetricBatcher(r.send, settings({ intervalMs: 60_000 }));
    const before = process.getActiveResourcesInfo().filter((x) => x === 'Timeout').length;
    b.add(point('run-a', 1));
    const after = process.getActiveResourcesInfo().filter((x) => x === 'Timeout').length;
    expect(b.pending).toBe(1);
    expect(after).toBe(before);
  });

  it('close flushes, then refuses (and reports) later points', async () => {
    const r = recorder();
    const b = new MetricBatcher(r.send, settings());
    b.add(point('run-a', 1));
    await b.close();
    expect(r.calls).toHaveLength(1);
    b.add(point('run-a', 2));
    await expect(b.flush()).rejects.toBeInstanceOf(BatchLoggingError);
  });
});
