'use client';

import { useCallback, useEffect, useRef, useState } from 'react';
import { useDashboard } from '../../components/providers.tsx';
import { describeError, type ApiErrorInfo } from '../../lib/graphql/errors.ts';
import {
  TRACES_CHANGED,
  TRACES_LEFT,
  TRACES_QUERY,
  type TraceSummary,
  type TracesChangedResult,
  type TracesLeftResult,
  type TracesResult,
} from '../../lib/graphql/tracing-documents.ts';
import { useSubscriptionEffect } from '../../lib/hooks.ts';
import { mergeTraces } from '../../lib/tracing.ts';

export const TRACES_PAGE = 50;
/** Pushed traces are applied at most this often (an agent can emit many traces a second). */
const FLUSH_MS = 250;

export interface TracesList {
  traces: TraceSummary[];
  totalCount: number;
  hasNextPage: boolean;
  loading: boolean;
  error: ApiErrorInfo | null;
  /** Traces pushed live that this order cannot place without a reload. */
  pendingNew: number;
  /** Ids changed or added live in the last moment (their rows flash). */
  flashed: ReadonlySet<string>;
  liveError: string | null;
  loadMore(): void;
  reload(): void;
  /** Takes traces deleted from this page off the list (the feed does not push deletions). */
  remove(ids: readonly string[]): void;
}

interface State {
  traces: TraceSummary[];
  totalCount: number;
  endCursor: string | null;
  hasNextPage: boolean;
  loading: boolean;
  error: ApiErrorInfo | null;
  pendingNew: number;
}

const empty: State = {
  traces: [],
  totalCount: 0,
  endCursor: null,
  hasNextPage: false,
  loading: true,
  error: null,
  pendingNew: 0,
};

/**
 * Traces under a filter and order, a page at a time ("Load more"), kept live by
 * `tracesChanged(filter)`: changed traces are replaced in place; new ones go on top in the
 * default order (newest first), else they are counted for a "Refresh" notice. No polling.
 */
export function useTracesList(filter: string, order: string | null): TracesList {
  const { urql } = useDashboard();
  const [state, setState] = useState<State>(empty);
  const [flashed, setFlashed] = useState<ReadonlySet<string>>(new Set());
  const [liveError, setLiveError] = useState<string | null>(null);
  const [reloads, setReloads] = useState(0);
  const stateRef = useRef(state);
  stateRef.current = state;
  const generation = useRef(0);
  const inFlight = useRef(false);

  const fetchPage = useCallback(
    async (after: string | null, gen: number) => {
      inFlight.current = true;
      setState((s) => ({ ...s, loading: true }));
      const result = await urql
        .query<TracesResult>(
          TRACES_QUERY,
          { filter: filter || null, orderBy: order ? [order] : null, first: TRACES_PAGE, after },
          { requestPolicy: 'network-only' },
        )
        .toPromise();
      if (gen !== generation.current) return;
      inFlight.current = false;
      if (result.error || !result.data) {
        setState((s) => ({
          ...s,
          ...(after === null ? { traces: [], totalCount: 0, hasNextPage: false } : {}),
          loading: false,
          error: describeError(result.error ?? { message: 'No data' }),
        }));
        return;
      }
      const page = result.data.traces;
      const incoming = page.edges.map((e) => e.node);
      setState((s) => {
        const known = after === null ? new Set<string>() : new Set(s.traces.map((t) => t.id));
        const fresh = incoming.filter((t) => !known.has(t.id));
        return {
          traces: after === null ? fresh : [...s.traces, ...fresh],
          totalCount: page.totalCount,
          endCursor: page.pageInfo.endCursor,
          hasNextPage: page.pageInfo.hasNextPage,
          loading: false,
          error: null,
          pendingNew: after === null ? 0 : s.pendingNew,
        };
      });
    },
    [urql, filter, order],
  );

  useEffect(() => {
    const gen = ++generation.current;
    setState((s) => ({ ...s, loading: true, error: null }));
    void fetchPage(null, gen);
  }, [fetchPage, reloads]);

  const loadMore = useCallback(() => {
    const s = stateRef.current;
    if (inFlight.current || !s.hasNextPage || s.error) return;
    void fetchPage(s.endCursor, generation.current);
  }, [fetchPage]);

  // Live: collect pushed traces, apply them in batches.
  const pending = useRef(new Map<string, TraceSummary>());
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const remove = useCallback((ids: readonly string[]) => {
    const gone = new Set(ids);
    for (const id of ids) pending.current.delete(id);
    setState((s) => {
      const traces = s.traces.filter((t) => !gone.has(t.id));
      return {
        ...s,
        traces,
        totalCount: Math.max(0, s.totalCount - (s.traces.length - traces.length)),
      };
    });
  }, []);
  const placeNew = order === null;
  const flush = useCallback(() => {
    timer.current = null;
    const batch = [...pending.current.values()];
    pending.current.clear();
    if (batch.length === 0) return;
    setState((s) => {
      if (s.error) return s;
      const merged = mergeTraces(s.traces, batch, placeNew);
      return {
        ...s,
        traces: merged.list,
        totalCount: s.totalCount + merged.added,
        pendingNew: s.pendingNew + merged.unplaced,
      };
    });
    setFlashed(new Set(batch.map((t) => t.id)));
  }, [placeNew]);

  useSubscriptionEffect<TracesChangedResult>(
    TRACES_CHANGED,
    { filter: filter || null },
    (data) => {
      setLiveError(null);
      for (const t of data.tracesChanged) pending.current.set(t.id, t);
      timer.current ??= setTimeout(flush, FLUSH_MS);
    },
    true,
    (message) => setLiveError(message),
  );
  // Deleted elsewhere, or out of the filter now (e.g. a tag removed in another tab): dropped.
  useSubscriptionEffect<TracesLeftResult>(
    TRACES_LEFT,
    { filter: filter || null },
    (data) => remove(data.tracesLeft),
    true,
    (message) => setLiveError(message),
  );
  useEffect(
    () => () => {
      if (timer.current) clearTimeout(timer.current);
    },
    [],
  );

  return {
    traces: state.traces,
    totalCount: state.totalCount,
    hasNextPage: state.hasNextPage,
    loading: state.loading,
    error: state.error,
    pendingNew: state.pendingNew,
    flashed,
    liveError,
    loadMore,
    reload: () => setReloads((n) => n + 1),
    remove,
  };
}
