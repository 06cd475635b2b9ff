/**
 * Time travel in the dashboard (issue 17, docs/governance.md "Time travel"): the `?asOf=` URL
 * value, the slider's range and its snap points. Pure: no React, no I/O.
 */

/**
 * Reads `?asOf=` (an ISO date-time or epoch ms); null (now, the live view) when absent,
 * unreadable, or not before `now` (the API answers a future `asOf` with the live read).
 */
export function parseAsOf(value: string | null | undefined, now = Infinity): number | null {
  if (!value) return null;
  const ms = /^\d+$/u.test(value) ? Number(value) : Date.parse(value);
  return Number.isFinite(ms) && ms < now ? ms : null;
}

/** The `?asOf=` value for a time (ISO, UTC, milliseconds): readable and shareable. */
export function formatAsOf(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * A history entry's time as a point to look at: the entry's `at` is its event's recorded time
 * truncated to milliseconds while the log keeps microseconds, so the point is 1 ms later, which
 * includes the event in an `asOf` answer (`recorded_at <= asOf`).
 */
export const snapPointOf = (at: number): number => Math.floor(at) + 1;

/** Sorted, distinct snap points (history entry times, via `snapPointOf`) inside [min, max]. */
export function snapPoints(times: readonly number[], min: number, max: number): number[] {
  const points = new Set<number>();
  for (const t of times) {
    if (!Number.isFinite(t)) continue;
    const p = snapPointOf(t);
    if (p >= min && p <= max) points.add(p);
  }
  return [...points].sort((a, b) => a - b);
}

/**
 * Where a slider value lands: the nearest snap point when it is within `fraction` of the range,
 * else the value itself.
 */
export function snap(
  value: number,
  points: readonly number[],
  min: number,
  max: number,
  fraction = 0.02,
): number {
  const reach = Math.max(0, (max - min) * fraction);
  let best: number | null = null;
  for (const p of points) {
    if (
      Math.abs(p - value) <= reach &&
      (best === null || Math.abs(p - value) < Math.abs(best - value))
    )
      best = p;
  }
  return best ?? value;
}

/** The snap point before (-1) or after (+1) `at`, or null when there is none. */
export function stepTo(at: number, points: readonly number[], direction: -1 | 1): number | null {
  if (direction < 0) {
    for (let i = points.length - 1; i >= 0; i--) if (points[i]! < at) return points[i]!;
    return null;
  }
  for (const p of points) if (p > at) return p;
  return null;
}

/**
 * The slider value meaning "now": a value at or past `now`, or within the last 0.5 % of the
 * range after the last snap point, is the live view (null).
 */
export function asOfFromSlider(
  value: number,
  points: readonly number[],
  min: number,
  now: number,
): number | null {
  const last = points.length ? points[points.length - 1]! : min;
  if (value >= now) return null;
  if (value > last && now - value <= (now - min) * 0.005) return null;
  return value;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** The value of an `<input type="datetime-local" step="1">` for a time, in local time. */
export function toLocalInput(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Reads a `datetime-local` value (local time); null when empty or invalid. */
export function fromLocalInput(value: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?$/u.exec(value);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac] = m;
  const ms = new Date(
    Number(y),
    Number(mo) - 1,
    Number(d),
    Number(h),
    Number(mi),
    Number(s ?? 0),
    Number((frac ?? '0').padEnd(3, '0')),
  ).getTime();
  return Number.isFinite(ms) ? ms : null;
}
