'use client';

import { useCallback, useEffect, useMemo, useRef, useState, useSyncExternalStore } from 'react';
import { usePathname, useSearchParams } from 'next/navigation';
import type { AnyVariables } from '@urql/core';
import { useDashboard } from '../components/providers.tsx';
import type { LiveStatus } from './graphql/client.ts';

/** The graphql-ws connection state, for the "live" indicator. */
export function useLiveStatus(): LiveStatus {
  const { live } = useDashboard();
  return useSyncExternalStore(live.subscribe, live.get, () => 'connecting');
}

/**
 * Runs a subscription while mounted (and `enabled`), calling `onData` for each payload and
 * `onError` for failures. Variables are compared by value.
 */
export function useSubscriptionEffect<T>(
  query: string,
  variables: AnyVariables,
  onData: (data: T) => void,
  enabled = true,
  onError?: (message: string) => void,
): void {
  const { urql } = useDashboard();
  const handler = useRef(onData);
  const errorHandler = useRef(onError);
  useEffect(() => {
    handler.current = onData;
    errorHandler.current = onError;
  });
  const key = JSON.stringify(variables);
  useEffect(() => {
    if (!enabled) return;
    const vars = JSON.parse(key) as AnyVariables;
    const { unsubscribe } = urql.subscription<T>(query, vars).subscribe((result) => {
      if (result.error) errorHandler.current?.(result.error.message);
      else if (result.data) handler.current(result.data);
    });
    return unsubscribe;
  }, [urql, query, key, enabled]);
}

/**
 * The page's query string as state, so a view can be shared by its URL. Updates apply at once
 * (local state) and are written to the URL with history.replaceState (Next's router follows it:
 * no reload, no server round trip). A URL change that is not one of ours (back/forward, a link to
 * the same page) replaces the state. One call per page.
 */
export function useQueryState(): [URLSearchParams, (next: URLSearchParams) => void] {
  const params = useSearchParams();
  const pathname = usePathname();
  const text = params.toString();
  const [local, setLocal] = useState(text);
  /** Query strings we wrote that the router has not reported back yet. */
  const pending = useRef<string[]>([]);
  useEffect(() => {
    const i = pending.current.indexOf(text);
    if (i >= 0) pending.current.splice(0, i + 1);
    else {
      pending.current = [];
      setLocal(text);
    }
  }, [text]);
  const update = useCallback(
    (next: URLSearchParams) => {
      const written = next.toString();
      pending.current.push(written);
      setLocal(written);
      window.history.replaceState(null, '', written ? `${pathname}?${written}` : pathname);
    },
    [pathname],
  );
  return [useMemo(() => new URLSearchParams(local), [local]), update];
}

/** A value that follows `value` after `ms` without changes. */
export function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setDebounced(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return debounced;
}

/** The current time, refreshed every `ms` (running durations). */
export function useNow(ms: number, enabled = true): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!enabled) return;
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms, enabled]);
  return now;
}
