'use client';

import { useEffect, useId, useRef, useState } from 'react';
import { formatTimestamp } from '../lib/format.ts';
import { useNow } from '../lib/hooks.ts';
import {
  asOfFromSlider,
  fromLocalInput,
  snap,
  snapPoints,
  stepTo,
  toLocalInput,
} from '../lib/time-travel.ts';

/** How long the slider rests before the page re-queries (dragging does not fire a query per pixel). */
const SLIDER_REST_MS = 300;

/**
 * "Show it as it was" (issue 17): a time slider from the object's creation to now, snapping to
 * its history entries (`times`), a date-time input, and, while viewing the past, the banner
 * "Viewing as of … — Back to now". Arrow keys on the slider step from change to change, Home goes
 * to the creation, End to now. The page owns the value (`?asOf=` in its URL) and re-queries with
 * it; null is now (live).
 */
export function TimeTravelBar({
  createdAt,
  times,
  asOf,
  onChange,
  subject,
}: {
  /** The object's creation (the slider's start); null while unknown. */
  createdAt: number | null;
  /** Its history entries' times (the snap points). */
  times: readonly number[];
  asOf: number | null;
  onChange: (asOf: number | null) => void;
  /** What is shown, e.g. "the model": labels only. */
  subject: string;
}) {
  const now = useNow(30_000);
  const min = createdAt ?? now;
  const max = Math.max(now, min + 1);
  const points = snapPoints(times, min, max);
  const [draft, setDraft] = useState<number | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const id = useId();
  useEffect(
    () => () => {
      if (timer.current) clearTimeout(timer.current);
    },
    [],
  );
  // A new value from the page (URL, Back to now) replaces a draft.
  useEffect(() => setDraft(null), [asOf]);

  const commit = (value: number | null) => {
    if (timer.current) clearTimeout(timer.current);
    timer.current = null;
    setDraft(null);
    if (value !== asOf) onChange(value);
  };
  const slide = (raw: number) => {
    setDraft(raw);
    if (timer.current) clearTimeout(timer.current);
    timer.current = setTimeout(
      () => commit(asOfFromSlider(snap(raw, points, min, max), points, min, now)),
      SLIDER_REST_MS,
    );
  };
  const at = asOf ?? now;
  const earlier = stepTo(at, points, -1);
  const later = asOf === null ? null : stepTo(at, points, 1);
  const value = Math.min(max, Math.max(min, draft ?? at));

  return (
    <div className="time-travel" data-testid="time-travel">
      {asOf !== null && (
        <p className="time-travel-banner" role="status" data-testid="as-of-banner">
          Viewing {subject} as of{' '}
          <time dateTime={new Date(asOf).toISOString()}>{formatTimestamp(asOf)}</time>
          {' — '}
          <button type="button" className="primary" onClick={() => commit(null)}>
            Back to now
          </button>{' '}
          <span className="muted">Changes are disabled and live updates paused.</span>
        </p>
      )}
      <div className="time-travel-controls">
        <label htmlFor={`${id}-slider`}>As of</label>
        <button
          type="button"
          disabled={earlier === null}
          aria-label="Earlier change"
          onClick={() => earlier !== null && commit(earlier)}
        >
          ◀
        </button>
        <input
          id={`${id}-slider`}
          type="range"
          min={min}
          max={max}
          step={1}
          value={value}
          list={`${id}-points`}
          aria-label={`Time slider: ${subject} as of`}
          aria-valuetext={asOf === null && draft === null ? 'now' : formatTimestamp(value)}
          disabled={createdAt === null}
          onChange={(e) => slide(Number(e.target.value))}
          onKeyDown={(e) => {
            let target: number | null | undefined;
            if (e.key === 'ArrowLeft' || e.key === 'ArrowDown') target = stepTo(at, points, -1);
            else if (e.key === 'ArrowRight' || e.key === 'ArrowUp')
              target = asOf === null ? undefined : (stepTo(at, points, 1) ?? null);
            else if (e.key === 'Home') target = points[0] ?? min;
            else if (e.key === 'End') target = null;
            else return;
            e.preventDefault();
            if (target !== undefined) commit(target);
          }}
        />
        <datalist id={`${id}-points`}>
          {points.map((p) => (
            <option key={p} value={p} />
          ))}
        </datalist>
        <button
          type="button"
          disabled={later === null && asOf === null}
          aria-label="Later change"
          onClick={() => commit(later)}
        >
          ▶
        </button>
        <input
          type="datetime-local"
          step={1}
          aria-label={`Date and time: ${subject} as of`}
          value={toLocalInput(draft ?? at)}
          onChange={(e) => {
            const ms = fromLocalInput(e.target.value);
            if (ms !== null) commit(ms >= now ? null : ms);
          }}
        />
        <span className="muted" data-testid="as-of-label">
          {asOf === null ? 'now (live)' : formatTimestamp(asOf)}
        </span>
      </div>
    </div>
  );
}
