'use client';

import Link from 'next/link';
import { Fragment, useCallback, useEffect, useRef, useState } from 'react';
import {
  AUDIT_LOG_APPENDED,
  AUDIT_LOG_QUERY,
  AUDIT_PAGE,
  mergeEntries,
  streamHref,
  toMillis,
  type AuditEntry,
  type AuditFilterInput,
  type AuditLogAppendedResult,
  type AuditLogResult,
} from '../app/audit/audit.documents.ts';
import { formatTimestamp } from '../lib/format.ts';
import { describeError, type ApiErrorInfo } from '../lib/graphql/errors.ts';
import { useSubscriptionEffect } from '../lib/hooks.ts';
import { ErrorMessage } from './error-message.tsx';
import { useDashboard } from './providers.tsx';

interface AuditListState {
  entries: AuditEntry[];
  endCursor: string | null;
  hasNextPage: boolean;
  loading: boolean;
  error: ApiErrorInfo | null;
}

const initial: AuditListState = {
  entries: [],
  endCursor: null,
  hasNextPage: false,
  loading: true,
  error: null,
};

/**
 * The audit log under a filter: the first page, "Load more" (keyset), and new entries as
 * `auditLogAppended` pushes them (no polling). Changing the filter starts over.
 */
export function useAuditLog(filter: AuditFilterInput) {
  const { urql } = useDashboard();
  const [state, setState] = useState<AuditListState>(initial);
  const generation = useRef(0);
  const key = JSON.stringify(filter);

  const load = useCallback(
    async (after: string | null) => {
      const gen = ++generation.current;
      setState((s) => ({ ...(after === null ? initial : s), loading: true }));
      const result = await urql
        .query<AuditLogResult>(
          AUDIT_LOG_QUERY,
          { filter: JSON.parse(key) as AuditFilterInput, first: AUDIT_PAGE, after },
          { requestPolicy: 'network-only' },
        )
        .toPromise();
      if (gen !== generation.current) return;
      if (result.error || !result.data) {
        setState((s) => ({
          ...s,
          loading: false,
          error: describeError(result.error ?? { message: 'No data' }),
        }));
        return;
      }
      const page = result.data.auditLog;
      setState((s) => ({
        entries: after === null ? page.nodes : mergeEntries(page.nodes, s.entries),
        endCursor: page.pageInfo.endCursor,
        hasNextPage: page.pageInfo.hasNextPage,
        loading: false,
        error: null,
      }));
    },
    [urql, key],
  );

  useEffect(() => {
    void load(null);
  }, [load]);

  useSubscriptionEffect<AuditLogAppendedResult>(AUDIT_LOG_APPENDED, { filter }, (data) =>
    setState((s) => ({ ...s, entries: mergeEntries(data.auditLogAppended.entries, s.entries) })),
  );

  return { ...state, loadMore: () => void load(state.endCursor) };
}

function Json({ value }: { value: unknown }) {
  return <pre className="mono wrap">{JSON.stringify(value, null, 2)}</pre>;
}

function originText(e: AuditEntry): string {
  const o = e.origin;
  if (!o) return '';
  return [o.client, o.address].filter(Boolean).join(' · ');
}

/** Audit entries as a table; each row expands to its before/after and data. */
export function AuditTable({
  entries,
  label,
  showStream = true,
  onActor,
}: {
  entries: AuditEntry[];
  label: string;
  showStream?: boolean;
  /** Filter by this actor (the actor cell becomes a button). */
  onActor?: (actor: string) => void;
}) {
  const [open, setOpen] = useState<Set<string>>(new Set());
  const toggle = (position: string) =>
    setOpen((s) => {
      const next = new Set(s);
      if (next.has(position)) next.delete(position);
      else next.add(position);
      return next;
    });
  const columns = showStream ? 8 : 7;
  return (
    <table className="data" aria-label={label} data-testid="audit-table">
      <thead>
        <tr>
          <th scope="col">
            <span className="visually-hidden">Details</span>
          </th>
          <th scope="col">When</th>
          <th scope="col">Actor</th>
          <th scope="col">Type</th>
          {showStream && <th scope="col">Object</th>}
          <th scope="col">Summary</th>
          <th scope="col">Origin</th>
          <th scope="col">Key</th>
        </tr>
      </thead>
      <tbody>
        {entries.map((e) => {
          const at = toMillis(e.recordedAt);
          const href = streamHref(e.streamId, e.data);
          const expanded = open.has(e.position);
          return (
            <Fragment key={e.position}>
              <tr data-position={e.position} data-type={e.type} data-actor={e.actor}>
                <td>
                  <button
                    type="button"
                    className="link"
                    aria-expanded={expanded}
                    aria-label={`${expanded ? 'Hide' : 'Show'} details of ${e.type} #${e.position}`}
                    onClick={() => toggle(e.position)}
                  >
                    {expanded ? '▾' : '▸'}
                  </button>
                </td>
                <td>
                  <time dateTime={new Date(at).toISOString()}>{formatTimestamp(at)}</time>
                </td>
                <td className="mono">
                  {onActor ? (
                    <button
                      type="button"
                      className="link"
                      title="Only this actor"
                      onClick={() => onActor(e.actor)}
                    >
                      {e.actor}
                    </button>
                  ) : (
                    e.actor
                  )}
                </td>
                <td>{e.type}</td>
                {showStream && (
                  <td className="mono">
                    {href ? <Link href={href}>{e.streamId}</Link> : e.streamId}
                  </td>
                )}
                <td className="wrap">{e.summary}</td>
                <td className="muted" title={e.origin?.userAgent ?? undefined}>
                  {originText(e)}
                </td>
                <td className="mono">{e.keyId ?? <span className="muted">—</span>}</td>
              </tr>
              {expanded && (
                <tr data-details={e.position}>
                  <td colSpan={columns}>
                    {e.before !== null || e.after !== null ? (
                      <div className="audit-change">
                        <div>
                          <strong>Before</strong>
                          <Json value={e.before} />
                        </div>
                        <div>
                          <strong>After</strong>
                          <Json value={e.after} />
                        </div>
                      </div>
                    ) : (
                      <p className="muted">The event states only the new values:</p>
                    )}
                    <strong>Data</strong>
                    <Json value={e.data} />
                    {e.origin?.userAgent && (
                      <p className="muted">User agent: {e.origin.userAgent}</p>
                    )}
                  </td>
                </tr>
              )}
            </Fragment>
          );
        })}
      </tbody>
    </table>
  );
}

/**
 * One object's history (`auditLog(filter: { streamId })`): who changed what and when, newest
 * first, live. Mounted as the History tab or section of the run, model, prompt and deployment
 * pages. Needs workspace:admin (the audit log's rule); others see the API's error.
 */
export function ObjectHistory({
  streamId,
  title = 'History',
}: {
  streamId: string;
  title?: string;
}) {
  const log = useAuditLog({ streamId });
  return (
    <section aria-labelledby="object-history-heading" data-testid="object-history">
      <h2 id="object-history-heading">{title}</h2>
      {log.error && <ErrorMessage error={log.error} />}
      {!log.loading && !log.error && log.entries.length === 0 ? (
        <p className="muted">No changes recorded.</p>
      ) : (
        <AuditTable entries={log.entries} label={`${title}, newest first`} showStream={false} />
      )}
      <p className="muted">
        <Link href={`/audit?stream=${encodeURIComponent(streamId)}`}>Open in the audit log</Link>
      </p>
      {log.hasNextPage && (
        <p>
          <button type="button" disabled={log.loading} onClick={log.loadMore}>
            Load older
          </button>
        </p>
      )}
    </section>
  );
}
