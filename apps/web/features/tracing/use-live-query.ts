'use client';

import { useCallback, useEffect, useRef, useState } from 'react';
import type { AnyVariables } from '@urql/core';
import { useDashboard } from '../../components/providers.tsx';
import { describeError, type ApiErrorInfo } from '../../lib/graphql/errors.ts';
import {
  TRACES_CHANGED_IDS,
  TRACES_LEFT,
  type TracesChangedIdsResult,
  type TracesLeftResult,
} from '../../lib/graphql/tracing-documents.ts';
import { useSubscriptionEffect } from '../../lib/hooks.ts';

export interface LiveQuery<T> {
  data: T | null;
  error: ApiErrorInfo | null;
  loading: boolean;
  /** Re-reads now (after a mutation). */
  refetch(): void;
  /** When the data was last read (ms), for the "updated" line. */
  readAt: number | null;
}

/**
 * A query kept live by the traces feed: read once, then read again (debounced by `debounceMs`)
 * whenever `tracesChanged(liveFilter)` or `tracesLeft(liveFilter)` pushes. No polling. The previous data stays on screen
 * while a re-read is in flight. `enabled: false` skips both.
 */
export function useLiveTraceQuery<T>(
  query: string,
  variables: AnyVariables,
  liveFilter: string | null,
  { debounceMs = 300, enabled = true }: { debounceMs?: number; enabled?: boolean } = {},
): LiveQuery<T> {
  const { urql } = useDashboard();
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<ApiErrorInfo | null>(null);
  const [loading, setLoading] = useState(true);
  const [readAt, setReadAt] = useState<number | null>(null);
  const key = JSON.stringify(variables);
  const generation = useRef(0);

  const read = useCallback(async () => {
    const gen = ++generation.current;
    setLoading(true);
    const result = await urql
      .query<T>(query, JSON.parse(key) as AnyVariables, { requestPolicy: 'network-only' })
      .toPromise();
    if (gen !== generation.current) return;
    setLoading(false);
    if (result.error || !result.data) {
      setError(describeError(result.error ?? { message: 'No data' }));
      return;
    }
    setError(null);
    setData(result.data);
    setReadAt(Date.now());
  }, [urql, query, key]);

  useEffect(() => {
    if (!enabled) return;
    setData(null);
    void read();
  }, [read, enabled]);

  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const schedule = () => {
    timer.current ??= setTimeout(() => {
      timer.current = null;
      void read();
    }, debounceMs);
  };
  useSubscriptionEffect<TracesChangedIdsResult>(
    TRACES_CHANGED_IDS,
    { filter: liveFilter },
    schedule,
    enabled,
  );
  // A trace deleted or edited out of the filter: tracesChanged does not push it.
  useSubscriptionEffect<TracesLeftResult>(TRACES_LEFT, { filter: liveFilter }, schedule, enabled);
  useEffect(
    () => () => {
      if (timer.current) clearTimeout(timer.current);
    },
    [],
  );

  return { data, error, loading, refetch: () => void read(), readAt };
}
