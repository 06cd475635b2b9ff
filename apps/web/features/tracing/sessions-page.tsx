'use client';

import Link from 'next/link';
import { useEffect, useState } from 'react';
import { ErrorMessage } from '../../components/error-message.tsx';
import { formatRelative, formatTimestamp } from '../../lib/format.ts';
import {
  SESSIONS_QUERY,
  type SessionSummary,
  type SessionsResult,
} from '../../lib/graphql/tracing-documents.ts';
import { useNow, useQueryState } from '../../lib/hooks.ts';
import { formatCost, formatCount, totalTokens } from '../../lib/tracing.ts';
import { useDashboard } from '../../components/providers.tsx';
import { describeError } from '../../lib/graphql/errors.ts';
import { TraceFilterBox } from './trace-filter-box.tsx';
import { TracingNav, sessionHref } from './tracing-nav.tsx';
import { useLiveTraceQuery } from './use-live-query.ts';

const PAGE = 50;

/**
 * `/sessions?filter=…`: sessions (traces grouped by session id), newest first. The first page is
 * re-read when traces change (debounced); "Load more" appends older ones.
 */
export function SessionsPage() {
  const { urql } = useDashboard();
  const [query, setQuery] = useQueryState();
  const filter = query.get('filter') ?? '';
  const live = useLiveTraceQuery<SessionsResult>(
    SESSIONS_QUERY,
    { filter: filter || null, first: PAGE, after: null },
    filter || null,
    { debounceMs: 1000 },
  );
  const [more, setMore] = useState<{
    items: SessionSummary[];
    endCursor: string | null;
    hasNextPage: boolean;
  } | null>(null);
  const [moreError, setMoreError] = useState<string | null>(null);
  useEffect(() => setMore(null), [filter]);
  const now = useNow(30_000);
  const first = live.data?.sessions;
  const seen = new Set(first?.edges.map((e) => e.node.id));
  const items = [
    ...(first?.edges.map((e) => e.node) ?? []),
    ...(more?.items.filter((s) => !seen.has(s.id)) ?? []),
  ];
  const hasNextPage = more ? more.hasNextPage : (first?.pageInfo.hasNextPage ?? false);
  const loadMore = async () => {
    const after = more ? more.endCursor : (first?.pageInfo.endCursor ?? null);
    const result = await urql
      .query<SessionsResult>(
        SESSIONS_QUERY,
        { filter: filter || null, first: PAGE, after },
        { requestPolicy: 'network-only' },
      )
      .toPromise();
    if (result.error || !result.data) {
      setMoreError(describeError(result.error ?? { message: 'No data' }).message);
      return;
    }
    const page = result.data.sessions;
    setMoreError(null);
    setMore((m) => ({
      items: [...(m?.items ?? []), ...page.edges.map((e) => e.node)],
      endCursor: page.pageInfo.endCursor,
      hasNextPage: page.pageInfo.hasNextPage,
    }));
  };
  const filterError =
    live.error && (live.error.argument === 'filter' || live.error.position !== null)
      ? live.error
      : null;

  return (
    <>
      <h1>Sessions</h1>
      <TracingNav current="sessions" />
      <TraceFilterBox
        value={filter}
        error={filterError}
        onApply={(value) => {
          const next = new URLSearchParams(query);
          if (value) next.set('filter', value);
          else next.delete('filter');
          setQuery(next);
        }}
      />
      <p className="muted" aria-live="polite" data-testid="sessions-count">
        {live.error
          ? ''
          : !first
            ? 'Loading…'
            : `${formatCount(first.totalCount)} session${first.totalCount === 1 ? '' : 's'}`}
      </p>
      {live.error && !filterError && <ErrorMessage error={live.error} />}
      <table className="data" aria-label="Sessions">
        <thead>
          <tr>
            <th scope="col">Session</th>
            <th scope="col">User</th>
            <th scope="col" className="num">
              Traces
            </th>
            <th scope="col">First</th>
            <th scope="col">Last</th>
            <th scope="col" className="num">
              Tokens
            </th>
            <th scope="col" className="num">
              Cost
            </th>
          </tr>
        </thead>
        <tbody>
          {items.map((s) => (
            <tr key={s.id}>
              <td style={{ maxWidth: 320 }}>
                <Link href={sessionHref(s.id)} className="mono" title={s.id}>
                  {s.id}
                </Link>
              </td>
              <td>{s.userId ?? <span className="muted">—</span>}</td>
              <td className="num">{s.traceCount}</td>
              <td title={formatTimestamp(s.firstTraceAt)}>{formatRelative(s.firstTraceAt, now)}</td>
              <td title={formatTimestamp(s.lastTraceAt)}>{formatRelative(s.lastTraceAt, now)}</td>
              <td className="num">{formatCount(totalTokens(s.tokenUsage))}</td>
              <td className="num">{formatCost(s.cost)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {first && items.length === 0 && !live.error && (
        <p className="muted">
          {filter
            ? 'No session matches this filter.'
            : 'No sessions yet. A trace joins a session through its session id attribute (cairn.trace.session_id, session.id or gen_ai.conversation.id).'}
        </p>
      )}
      {moreError && <p className="error-text">{moreError}</p>}
      {hasNextPage && (
        <p>
          <button type="button" onClick={() => void loadMore()}>
            Load more
          </button>
        </p>
      )}
    </>
  );
}
