/** Load drivers: closed loop (N clients back to back) and bounded-concurrency maps. */

export interface LoadResult {
  /** Operations completed inside the measurement window. */
  ops: number;
  /** Items (e.g. metric points) acknowledged inside the measurement window. */
  items: number;
  /** Items acknowledged in total (warm-up and drain included). */
  totalItems: number;
  /** Length of the measurement window in seconds. */
  seconds: number;
  /** Latencies (ms) of the operations completed inside the window. */
  latencies: number[];
  errors: number;
  firstError: string | null;
  startedAt: number;
  endedAt: number;
}

/**
 * `clients` loops call `op` back to back for warmupMs + durationMs. Only operations that complete
 * inside the window after the warm-up count toward rates and latencies; the loops stop issuing
 * at the end of the window and the call returns once every in-flight operation has finished.
 * `op` returns the number of items it carried (1 for a plain request).
 */
export async function closedLoop(opts: {
  clients: number;
  warmupMs: number;
  durationMs: number;
  op: (client: number, iteration: number) => Promise<number>;
  maxErrors?: number;
}): Promise<LoadResult> {
  const startedAt = performance.now();
  const windowStart = startedAt + opts.warmupMs;
  const windowEnd = windowStart + opts.durationMs;
  const latencies: number[] = [];
  let ops = 0;
  let items = 0;
  let totalItems = 0;
  let errors = 0;
  let firstError: string | null = null;
  const maxErrors = opts.maxErrors ?? 50;
  await Promise.all(
    Array.from({ length: opts.clients }, async (_, client) => {
      for (let i = 0; performance.now() < windowEnd && errors < maxErrors; i++) {
        const t0 = performance.now();
        try {
          const n = await opts.op(client, i);
          const t1 = performance.now();
          totalItems += n;
          if (t1 >= windowStart && t1 <= windowEnd) {
            ops += 1;
            items += n;
            latencies.push(t1 - t0);
          }
        } catch (error) {
          errors += 1;
          firstError ??= error instanceof Error ? error.message : String(error);
        }
      }
    }),
  );
  if (errors >= maxErrors) throw new Error(`too many errors (${errors}); first: ${firstError}`);
  return {
    ops,
    items,
    totalItems,
    seconds: opts.durationMs / 1000,
    latencies,
    errors,
    firstError,
    startedAt,
    endedAt: performance.now(),
  };
}

/**
 * Open loop at a fixed rate: `op` is started every 1/ratePerSecond seconds (spread over `clients`
 * lanes so that no lane has two in flight; a late lane skips ahead instead of bursting).
 */
export async function paced(opts: {
  clients: number;
  ratePerSecond: number;
  durationMs: number;
  op: (client: number, iteration: number) => Promise<void>;
}): Promise<{ sent: number; late: number }> {
  const intervalMs = (1000 * opts.clients) / opts.ratePerSecond;
  const end = performance.now() + opts.durationMs;
  let sent = 0;
  let late = 0;
  await Promise.all(
    Array.from({ length: opts.clients }, async (_, client) => {
      let next = performance.now() + (intervalMs * client) / opts.clients;
      for (let i = 0; next < end; i++) {
        const wait = next - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        else if (wait < -intervalMs) late += 1;
        await opts.op(client, i);
        sent += 1;
        next = Math.max(next + intervalMs, performance.now() - intervalMs);
      }
    }),
  );
  return { sent, late };
}

/** Runs fn over items with at most `concurrency` in flight; returns results in order. */
export async function mapConcurrent<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      for (;;) {
        const i = next++;
        if (i >= items.length) return;
        results[i] = await fn(items[i]!, i);
      }
    }),
  );
  return results;
}
