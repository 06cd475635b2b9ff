'use client';

import Link from 'next/link';
import { useState } from 'react';
import { ErrorMessage } from '../../components/error-message.tsx';
import { useDashboard } from '../../components/providers.tsx';
import { formatRelative, formatTimestamp } from '../../lib/format.ts';
import { describeError, type ApiErrorInfo } from '../../lib/graphql/errors.ts';
import type { TraceSummary } from '../../lib/graphql/tracing-documents.ts';
import { useNow, useQueryState } from '../../lib/hooks.ts';
import { formatCost, formatCount, formatLatency, totalTokens } from '../../lib/tracing.ts';
import { SendTracesHelp } from './send-traces-help.tsx';
import { DELETE_TRACES, DELETE_TRACES_MAX, type DeleteTracesResult } from './trace-documents.ts';
import { TraceFilterBox } from './trace-filter-box.tsx';
import { TraceStatusBadge, TracingNav, sessionHref, traceHref } from './tracing-nav.tsx';
import { useTracesList } from './use-traces-list.ts';

const ORDERS = [
  { value: '', label: 'Newest first' },
  { value: 'timestamp_ms ASC', label: 'Oldest first' },
  { value: 'duration_ms DESC', label: 'Slowest' },
  { value: 'total_tokens DESC', label: 'Most tokens' },
  { value: 'cost DESC', label: 'Most expensive' },
  { value: 'name ASC', label: 'Name' },
] as const;

/** `/traces?filter=…&order=…`: the live list of traces. */
export function TracesPage() {
  const [query, setQuery] = useQueryState();
  const filter = query.get('filter') ?? '';
  const order = query.get('order') || null;
  const list = useTracesList(filter, order);
  const now = useNow(30_000);
  const deletion = useDeletion(list.remove);
  const shown = list.traces.map((t) => t.id);
  const picked = shown.filter((id) => deletion.selected.has(id));
  const allPicked = shown.length > 0 && picked.length === shown.length;

  const setParam = (name: string, value: string | null) => {
    const next = new URLSearchParams(query);
    if (value) next.set(name, value);
    else next.delete(name);
    setQuery(next);
  };
  const filterError =
    list.error && (list.error.argument === 'filter' || list.error.position !== null)
      ? list.error
      : null;

  return (
    <>
      <h1>Traces</h1>
      <TracingNav current="traces" />
      <TraceFilterBox
        value={filter}
        error={filterError}
        onApply={(value) => setParam('filter', value || null)}
      />
      <div className="toolbar">
        <label className="field">
          <span>Sort by</span>
          <select value={order ?? ''} onChange={(e) => setParam('order', e.target.value || null)}>
            {ORDERS.map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </select>
        </label>
        <span className="muted" aria-live="polite" data-testid="traces-count">
          {list.error
            ? ''
            : list.loading && list.traces.length === 0
              ? 'Loading…'
              : `${formatCount(list.totalCount)} trace${list.totalCount === 1 ? '' : 's'}`}
        </span>
        {picked.length > 0 && (
          <button
            type="button"
            className="danger"
            disabled={deletion.busy}
            onClick={() => void deletion.run(picked)}
          >
            Delete {picked.length} selected
          </button>
        )}
      </div>
      {deletion.status && (
        <p className="muted" role="status">
          {deletion.status}
        </p>
      )}
      {deletion.error && <ErrorMessage error={deletion.error} />}
      {list.pendingNew > 0 && (
        <div className="notice" role="status">
          {list.pendingNew} new trace{list.pendingNew === 1 ? '' : 's'} in this view.
          <button type="button" onClick={list.reload}>
            Refresh
          </button>
        </div>
      )}
      {list.liveError && (
        <p className="muted" role="note">
          Live updates unavailable: {list.liveError}
        </p>
      )}
      {list.error && !filterError && <ErrorMessage error={list.error} />}
      <div style={{ overflowX: 'auto' }}>
        <table className="data traces-table" aria-label="Traces">
          <thead>
            <tr>
              <th scope="col" className="select-cell">
                <input
                  type="checkbox"
                  aria-label="Select all traces shown"
                  checked={allPicked}
                  disabled={shown.length === 0}
                  onChange={() => deletion.setSelected(allPicked ? new Set() : new Set(shown))}
                />
              </th>
              <th scope="col">Time</th>
              <th scope="col">Name</th>
              <th scope="col">Status</th>
              <th scope="col" className="num">
                Latency
              </th>
              <th scope="col" className="num">
                Spans
              </th>
              <th scope="col" className="num" title="Input / output / total tokens">
                Tokens in / out / total
              </th>
              <th scope="col" className="num">
                Cost
              </th>
              <th scope="col">Session</th>
              <th scope="col">User</th>
              <th scope="col">Tags</th>
            </tr>
          </thead>
          <tbody>
            {list.traces.map((t) => (
              <TraceRow
                key={t.id}
                trace={t}
                now={now}
                flash={list.flashed.has(t.id)}
                selected={deletion.selected.has(t.id)}
                onSelect={(on) => deletion.toggle(t.id, on)}
              />
            ))}
          </tbody>
        </table>
      </div>
      {!list.loading &&
        list.traces.length === 0 &&
        !list.error &&
        (filter ? <p className="muted">No trace matches this filter.</p> : <SendTracesHelp />)}
      {list.hasNextPage && (
        <p>
          <button type="button" onClick={list.loadMore} disabled={list.loading}>
            Load more
          </button>
        </p>
      )}
    </>
  );
}

/**
 * The list's selection and "Delete selected": `deleteTraces` in chunks of the API's bound, after
 * a confirmation; the deleted rows leave the list at once (the live feed pushes no deletions).
 */
function useDeletion(remove: (ids: readonly string[]) => void) {
  const { urql } = useDashboard();
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiErrorInfo | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const toggle = (id: string, on: boolean) =>
    setSelected((s) => {
      const next = new Set(s);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });
  const run = async (ids: string[]) => {
    const n = ids.length;
    if (!window.confirm(`Delete ${n} trace${n === 1 ? '' : 's'}? This cannot be undone.`)) return;
    setBusy(true);
    setError(null);
    setStatus(null);
    let deleted = 0;
    for (let i = 0; i < ids.length; i += DELETE_TRACES_MAX) {
      const chunk = ids.slice(i, i + DELETE_TRACES_MAX);
      const result = await urql
        .mutation<DeleteTracesResult>(DELETE_TRACES, { traceIds: chunk })
        .toPromise();
      if (result.error || !result.data) {
        setError(describeError(result.error ?? { message: 'No data' }));
        break;
      }
      deleted += result.data.deleteTraces;
      remove(chunk);
      setSelected((s) => new Set([...s].filter((id) => !chunk.includes(id))));
    }
    setBusy(false);
    if (deleted > 0) setStatus(`Deleted ${deleted} trace${deleted === 1 ? '' : 's'}.`);
  };
  return { selected, setSelected, toggle, run, busy, error, status };
}

function TraceRow({
  trace: t,
  now,
  flash,
  selected,
  onSelect,
}: {
  trace: TraceSummary;
  now: number;
  flash: boolean;
  selected: boolean;
  onSelect(on: boolean): void;
}) {
  const total = totalTokens(t.tokenUsage);
  return (
    <tr
      data-trace-id={t.id}
      className={flash ? 'flash' : selected ? 'selected' : undefined}
      data-testid="trace-row"
    >
      <td className="select-cell">
        <input
          type="checkbox"
          aria-label={`Select trace ${t.name || t.id}`}
          checked={selected}
          onChange={(e) => onSelect(e.target.checked)}
        />
      </td>
      <td title={formatTimestamp(t.startTime)}>
        {formatRelative(t.startTime, Math.max(now, t.startTime))}
      </td>
      <td style={{ maxWidth: 320 }}>
        <Link href={traceHref(t.id)} className="trace-link" title={t.name || t.id}>
          {t.name || <span className="mono">{t.id.slice(0, 12)}…</span>}
        </Link>
      </td>
      <td>
        <TraceStatusBadge status={t.status} />
        {t.errorCount > 0 && t.status !== 'ERROR' && (
          <span className="muted"> {t.errorCount} errors</span>
        )}
      </td>
      <td className="num">{formatLatency(t.durationMs)}</td>
      <td className="num">{t.spanCount}</td>
      <td className="num">
        {total === null
          ? '—'
          : `${formatCount(t.tokenUsage.inputTokens ?? 0)} / ${formatCount(t.tokenUsage.outputTokens ?? 0)} / ${formatCount(total)}`}
      </td>
      <td className="num">{formatCost(t.cost)}</td>
      <td style={{ maxWidth: 180 }}>
        {t.sessionId ? (
          <Link href={sessionHref(t.sessionId)} className="mono" title={t.sessionId}>
            {t.sessionId}
          </Link>
        ) : (
          <span className="muted">—</span>
        )}
      </td>
      <td style={{ maxWidth: 140 }} title={t.userId ?? undefined}>
        {t.userId ?? <span className="muted">—</span>}
      </td>
      <td className="tags-cell">
        <span className="chips">
          {t.tags.slice(0, 4).map((tag) => (
            <span key={tag.key} className="tag-chip" title={`${tag.key}: ${tag.value}`}>
              {tag.value === '' ? tag.key : `${tag.key}: ${tag.value}`}
            </span>
          ))}
          {t.tags.length > 4 && <span className="muted">+{t.tags.length - 4}</span>}
        </span>
      </td>
    </tr>
  );
}
