'use client';

import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { AnyVariables } from '@urql/core';
import { useDashboard } from '../../components/providers.tsx';
import { ACCESS_CHANGED, type AccessChangedResult, type Page } from '../../lib/auth-documents.ts';
import { describeError, type ApiErrorInfo } from '../../lib/graphql/errors.ts';
import { useSubscriptionEffect } from '../../lib/hooks.ts';
import { coalescedRunner } from '../../lib/live-refresh.ts';

export const PAGE_SIZE = 50;
/** The server's largest page. */
const MAX_PAGE = 1000;

export interface AccessList<T> {
  items: T[];
  totalCount: number;
  hasNextPage: boolean;
  loading: boolean;
  error: ApiErrorInfo | null;
  loadMore(): void;
  /** Re-reads the loaded rows (after this page's own change). */
  reload(): void;
}

interface State<T> {
  items: T[];
  totalCount: number;
  endCursor: string | null;
  hasNextPage: boolean;
  loading: boolean;
  error: ApiErrorInfo | null;
}

/**
 * A settings list (workspaces, members, keys): a page at a time ("Load more"), re-read on each
 * `accessChanged` push of its `kind` — as many rows as are loaded, from the top — and after the
 * page's own changes. No polling.
 */
export function useAccessList<T>(opts: {
  query: string;
  field: string;
  kind: string;
  variables?: AnyVariables;
  enabled?: boolean;
}): AccessList<T> {
  const { urql } = useDashboard();
  const { query, field, kind } = opts;
  const enabled = opts.enabled ?? true;
  const varsKey = JSON.stringify(opts.variables ?? {});
  const [state, setState] = useState<State<T>>({
    items: [],
    totalCount: 0,
    endCursor: null,
    hasNextPage: false,
    loading: enabled,
    error: null,
  });
  const generation = useRef(0);
  const loaded = useRef(0);

  const read = useCallback(
    async (after: string | null, first: number) => {
      const gen = ++generation.current;
      setState((s) => ({ ...s, loading: true }));
      const vars = { ...(JSON.parse(varsKey) as Record<string, unknown>), first, after };
      const result = await urql
        .query<Record<string, Page<T>>>(query, vars, { requestPolicy: 'network-only' })
        .toPromise();
      if (gen !== generation.current) return;
      const page = result.data?.[field];
      if (result.error || !page) {
        setState((s) => ({
          ...s,
          loading: false,
          error: describeError(result.error ?? { message: 'No data' }),
        }));
        return;
      }
      setState((s) => {
        const items = after === null ? page.nodes : [...s.items, ...page.nodes];
        loaded.current = items.length;
        return {
          items,
          totalCount: page.totalCount,
          endCursor: page.pageInfo.endCursor,
          hasNextPage: page.pageInfo.hasNextPage,
          loading: false,
          error: null,
        };
      });
    },
    [urql, query, field, varsKey],
  );

  const reread = useMemo(
    () =>
      coalescedRunner(() => read(null, Math.min(MAX_PAGE, Math.max(PAGE_SIZE, loaded.current)))),
    [read],
  );

  useEffect(() => {
    if (!enabled) return;
    loaded.current = 0;
    void read(null, PAGE_SIZE);
  }, [read, enabled]);

  useSubscriptionEffect<AccessChangedResult>(
    ACCESS_CHANGED,
    {},
    (data) => {
      if (data.accessChanged.kind === kind) reread();
    },
    enabled,
  );

  return {
    items: state.items,
    totalCount: state.totalCount,
    hasNextPage: state.hasNextPage,
    loading: state.loading,
    error: state.error,
    loadMore: () => {
      if (state.endCursor) void read(state.endCursor, PAGE_SIZE);
    },
    reload: reread,
  };
}
