'use client';

import Link from 'next/link';
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { ErrorMessage } from '../../components/error-message.tsx';
import { useDashboard } from '../../components/providers.tsx';
import { formatRelative, formatTimestamp } from '../../lib/format.ts';
import { describeError, type ApiErrorInfo } from '../../lib/graphql/errors.ts';
import {
  CREATE_REGISTERED_MODEL,
  REGISTERED_MODELS_CHANGED,
  REGISTERED_MODELS_QUERY,
  type RegisteredModelSummary,
  type RegisteredModelsResult,
} from '../../lib/graphql/registry-documents.ts';
import { useNow, useQueryState } from '../../lib/hooks.ts';
import { coalescedRunner } from '../../lib/live-refresh.ts';
import { ModelFilterBox } from './model-filter-box.tsx';
import { StageBadge, modelHref } from './stage-badge.tsx';

const PAGE = 100;

const ORDERS = [
  { value: 'name ASC', label: 'Name' },
  { value: 'updated_at DESC', label: 'Last change' },
  { value: 'created_at DESC', label: 'Newest' },
] as const;

interface ListState {
  items: RegisteredModelSummary[];
  totalCount: number;
  endCursor: string | null;
  hasNextPage: boolean;
  loading: boolean;
  error: ApiErrorInfo | null;
}

const initial: ListState = {
  items: [],
  totalCount: 0,
  endCursor: null,
  hasNextPage: false,
  loading: true,
  error: null,
};

/** `/models?filter=…&order=…`: registered models, searched with the registry filter grammar. */
export function ModelsPage() {
  const { urql } = useDashboard();
  const [query, setQuery] = useQueryState();
  const filter = query.get('filter') ?? '';
  const order = query.get('order') ?? 'name ASC';
  const [list, setList] = useState<ListState>(initial);
  const generation = useRef(0);
  const loaded = useRef(0);
  loaded.current = list.items.length;
  const now = useNow(30_000);

  const fetchPage = useCallback(
    (after: string | null, first: number) =>
      urql
        .query<RegisteredModelsResult>(
          REGISTERED_MODELS_QUERY,
          { filter: filter || null, orderBy: [order], first, after },
          { requestPolicy: 'network-only' },
        )
        .toPromise(),
    [urql, filter, order],
  );

  const load = useCallback(
    async (after: string | null) => {
      const gen = ++generation.current;
      setList((s) => ({ ...s, loading: true }));
      const result = await fetchPage(after, PAGE);
      if (gen !== generation.current) return;
      if (result.error || !result.data) {
        setList((s) => ({
          ...(after === null ? initial : s),
          loading: false,
          error: describeError(result.error ?? { message: 'No data' }),
        }));
        return;
      }
      const page = result.data.registeredModels;
      setList((s) => ({
        items: [...(after === null ? [] : s.items), ...page.edges.map((e) => e.node)],
        totalCount: page.totalCount,
        endCursor: page.pageInfo.endCursor,
        hasNextPage: page.pageInfo.hasNextPage,
        loading: false,
        error: null,
      }));
    },
    [fetchPage],
  );

  useEffect(() => {
    void load(null);
  }, [load]);

  // Live: each registeredModelsChanged push (a model created, renamed, deleted, a new version,
  // a stage or alias move) re-reads the loaded rows. No polling.
  useEffect(() => {
    const refresh = coalescedRunner(async () => {
      const gen = generation.current;
      try {
        const result = await fetchPage(null, Math.min(1000, Math.max(PAGE, loaded.current)));
        if (gen !== generation.current || !result.data) return;
        const page = result.data.registeredModels;
        setList((s) =>
          s.loading || s.error
            ? s
            : {
                items: page.edges.map((e) => e.node),
                totalCount: page.totalCount,
                endCursor: page.pageInfo.endCursor,
                hasNextPage: page.pageInfo.hasNextPage,
                loading: false,
                error: null,
              },
        );
      } catch {
        // A failed re-read keeps the rows shown; the next push reads again.
      }
    });
    const { unsubscribe } = urql.subscription(REGISTERED_MODELS_CHANGED, {}).subscribe(refresh);
    return unsubscribe;
  }, [urql, fetchPage]);

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
      <h1>Models</h1>
      <CreateModelForm onCreated={() => void load(null)} />
      <ModelFilterBox
        value={filter}
        error={filterError}
        onApply={(value) => setParam('filter', value || null)}
      />
      <div className="toolbar">
        <label className="field">
          <span>Sort by</span>
          <select
            value={order}
            onChange={(e) =>
              setParam('order', e.target.value === 'name ASC' ? null : e.target.value)
            }
          >
            {ORDERS.map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </select>
        </label>
        <span className="muted" aria-live="polite" data-testid="models-count">
          {list.error
            ? ''
            : list.loading && list.items.length === 0
              ? 'Loading…'
              : `${list.totalCount} model${list.totalCount === 1 ? '' : 's'}`}
        </span>
      </div>
      {list.error && !filterError && <ErrorMessage error={list.error} />}
      <table className="data" aria-label="Registered models">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Latest versions</th>
            <th scope="col">Aliases</th>
            <th scope="col">Description</th>
            <th scope="col">Last change</th>
          </tr>
        </thead>
        <tbody>
          {list.items.map((m) => (
            <tr key={m.id}>
              <td>
                <Link href={modelHref(m.name)}>{m.name}</Link>
              </td>
              <td>
                {m.latestVersions.length === 0 ? (
                  <span className="muted">no versions</span>
                ) : (
                  <span className="chips">
                    {m.latestVersions.map((v) => (
                      <span key={`${v.stage}-${v.version}`} className="chip">
                        v{v.version} <StageBadge stage={v.stage} />
                      </span>
                    ))}
                  </span>
                )}
              </td>
              <td>
                <span className="chips">
                  {m.aliases.map((a) => (
                    <span key={a.alias} className="alias-chip">
                      @{a.alias} → v{a.version}
                    </span>
                  ))}
                </span>
              </td>
              <td className="muted" style={{ maxWidth: 360 }} title={m.description ?? undefined}>
                {m.description ?? ''}
              </td>
              <td title={formatTimestamp(m.updatedAt)}>{formatRelative(m.updatedAt, now)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {!list.loading && list.items.length === 0 && !list.error && (
        <p className="muted">
          {filter
            ? 'No model matches this filter.'
            : 'No registered models yet. Create one above, or log a model with registered_model_name.'}
        </p>
      )}
      {list.hasNextPage && (
        <p>
          <button type="button" onClick={() => void load(list.endCursor)} disabled={list.loading}>
            Load more
          </button>
        </p>
      )}
    </>
  );
}

function CreateModelForm({ onCreated }: { onCreated: (name: string) => void }) {
  const { urql } = useDashboard();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [error, setError] = useState<ApiErrorInfo | null>(null);
  const [created, setCreated] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const trimmed = name.trim();
    if (!trimmed) return;
    setBusy(true);
    const result = await urql
      .mutation<{ createRegisteredModel: RegisteredModelSummary }>(CREATE_REGISTERED_MODEL, {
        name: trimmed,
        description: description.trim() || null,
      })
      .toPromise();
    setBusy(false);
    if (result.error || !result.data) {
      setError(describeError(result.error ?? { message: 'No data' }));
      return;
    }
    setError(null);
    setName('');
    setDescription('');
    setCreated(result.data.createRegisteredModel.name);
    onCreated(result.data.createRegisteredModel.name);
  };
  return (
    <form className="toolbar" onSubmit={(e) => void submit(e)} aria-label="Create a model">
      <label className="field">
        <span>New model</span>
        <input
          type="text"
          value={name}
          onChange={(e) => setName(e.target.value)}
          placeholder="Name"
          maxLength={256}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? 'create-model-error' : undefined}
        />
      </label>
      <label className="field grow">
        <span className="visually-hidden">Description of the new model</span>
        <input
          type="text"
          className="grow"
          value={description}
          onChange={(e) => setDescription(e.target.value)}
          placeholder="Description (optional)"
          maxLength={5000}
        />
      </label>
      <button type="submit" className="primary" disabled={busy || !name.trim()}>
        Create
      </button>
      {error && <ErrorMessage error={error} id="create-model-error" />}
      {created && !error && (
        <span role="status">
          Created <Link href={modelHref(created)}>{created}</Link>.
        </span>
      )}
    </form>
  );
}
