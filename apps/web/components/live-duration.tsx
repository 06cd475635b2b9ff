'use client';

import { formatDuration, runDuration } from '../lib/format.ts';
import { useNow } from '../lib/hooks.ts';

/** A run's duration; ticks every second while the run has no end (only this text re-renders). */
export function LiveDuration({ start, end }: { start: number; end: number | null }) {
  const now = useNow(1000, end === null);
  return <>{formatDuration(runDuration(start, end, now))}</>;
}
