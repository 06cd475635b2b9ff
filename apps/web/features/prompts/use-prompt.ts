'use client';

import { useCallback, useEffect, useRef, useState } from 'react';
import { useDashboard } from '../../components/providers.tsx';
import { describeError, type ApiErrorInfo } from '../../lib/graphql/errors.ts';
import { useSubscriptionEffect } from '../../lib/hooks.ts';
import {
  HISTORY_PAGE,
  PROMPT_CHANGED,
  PROMPT_HISTORY_PAGE,
  PROMPT_QUERY,
  PROMPT_VERSIONS_PAGE,
  VERSIONS_PAGE,
  type PromptAliasChange,
  type PromptChangedResult,
  type PromptDetail,
  type PromptHistoryPageResult,
  type PromptResult,
  type PromptVersion,
  type PromptVersionsPageResult,
} from './prompts.documents.ts';

/** The API's largest page (`first`). */
const MAX_FIRST = 1000;
/** Room for entries that arrived since the last read, when more than a page is loaded. */
const LIVE_MARGIN = 20;

/**
 * How many to re-read: the first page, or, once the user paged on, all that is loaded plus a
 * margin, so that a live push adds the new entries on top and drops none of the loaded ones.
 */
const rereadCount = (loaded: number, page: number) =>
  loaded > page ? Math.min(MAX_FIRST, loaded + LIVE_MARGIN) : page;

export interface PromptState {
  /** The prompt as last read; null before the first answer and once it is gone. */
  prompt: PromptDetail | null;
  versions: PromptVersion[];
  versionsCursor: string | null;
  moreVersions: boolean;
  history: PromptAliasChange[];
  historyCursor: string | null;
  moreHistory: boolean;
  /** The first answer came and named no prompt, or the prompt was deleted while shown. */
  notFound: boolean;
  error: ApiErrorInfo | null;
}

const empty: PromptState = {
  prompt: null,
  versions: [],
  versionsCursor: null,
  moreVersions: false,
  history: [],
  historyCursor: null,
  moreHistory: false,
  notFound: false,
  error: null,
};

/**
 * One prompt, kept live by `promptChanged(name)`: read once, then read again (debounced) on each
 * push, as many versions and alias changes as are loaded. No polling. `loadMoreVersions` and
 * `loadMoreHistory` page on with the connections' cursors. With `asOf` (an ISO time) every read
 * is of the prompt as it was then and the subscription is paused.
 */
export function usePrompt(
  name: string,
  asOf: string | null = null,
): PromptState & {
  reload(): void;
  loadMoreVersions(): void;
  loadMoreHistory(): void;
} {
  const { urql } = useDashboard();
  const [state, setState] = useState<PromptState>(empty);
  const loaded = useRef({ versions: VERSIONS_PAGE, history: HISTORY_PAGE });
  const generation = useRef(0);

  const read = useCallback(async () => {
    const gen = ++generation.current;
    const result = await urql
      .query<PromptResult>(
        PROMPT_QUERY,
        {
          name,
          versionsFirst: rereadCount(loaded.current.versions, VERSIONS_PAGE),
          historyFirst: rereadCount(loaded.current.history, HISTORY_PAGE),
          asOf,
        },
        { requestPolicy: 'network-only' },
      )
      .toPromise();
    if (gen !== generation.current) return;
    if (result.error || !result.data) {
      setState((s) => ({ ...s, error: describeError(result.error ?? { message: 'No data' }) }));
      return;
    }
    const p = result.data.prompt;
    if (!p) {
      setState({ ...empty, notFound: true });
      return;
    }
    loaded.current = {
      versions: Math.max(loaded.current.versions, p.versions.edges.length),
      history: Math.max(loaded.current.history, p.aliasHistory.edges.length),
    };
    setState({
      prompt: p,
      versions: p.versions.edges.map((e) => e.node),
      versionsCursor: p.versions.pageInfo.endCursor,
      moreVersions: p.versions.pageInfo.hasNextPage,
      history: p.aliasHistory.edges.map((e) => e.node),
      historyCursor: p.aliasHistory.pageInfo.endCursor,
      moreHistory: p.aliasHistory.pageInfo.hasNextPage,
      notFound: false,
      error: null,
    });
  }, [urql, name, asOf]);

  useEffect(() => {
    loaded.current = { versions: VERSIONS_PAGE, history: HISTORY_PAGE };
    setState((s) => (s.prompt?.name === name ? s : empty));
    if (name) void read();
  }, [name, read]);

  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useSubscriptionEffect<PromptChangedResult>(
    PROMPT_CHANGED,
    { name },
    (data) => {
      if (data.promptChanged === null) {
        // Deleted: the subscription ends with this push.
        generation.current++;
        setState({ ...empty, notFound: true });
        return;
      }
      timer.current ??= setTimeout(() => {
        timer.current = null;
        void read();
      }, 200);
    },
    Boolean(name) && asOf === null,
  );
  useEffect(
    () => () => {
      if (timer.current) clearTimeout(timer.current);
    },
    [],
  );

  const loadMoreVersions = useCallback(() => {
    const after = state.versionsCursor;
    if (!after) return;
    void urql
      .query<PromptVersionsPageResult>(
        PROMPT_VERSIONS_PAGE,
        { name, first: VERSIONS_PAGE, after, asOf },
        { requestPolicy: 'network-only' },
      )
      .toPromise()
      .then((result) => {
        const page = result.data?.prompt?.versions;
        if (result.error || !page) {
          setState((s) => ({ ...s, error: describeError(result.error ?? { message: 'No data' }) }));
          return;
        }
        setState((s) => {
          const seen = new Set(s.versions.map((v) => v.version));
          const versions = [
            ...s.versions,
            ...page.edges.map((e) => e.node).filter((v) => !seen.has(v.version)),
          ];
          loaded.current.versions = versions.length;
          return {
            ...s,
            versions,
            versionsCursor: page.pageInfo.endCursor,
            moreVersions: page.pageInfo.hasNextPage,
          };
        });
      });
  }, [urql, name, asOf, state.versionsCursor]);

  const loadMoreHistory = useCallback(() => {
    const after = state.historyCursor;
    if (!after) return;
    void urql
      .query<PromptHistoryPageResult>(
        PROMPT_HISTORY_PAGE,
        { name, first: HISTORY_PAGE, after, asOf },
        { requestPolicy: 'network-only' },
      )
      .toPromise()
      .then((result) => {
        const page = result.data?.prompt?.aliasHistory;
        if (result.error || !page) {
          setState((s) => ({ ...s, error: describeError(result.error ?? { message: 'No data' }) }));
          return;
        }
        setState((s) => {
          const history = [...s.history, ...page.edges.map((e) => e.node)];
          loaded.current.history = history.length;
          return {
            ...s,
            history,
            historyCursor: page.pageInfo.endCursor,
            moreHistory: page.pageInfo.hasNextPage,
          };
        });
      });
  }, [urql, name, asOf, state.historyCursor]);

  return { ...state, reload: () => void read(), loadMoreVersions, loadMoreHistory };
}
