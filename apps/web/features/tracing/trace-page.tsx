'use client';

import Link from 'next/link';
import { useCallback, useMemo, useState, type ReactNode } from 'react';
import { ErrorMessage } from '../../components/error-message.tsx';
import { formatTimestamp } from '../../lib/format.ts';
import {
  TRACE_QUERY,
  type TraceDetail,
  type TraceResult,
} from '../../lib/graphql/tracing-documents.ts';
import { useQueryState } from '../../lib/hooks.ts';
import {
  ancestorIds,
  formatCost,
  formatLatency,
  formatTokenUsage,
  parseModelVersion,
  quoteFilterValue,
} from '../../lib/tracing.ts';
import { modelHref } from '../model-registry/stage-badge.tsx';
import { SpanDetail } from './span-detail.tsx';
import { DeleteTraceButton, TraceKeyValueEditor } from './trace-annotations.tsx';
import { SpanTreeView } from './span-tree.tsx';
import { TraceStatusBadge, TracingNav, sessionHref } from './tracing-nav.tsx';
import { useLiveTraceQuery } from './use-live-query.ts';

/** `/trace?id=…&span=…`: one trace: summary, span tree and waterfall, the selected span. */
export function TracePage() {
  const [query, setQuery] = useQueryState();
  const id = query.get('id') ?? '';
  const spanParam = query.get('span');
  const live = useLiveTraceQuery<TraceResult>(
    TRACE_QUERY,
    { id },
    `trace_id = ${quoteFilterValue(id)}`,
    { enabled: id !== '' },
  );
  const trace = live.data?.trace ?? null;

  if (!id)
    return (
      <>
        <h1>Trace</h1>
        <TracingNav current={null} />
        <p>
          No trace given. Open one from the <Link href="/traces">traces list</Link>.
        </p>
      </>
    );
  if (live.error && !trace) return <ErrorMessage error={live.error} />;
  if (!live.data) return <p className="page-loading">Loading…</p>;
  if (!trace)
    return (
      <>
        <h1>Trace not found</h1>
        <TracingNav current={null} />
        <p>
          No trace <span className="mono">{id}</span> in this workspace (yet: spans are queryable a
          moment after they are sent). <Link href="/traces">All traces</Link>
        </p>
      </>
    );
  return (
    <TraceView
      trace={trace}
      spanParam={spanParam}
      onSelect={(spanId) => {
        const next = new URLSearchParams(query);
        next.set('span', spanId);
        setQuery(next);
      }}
      stale={live.error}
      onChanged={live.refetch}
    />
  );
}

function TraceView({
  trace,
  spanParam,
  onSelect,
  stale,
  onChanged,
}: {
  trace: TraceDetail;
  spanParam: string | null;
  onSelect(spanId: string): void;
  stale: ReturnType<typeof useLiveTraceQuery>['error'];
  /** Re-reads the trace (after a change made here). */
  onChanged(): void;
}) {
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(new Set());
  const root = useMemo(
    () => trace.spans.find((s) => s.parentId === null) ?? trace.spans[0] ?? null,
    [trace.spans],
  );
  const selected = trace.spans.find((s) => s.id === spanParam) ?? root;
  const select = useCallback(
    (spanId: string) => {
      // The way to the span is opened (a link may point below a collapsed span).
      const up = ancestorIds(trace.spans, spanId);
      setCollapsed((c) =>
        up.some((a) => c.has(a)) ? new Set([...c].filter((x) => !up.includes(x))) : c,
      );
      onSelect(spanId);
    },
    [trace.spans, onSelect],
  );
  const toggle = useCallback((spanId: string, expand: boolean) => {
    setCollapsed((c) => {
      const next = new Set(c);
      if (expand) next.delete(spanId);
      else next.add(spanId);
      return next;
    });
  }, []);
  const mv = trace.modelVersion ? parseModelVersion(trace.modelVersion) : null;

  return (
    <>
      <nav className="breadcrumb" aria-label="Breadcrumb">
        <Link href="/traces">Traces</Link>
        <span aria-hidden="true">/</span>
        <span className="mono">{trace.id}</span>
      </nav>
      <h1>
        {trace.name || <span className="mono">{trace.id}</span>}{' '}
        <TraceStatusBadge status={trace.status} />
      </h1>
      <TracingNav current={null} />
      <div className="toolbar">
        <DeleteTraceButton traceId={trace.id} name={trace.name} />
        <Link href={`/lineage?kind=TRACE&id=${encodeURIComponent(trace.id)}`}>Lineage</Link>
      </div>
      {stale && <ErrorMessage error={stale} />}
      <div className="cards" data-testid="trace-summary">
        <Card label="Duration">{formatLatency(trace.durationMs)}</Card>
        <Card label="Started">{formatTimestamp(trace.startTime)}</Card>
        <Card label="Spans">
          {trace.spanCount}
          {trace.errorCount > 0 && (
            <span className="error-text"> · {trace.errorCount} with errors</span>
          )}
        </Card>
        <Card label="Tokens (in · out · total)">{formatTokenUsage(trace.tokenUsage)}</Card>
        <Card label="Cost">{formatCost(trace.cost)}</Card>
        <Card label="Session">
          {trace.sessionId ? (
            <Link href={sessionHref(trace.sessionId)} className="mono">
              {trace.sessionId}
            </Link>
          ) : (
            '—'
          )}
        </Card>
        <Card label="User">{trace.userId ?? '—'}</Card>
        <Card label="Environment">{trace.environment ?? '—'}</Card>
        {trace.runId && (
          <Card label="Run">
            <Link href={`/run?id=${encodeURIComponent(trace.runId)}`}>
              {trace.run?.name ?? trace.runId}
            </Link>
          </Card>
        )}
        {trace.modelVersion && (
          <Card label="Model version">
            {mv ? (
              <Link href={modelHref(mv.name, mv.version)}>
                {mv.name} v{mv.version}
              </Link>
            ) : (
              trace.modelVersion
            )}
          </Card>
        )}
        {trace.promptVersions.length > 0 && (
          <Card label="Prompt versions">
            <span className="chips">
              {trace.promptVersions.map((uri) => {
                const href = promptVersionHref(uri);
                return href ? (
                  <Link key={uri} href={href} className="mono">
                    {uri.slice(PROMPT_SCHEME.length)}
                  </Link>
                ) : (
                  <span key={uri} className="mono">
                    {uri}
                  </span>
                );
              })}
            </span>
          </Card>
        )}
      </div>
      <div className="two-col">
        <TraceKeyValueEditor
          kind="tag"
          traceId={trace.id}
          entries={trace.tags}
          onDone={onChanged}
        />
        <TraceKeyValueEditor
          kind="metadata"
          traceId={trace.id}
          entries={trace.metadata}
          onDone={onChanged}
        />
      </div>
      <SpanTreeView
        spans={trace.spans}
        selectedId={selected?.id ?? null}
        onSelect={select}
        collapsed={collapsed}
        onToggle={toggle}
      />
      {spanParam && selected && selected.id !== spanParam && (
        <p className="muted" role="note">
          Span <span className="mono">{spanParam}</span> is not in this trace; showing the root.
        </p>
      )}
      {selected ? <SpanDetail key={selected.id} span={selected} /> : <p>No spans yet.</p>}
    </>
  );
}

function Card({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="card">
      <div className="label">{label}</div>
      <div className="value">{children}</div>
    </div>
  );
}

const PROMPT_SCHEME = 'prompts:/';

/** `prompts:/<name>/<version>` → the prompt page at that version; null for another spelling. */
function promptVersionHref(uri: string): string | null {
  if (!uri.startsWith(PROMPT_SCHEME)) return null;
  const m = /^(.+)\/(\d+)$/u.exec(uri.slice(PROMPT_SCHEME.length));
  if (!m) return null;
  return `/prompts/view?${new URLSearchParams({ name: m[1]!, v: m[2]! }).toString()}`;
}
