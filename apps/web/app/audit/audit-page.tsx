'use client';

import { useMemo, useState, type FormEvent } from 'react';
import { AuditTable, useAuditLog } from '../../components/object-history.tsx';
import { ErrorMessage } from '../../components/error-message.tsx';
import { useDashboard } from '../../components/providers.tsx';
import { useQueryState } from '../../lib/hooks.ts';
import { DEFAULT_WORKSPACE } from '../../lib/workspace.ts';
import { AUDIT_DOMAINS, type AuditFilterInput } from './audit.documents.ts';

/** URL parameters of the filters (all optional). */
const PARAMS = ['actor', 'domain', 'type', 'stream', 'from', 'to'] as const;
type Param = (typeof PARAMS)[number];

/** A `datetime-local` value (the browser's time zone) as epoch ms, or undefined. */
function localMs(value: string | null): number | undefined {
  if (!value) return undefined;
  const ms = new Date(value).getTime();
  return Number.isFinite(ms) ? ms : undefined;
}

export function filterOf(query: URLSearchParams): AuditFilterInput {
  const f: AuditFilterInput = {};
  const actor = query.get('actor');
  if (actor) f.actor = actor;
  const domain = query.get('domain');
  if (domain) f.domain = domain;
  const type = query.get('type');
  if (type) f.types = [type];
  const stream = query.get('stream');
  if (stream) f.streamId = stream;
  const from = localMs(query.get('from'));
  if (from !== undefined) f.from = from;
  const to = localMs(query.get('to'));
  if (to !== undefined) f.to = to;
  return f;
}

/**
 * `/audit?actor=…&domain=…&type=…&stream=…&from=…&to=…`: the workspace's audit log, newest first,
 * filtered (the filters live in the URL), keyset "Load more", rows that expand to before/after,
 * JSONL / CSV export through GET /api/audit/export, and new entries as they are appended
 * (auditLogAppended; no polling). docs/governance.md.
 */
export function AuditPage() {
  const client = useDashboard();
  const [query, setQuery] = useQueryState();
  const filter = useMemo(() => filterOf(query), [query]);
  const log = useAuditLog(filter);
  const [draft, setDraft] = useState<Record<Param, string>>(
    () => Object.fromEntries(PARAMS.map((p) => [p, query.get(p) ?? ''])) as Record<Param, string>,
  );

  const apply = (values: Record<Param, string>) => {
    const next = new URLSearchParams(query);
    for (const p of PARAMS) {
      const v = values[p].trim();
      if (v) next.set(p, v);
      else next.delete(p);
    }
    setQuery(next);
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    apply(draft);
  };
  const set = (p: Param, value: string) => setDraft((d) => ({ ...d, [p]: value }));

  const exportHref = (format: 'jsonl' | 'csv') => {
    const params = new URLSearchParams({ format });
    if (filter.actor) params.set('actor', filter.actor);
    if (filter.domain) params.set('domain', filter.domain);
    for (const t of filter.types ?? []) params.append('type', t);
    if (filter.streamId) params.set('stream', filter.streamId);
    if (filter.from !== undefined) params.set('from', String(filter.from));
    if (filter.to !== undefined) params.set('to', String(filter.to));
    if (client.workspace !== DEFAULT_WORKSPACE) params.set('ws', client.workspace);
    return client.apiUrl(`/api/audit/export?${params.toString()}`);
  };

  return (
    <>
      <h1>Audit log</h1>
      <form className="toolbar audit-filters" onSubmit={submit} aria-label="Audit filters">
        <label className="field">
          <span>Actor</span>
          <input
            type="text"
            value={draft.actor}
            placeholder="key:…, user:…, anonymous"
            onChange={(e) => set('actor', e.target.value)}
            data-testid="audit-actor"
          />
        </label>
        <label className="field">
          <span>Domain</span>
          <select
            value={draft.domain}
            onChange={(e) => {
              set('domain', e.target.value);
              apply({ ...draft, domain: e.target.value });
            }}
          >
            <option value="">All</option>
            {AUDIT_DOMAINS.map((d) => (
              <option key={d} value={d}>
                {d}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Event type</span>
          <input
            type="text"
            value={draft.type}
            placeholder="ModelAliasSet"
            onChange={(e) => set('type', e.target.value)}
          />
        </label>
        <label className="field">
          <span>Object (stream)</span>
          <input
            type="text"
            value={draft.stream}
            placeholder="run-…"
            onChange={(e) => set('stream', e.target.value)}
          />
        </label>
        <label className="field">
          <span>From</span>
          <input
            type="datetime-local"
            value={draft.from}
            onChange={(e) => set('from', e.target.value)}
          />
        </label>
        <label className="field">
          <span>To</span>
          <input
            type="datetime-local"
            value={draft.to}
            onChange={(e) => set('to', e.target.value)}
          />
        </label>
        <button type="submit" className="primary">
          Apply
        </button>
        {PARAMS.some((p) => query.get(p)) && (
          <button
            type="button"
            onClick={() => {
              const empty = Object.fromEntries(PARAMS.map((p) => [p, ''])) as Record<Param, string>;
              setDraft(empty);
              apply(empty);
            }}
          >
            Clear
          </button>
        )}
        <span className="grow" />
        <a className="button" href={exportHref('jsonl')} download="audit.jsonl">
          Export JSONL
        </a>
        <a className="button" href={exportHref('csv')} download="audit.csv">
          Export CSV
        </a>
      </form>
      {log.error && <ErrorMessage error={log.error} />}
      {!log.loading && !log.error && log.entries.length === 0 ? (
        <p className="muted" data-testid="audit-empty">
          No audit entries match.
        </p>
      ) : (
        <AuditTable
          entries={log.entries}
          label="Audit log, newest first"
          onActor={(actor) => {
            const next = { ...draft, actor };
            setDraft(next);
            apply(next);
          }}
        />
      )}
      {log.hasNextPage && (
        <p>
          <button type="button" disabled={log.loading} onClick={log.loadMore}>
            Load more
          </button>
        </p>
      )}
    </>
  );
}
