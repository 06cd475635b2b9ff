'use client';

import { useCallback, useEffect, useRef, useState } from 'react';
import type { AnyVariables } from '@urql/core';
import { useDashboard } from '../../components/providers.tsx';
import { describeError, type ApiErrorInfo } from '../../lib/graphql/errors.ts';
import { useSubscriptionEffect } from '../../lib/hooks.ts';

/**
 * Calls `onPush` (debounced by `ms`, so a burst of pushes is one re-read) whenever the
 * subscription pushes. No polling: the evaluation pages re-read on `evaluationRunChanged` and
 * `assessmentsChanged` only.
 */
export function useDebouncedPush(
  subscription: string,
  variables: AnyVariables,
  onPush: () => void,
  { enabled = true, ms = 250 }: { enabled?: boolean; ms?: number } = {},
): void {
  const handler = useRef(onPush);
  useEffect(() => {
    handler.current = onPush;
  });
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useSubscriptionEffect(
    subscription,
    variables,
    () => {
      timer.current ??= setTimeout(() => {
        timer.current = null;
        handler.current();
      }, ms);
    },
    enabled,
  );
  useEffect(
    () => () => {
      if (timer.current) clearTimeout(timer.current);
    },
    [],
  );
}

export interface QueryState<T> {
  data: T | null;
  error: ApiErrorInfo | null;
  loading: boolean;
  /** Reads again (the data on screen stays until the answer). */
  refetch(): void;
}

/** A query read once and again on `refetch()`, network-only, latest answer wins. */
export function useReadQuery<T>(
  query: string,
  variables: AnyVariables,
  enabled = true,
): QueryState<T> {
  const { urql } = useDashboard();
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<ApiErrorInfo | null>(null);
  const [loading, setLoading] = useState(true);
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
  }, [urql, query, key]);
  useEffect(() => {
    if (!enabled) return;
    setData(null);
    void read();
  }, [read, enabled]);
  return { data, error, loading, refetch: useCallback(() => void read(), [read]) };
}
