'use client';

import Link from 'next/link';
import { useCallback, useEffect, useRef, useState } from 'react';
import { ErrorMessage } from '../../components/error-message.tsx';
import { useDashboard } from '../../components/providers.tsx';
import { formatDuration, formatTimestamp } from '../../lib/format.ts';
import { describeError, type ApiErrorInfo } from '../../lib/graphql/errors.ts';
import { useSubscriptionEffect } from '../../lib/hooks.ts';
import { traceHref } from './prompt-editing.ts';
import {
  PROMPT_VERSION_TRACES,
  TRACES_LINKS_CHANGED,
  TRACES_PAGE,
  type TracesLinksChangedResult,
  type PromptTrace,
  type PromptVersion,
  type PromptVersionTracesResult,
} from './prompts.documents.ts';

/**
 * One version in full: its template (text, or the chat messages), variables, model configuration,
 * response format, commit message, author, URI, tags, and the traces that used it
 * (`PromptVersion.traces`, newest first, paged), each linking to its trace page.
 */
export function VersionPanel({
  version: v,
  onClose,
}: {
  version: PromptVersion;
  onClose: (() => void) | null;
}) {
  return (
    <section
      className="version-panel"
      aria-labelledby="prompt-version-heading"
      data-testid="version-panel"
      data-version={v.version}
    >
      <header className="version-panel-head">
        <h2 id="prompt-version-heading">
          {v.name} v{v.version}{' '}
          {v.aliases.map((a) => (
            <span key={a} className="alias-chip">
              @{a}
            </span>
          ))}
        </h2>
        {onClose && (
          <button type="button" onClick={onClose} aria-label="Close version details">
            Close
          </button>
        )}
      </header>
      <dl className="cards">
        <div className="card">
          <dt className="label">URI</dt>
          <dd className="value mono" style={{ margin: 0 }}>
            {v.uri}
          </dd>
        </div>
        <div className="card">
          <dt className="label">Author</dt>
          <dd className="value" style={{ margin: 0 }}>
            {v.author ?? '—'}
          </dd>
        </div>
        <div className="card">
          <dt className="label">Created</dt>
          <dd className="value" style={{ margin: 0 }}>
            {formatTimestamp(v.createdAt)}
          </dd>
        </div>
        <div className="card">
          <dt className="label">Commit message</dt>
          <dd className="value" style={{ margin: 0 }}>
            {v.commitMessage ?? '—'}
          </dd>
        </div>
      </dl>
      <h3>Template ({v.templateType === 'CHAT' ? 'chat' : 'text'})</h3>
      {v.templateType === 'TEXT' ? (
        <pre className="prompt-template mono" data-testid="version-template">
          {v.template}
        </pre>
      ) : (
        <ol className="prompt-messages" data-testid="version-template">
          {(v.messages ?? []).map((m, i) => (
            <li key={i}>
              <span className="prompt-role">{m.role}</span>
              <pre className="prompt-template mono">{m.content}</pre>
            </li>
          ))}
        </ol>
      )}
      <p>
        <span className="muted">Variables:</span>{' '}
        {v.variables.length === 0 ? (
          <span className="muted">none</span>
        ) : (
          v.variables.map((name) => (
            <span key={name} className="chip prompt-variable mono">
              {name}
            </span>
          ))
        )}
      </p>
      <div className="two-col">
        <div>
          <h3>Model configuration</h3>
          <JsonBlock value={v.modelConfig} />
        </div>
        <div>
          <h3>Response format</h3>
          <JsonBlock value={v.responseFormat} />
        </div>
      </div>
      {v.tags.length > 0 && (
        <p className="chips" aria-label={`Tags of v${v.version}`}>
          {v.tags.map((t) => (
            <span key={t.key} className="chip prompt-tag">
              {t.key}: <span className="mono">{t.value}</span>
            </span>
          ))}
        </p>
      )}
      <VersionTraces name={v.name} version={v.version} uri={v.uri} />
    </section>
  );
}

function JsonBlock({ value }: { value: unknown }) {
  if (value === null || value === undefined) return <p className="muted">None.</p>;
  return <pre className="prompt-template mono">{JSON.stringify(value, null, 2)}</pre>;
}

interface TracesState {
  items: PromptTrace[];
  totalCount: number;
  endCursor: string | null;
  hasNextPage: boolean;
  loading: boolean;
  error: ApiErrorInfo | null;
}

/**
 * The traces of one version, kept live by `tracesChanged`: a push holding a trace that links to
 * this version's URI re-reads the first pages (debounced). No polling.
 */
function VersionTraces({ name, version, uri }: { name: string; version: number; uri: string }) {
  const { urql } = useDashboard();
  const [state, setState] = useState<TracesState>({
    items: [],
    totalCount: 0,
    endCursor: null,
    hasNextPage: false,
    loading: true,
    error: null,
  });
  const generation = useRef(0);
  const load = useCallback(
    async (after: string | null) => {
      const gen = ++generation.current;
      setState((s) => ({ ...s, loading: true }));
      const result = await urql
        .query<PromptVersionTracesResult>(
          PROMPT_VERSION_TRACES,
          { name, version, first: TRACES_PAGE, after },
          { requestPolicy: 'network-only' },
        )
        .toPromise();
      if (gen !== generation.current) return;
      const page = result.data?.promptVersion?.traces;
      if (result.error || !page) {
        setState((s) => ({
          ...s,
          loading: false,
          error: describeError(result.error ?? { message: `v${version} not found` }),
        }));
        return;
      }
      setState((s) => ({
        items: [...(after === null ? [] : s.items), ...page.edges.map((e) => e.node)],
        totalCount: page.totalCount,
        endCursor: page.pageInfo.endCursor,
        hasNextPage: page.pageInfo.hasNextPage,
        loading: false,
        error: null,
      }));
    },
    [urql, name, version],
  );
  useEffect(() => {
    void load(null);
  }, [load]);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useSubscriptionEffect<TracesLinksChangedResult>(TRACES_LINKS_CHANGED, {}, (data) => {
    if (!data.tracesChanged.some((t) => t.promptVersions.includes(uri))) return;
    timer.current ??= setTimeout(() => {
      timer.current = null;
      void load(null);
    }, 300);
  });
  useEffect(
    () => () => {
      if (timer.current) clearTimeout(timer.current);
    },
    [],
  );
  return (
    <section aria-labelledby="version-traces-heading">
      <h3 id="version-traces-heading">
        Traces that used v{version}{' '}
        <span className="muted" data-testid="version-traces-count">
          ({state.loading && state.items.length === 0 ? '…' : state.totalCount})
        </span>
      </h3>
      {state.error && <ErrorMessage error={state.error} />}
      {!state.loading && state.items.length === 0 && !state.error ? (
        <p className="muted">
          No trace links to {`prompts:/${name}/${version}`} yet. Format the loaded prompt inside a
          trace (the SDKs link it) or set the span attribute cairn.trace.prompt_versions.
        </p>
      ) : (
        <table className="data" aria-label={`Traces of v${version}`}>
          <thead>
            <tr>
              <th scope="col">Trace</th>
              <th scope="col">Status</th>
              <th scope="col">Started</th>
              <th scope="col" className="num">
                Duration
              </th>
            </tr>
          </thead>
          <tbody>
            {state.items.map((t) => (
              <tr key={t.id} data-trace-id={t.id}>
                <td>
                  <Link href={traceHref(t.id)} className="trace-link">
                    {t.name || <span className="mono">{t.id.slice(0, 12)}…</span>}
                  </Link>
                </td>
                <td>
                  <span className={`badge trace-${t.status}`}>
                    {t.status === 'UNSET' ? 'unset' : t.status === 'OK' ? 'ok' : 'error'}
                  </span>
                </td>
                <td>{formatTimestamp(t.startTime)}</td>
                <td className="num">{formatDuration(t.durationMs)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {state.hasNextPage && (
        <p>
          <button type="button" onClick={() => void load(state.endCursor)} disabled={state.loading}>
            More traces
          </button>
        </p>
      )}
    </section>
  );
}
