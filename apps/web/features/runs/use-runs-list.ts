'use client';

import { useCallback, useEffect, useRef, useState } from 'react';
import { useDashboard } from '../../components/providers.tsx';
import {
  RUNS_CHANGED,
  RUNS_QUERY,
  type RunSummary,
  type RunsChangedResult,
  type RunsResult,
} from '../../lib/graphql/documents.ts';
import { describeError, type ApiErrorInfo } from '../../lib/graphql/errors.ts';
import { useSubscriptionEffect } from '../../lib/hooks.ts';
import { toTableRun, type TableRun } from './table-run.ts';

/** The first page is small (the first screen comes fast); later pages are large. */
const FIRST_PAGE = 200;
const NEXT_PAGE = 1000;
/** Live updates are applied at most this often (a training loop can change runs every few ms). */
const FLUSH_MS = 250;

export interface RunsList {
  runs: TableRun[];
  totalCount: number;
  hasNextPage: boolean;
  loading: boolean;
  error: ApiErrorInfo | null;
  /** Runs created (or changed) live that this view cannot place without a reload. */
  pendingNew: number;
  /** Ids changed live in the last moment (the table flashes them). */
  flashed: ReadonlySet<string>;
  loadMore(): void;
  reload(): void;
  /** Milliseconds from the request to the first page's data (shown in the footer). */
  firstPageMs: number | null;
}

interface State {
  runs: TableRun[];
  totalCount: number;
  endCursor: string | null;
  hasNextPage: boolean;
  loading: boolean;
  error: ApiErrorInfo | null;
  pendingNew: number;
  firstPageMs: number | null;
}

const empty: State = {
  runs: [],
  totalCount: 0,
  endCursor: null,
  hasNextPage: false,
  loading: true,
  error: null,
  pendingNew: 0,
  firstPageMs: null,
};

/**
 * The runs of one experiment under a filter and order, paged in as the table scrolls, and kept
 * live by the runsChanged subscription: changed runs are replaced in place; new runs are added at
 * the top when the view is the default one (no filter, newest first), else counted in
 * `pendingNew` for the user to reload.
 */
export function useRunsList(
  experimentId: string,
  filter: string,
  orderBy: string[] | null,
): RunsList {
  const { urql } = useDashboard();
  const [state, setState] = useState<State>(empty);
  const [flashed, setFlashed] = useState<ReadonlySet<string>>(new Set());
  const stateRef = useRef(state);
  stateRef.current = state;
  const generation = useRef(0);
  const inFlight = useRef(false);
  const orderKey = JSON.stringify(orderBy);
  const [reloads, setReloads] = useState(0);

  const fetchPage = useCallback(
    async (after: string | null, gen: number) => {
      inFlight.current = true;
      const t0 = performance.now();
      setState((s) => ({ ...s, loading: true }));
      const result = await urql
        .query<RunsResult>(
          RUNS_QUERY,
          {
            experimentIds: [experimentId],
            filter: filter || null,
            orderBy: JSON.parse(orderKey) as string[] | null,
            first: after === null ? FIRST_PAGE : NEXT_PAGE,
            after,
          },
          { requestPolicy: 'network-only' },
        )
        .toPromise();
      if (gen !== generation.current) return;
      inFlight.current = false;
      if (result.error || !result.data) {
        setState((s) => ({
          ...s,
          ...(after === null ? { runs: [], totalCount: 0, hasNextPage: false } : {}),
          loading: false,
          error: describeError(result.error ?? { message: 'No data' }),
        }));
        return;
      }
      const page = result.data.runs;
      const incoming = page.edges.map((e) => toTableRun(e.node));
      setState((s) => {
        const known = after === null ? new Set<string>() : new Set(s.runs.map((r) => r.id));
        const fresh = incoming.filter((r) => !known.has(r.id));
        return {
          runs: after === null ? fresh : [...s.runs, ...fresh],
          totalCount: page.totalCount,
          endCursor: page.pageInfo.endCursor,
          hasNextPage: page.pageInfo.hasNextPage,
          loading: false,
          error: null,
          pendingNew: after === null ? 0 : s.pendingNew,
          firstPageMs: after === null ? Math.round(performance.now() - t0) : s.firstPageMs,
        };
      });
    },
    [urql, experimentId, filter, orderKey],
  );

  useEffect(() => {
    const gen = ++generation.current;
    // Keep the current rows on screen until the new first page replaces them.
    setState((s) => ({ ...s, loading: true, error: null }));
    void fetchPage(null, gen);
  }, [fetchPage, reloads]);

  const loadMore = useCallback(() => {
    const s = stateRef.current;
    if (inFlight.current || !s.hasNextPage || s.error) return;
    void fetchPage(s.endCursor, generation.current);
  }, [fetchPage]);

  // Live: collect pushed runs, apply them in batches.
  const pending = useRef(new Map<string, RunSummary>());
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const defaultView = !filter && orderBy === null;
  const flush = useCallback(() => {
    timer.current = null;
    const batch = [...pending.current.values()];
    pending.current.clear();
    if (batch.length === 0) return;
    setState((s) => {
      const index = new Map(s.runs.map((r, i) => [r.id, i]));
      let runs = s.runs;
      let totalCount = s.totalCount;
      let pendingNew = s.pendingNew;
      const added: TableRun[] = [];
      const removed = new Set<string>();
      for (const run of batch) {
        const at = index.get(run.id);
        if (run.lifecycleStage === 'DELETED') {
          if (at !== undefined) removed.add(run.id);
          continue;
        }
        if (at !== undefined) {
          if (runs === s.runs) runs = [...s.runs];
          runs[at] = toTableRun(run);
        } else if (defaultView) added.push(toTableRun(run));
        else pendingNew += 1;
      }
      if (removed.size > 0) {
        runs = runs.filter((r) => !removed.has(r.id));
        totalCount -= removed.size;
      }
      if (added.length > 0) {
        added.sort((a, b) => b.summary.startTime - a.summary.startTime);
        runs = [...added, ...runs];
        totalCount += added.length;
      }
      return { ...s, runs, totalCount, pendingNew };
    });
    setFlashed(new Set(batch.map((r) => r.id)));
  }, [defaultView]);

  useSubscriptionEffect<RunsChangedResult>(RUNS_CHANGED, { experimentId }, (data) => {
    for (const run of data.runsChanged.runs) pending.current.set(run.id, run);
    timer.current ??= setTimeout(flush, FLUSH_MS);
  });
  useEffect(
    () => () => {
      if (timer.current) clearTimeout(timer.current);
    },
    [],
  );

  return {
    runs: state.runs,
    totalCount: state.totalCount,
    hasNextPage: state.hasNextPage,
    loading: state.loading,
    error: state.error,
    pendingNew: state.pendingNew,
    flashed,
    loadMore,
    reload: () => setReloads((n) => n + 1),
    firstPageMs: state.firstPageMs,
  };
}
