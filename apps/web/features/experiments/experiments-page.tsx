'use client';

import Link from 'next/link';
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { ErrorMessage } from '../../components/error-message.tsx';
import { useDashboard } from '../../components/providers.tsx';
import { formatRelative, formatTimestamp } from '../../lib/format.ts';
import {
  CREATE_EXPERIMENT,
  DELETE_EXPERIMENT,
  EXPERIMENTS_CHANGED,
  EXPERIMENTS_QUERY,
  RENAME_EXPERIMENT,
  RESTORE_EXPERIMENT,
  type Experiment,
  type ExperimentsResult,
} from '../../lib/graphql/documents.ts';
import { describeError, type ApiErrorInfo } from '../../lib/graphql/errors.ts';
import { useDebounced, useNow, useQueryState } from '../../lib/hooks.ts';
import { coalescedRunner } from '../../lib/live-refresh.ts';

const PAGE = 100;

interface ListState {
  items: Experiment[];
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

export function ExperimentsPage() {
  const { urql } = useDashboard();
  const [query, setQuery] = useQueryState();
  const [search, setSearch] = useState(() => query.get('q') ?? '');
  const showDeleted = query.get('view') === 'deleted';
  const debouncedSearch = useDebounced(search.trim(), 250);
  const [list, setList] = useState<ListState>(initial);
  const [notice, setNotice] = useState<{ text: string; undo?: Experiment } | null>(null);
  const generation = useRef(0);
  const now = useNow(30_000);

  const load = useCallback(
    async (after: string | null) => {
      // Every load bumps the generation: older answers (a search, a live refresh) are dropped.
      const gen = ++generation.current;
      setList((s) => ({ ...s, loading: true }));
      const result = await urql
        .query<ExperimentsResult>(
          EXPERIMENTS_QUERY,
          {
            filter: {
              nameContains: debouncedSearch || null,
              lifecycleStage: showDeleted ? 'DELETED' : 'ACTIVE',
            },
            first: PAGE,
            after,
          },
          { requestPolicy: 'network-only' },
        )
        .toPromise();
      if (gen !== generation.current) return;
      if (result.error || !result.data) {
        setList((s) => ({
          ...s,
          loading: false,
          error: describeError(result.error ?? { message: 'No data' }),
        }));
        return;
      }
      const page = result.data.experiments;
      setList((s) => ({
        items: [...(after === null ? [] : s.items), ...page.edges.map((e) => e.node)],
        totalCount: page.totalCount,
        endCursor: page.pageInfo.endCursor,
        hasNextPage: page.pageInfo.hasNextPage,
        loading: false,
        error: null,
      }));
    },
    [urql, debouncedSearch, showDeleted],
  );

  useEffect(() => {
    void load(null);
  }, [load]);

  // Live: each experimentsChanged push re-reads the loaded rows (at least one page), so
  // experiments created, renamed, deleted or restored elsewhere show up. No polling.
  const loadedCount = useRef(0);
  loadedCount.current = list.items.length;
  useEffect(() => {
    const refresh = coalescedRunner(async () => {
      const gen = generation.current;
      const first = Math.min(1000, Math.max(PAGE, loadedCount.current));
      try {
        const result = await urql
          .query<ExperimentsResult>(
            EXPERIMENTS_QUERY,
            {
              filter: {
                nameContains: debouncedSearch || null,
                lifecycleStage: showDeleted ? 'DELETED' : 'ACTIVE',
              },
              first,
            },
            { requestPolicy: 'network-only' },
          )
          .toPromise();
        // A newer search or "load more" started meanwhile: its answer wins.
        if (gen !== generation.current || !result.data) return;
        const page = result.data.experiments;
        setList((s) =>
          s.loading
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
    const { unsubscribe } = urql.subscription(EXPERIMENTS_CHANGED, {}).subscribe(refresh);
    return unsubscribe;
  }, [urql, debouncedSearch, showDeleted]);

  // Keep the search in the URL (shareable), without a history entry per keystroke.
  useEffect(() => {
    const next = new URLSearchParams(query);
    if (debouncedSearch) next.set('q', debouncedSearch);
    else next.delete('q');
    if (next.toString() !== query.toString()) setQuery(next);
  }, [debouncedSearch, query, setQuery]);

  const setView = (deleted: boolean) => {
    const next = new URLSearchParams(query);
    if (deleted) next.set('view', 'deleted');
    else next.delete('view');
    setQuery(next);
  };

  const replaceItem = (experiment: Experiment) =>
    setList((s) => ({
      ...s,
      items: s.items.map((e) => (e.id === experiment.id ? experiment : e)),
    }));
  const removeItem = (id: string) =>
    setList((s) => ({
      ...s,
      items: s.items.filter((e) => e.id !== id),
      totalCount: Math.max(0, s.totalCount - 1),
    }));

  const mutate = async (
    document: string,
    variables: Record<string, string>,
  ): Promise<{ experiment?: Experiment; error?: ApiErrorInfo }> => {
    const result = await urql.mutation<Record<string, Experiment>>(document, variables).toPromise();
    if (result.error || !result.data)
      return { error: describeError(result.error ?? { message: 'No data' }) };
    return { experiment: Object.values(result.data)[0] };
  };

  const onDelete = async (experiment: Experiment) => {
    const { error } = await mutate(DELETE_EXPERIMENT, { id: experiment.id });
    if (error) return setNotice({ text: error.message });
    removeItem(experiment.id);
    setNotice({ text: `Deleted “${experiment.name}”.`, undo: experiment });
  };

  const onRestore = async (experiment: Experiment) => {
    const { error, experiment: restored } = await mutate(RESTORE_EXPERIMENT, { id: experiment.id });
    if (error) return setNotice({ text: error.message });
    if (showDeleted) removeItem(experiment.id);
    else if (restored) void load(null);
    setNotice({ text: `Restored “${experiment.name}”.` });
  };

  return (
    <>
      <h1>Experiments</h1>
      <CreateExperimentForm
        onCreated={(experiment) => {
          setNotice({ text: `Created “${experiment.name}”.` });
          if (!showDeleted)
            setList((s) => ({
              ...s,
              items: [experiment, ...s.items],
              totalCount: s.totalCount + 1,
            }));
        }}
        mutate={mutate}
      />
      <div className="toolbar" role="search">
        <label className="field grow">
          <span>Search</span>
          <input
            type="search"
            className="grow"
            placeholder="Experiment name contains…"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
          />
        </label>
        <div role="group" aria-label="Which experiments" className="field">
          <button type="button" aria-pressed={!showDeleted} onClick={() => setView(false)}>
            Active
          </button>
          <button type="button" aria-pressed={showDeleted} onClick={() => setView(true)}>
            Deleted
          </button>
        </div>
      </div>
      {notice && (
        <div className="notice" role="status">
          <span>{notice.text}</span>
          {notice.undo && (
            <button type="button" className="link" onClick={() => void onRestore(notice.undo!)}>
              Undo
            </button>
          )}
          <button
            type="button"
            className="link"
            onClick={() => setNotice(null)}
            aria-label="Dismiss"
          >
            ×
          </button>
        </div>
      )}
      {list.error && <ErrorMessage error={list.error} />}
      <p className="muted" aria-live="polite">
        {list.loading && list.items.length === 0
          ? 'Loading…'
          : `${list.totalCount} ${showDeleted ? 'deleted ' : ''}experiment${list.totalCount === 1 ? '' : 's'}`}
      </p>
      <table className="data" aria-label="Experiments">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">ID</th>
            <th scope="col">Created</th>
            <th scope="col">Last change</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {list.items.map((experiment) => (
            <ExperimentRow
              key={experiment.id}
              experiment={experiment}
              now={now}
              onRename={async (name) => {
                const { error, experiment: renamed } = await mutate(RENAME_EXPERIMENT, {
                  id: experiment.id,
                  name,
                });
                if (renamed) replaceItem(renamed);
                return error ?? null;
              }}
              onDelete={() => void onDelete(experiment)}
              onRestore={() => void onRestore(experiment)}
            />
          ))}
        </tbody>
      </table>
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

function CreateExperimentForm({
  onCreated,
  mutate,
}: {
  onCreated: (experiment: Experiment) => void;
  mutate: (
    document: string,
    variables: Record<string, string>,
  ) => Promise<{ experiment?: Experiment; error?: ApiErrorInfo }>;
}) {
  const [name, setName] = useState('');
  const [error, setError] = useState<ApiErrorInfo | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!name.trim()) return;
    setBusy(true);
    const result = await mutate(CREATE_EXPERIMENT, { name: name.trim() });
    setBusy(false);
    if (result.error) return setError(result.error);
    setError(null);
    setName('');
    if (result.experiment) onCreated(result.experiment);
  };
  return (
    <form className="toolbar" onSubmit={(e) => void submit(e)} aria-label="Create an experiment">
      <label className="field">
        <span>New experiment</span>
        <input
          type="text"
          value={name}
          onChange={(e) => setName(e.target.value)}
          placeholder="Name"
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? 'create-error' : undefined}
          maxLength={500}
        />
      </label>
      <button type="submit" className="primary" disabled={busy || !name.trim()}>
        Create
      </button>
      {error && <ErrorMessage error={error} id="create-error" />}
    </form>
  );
}

function ExperimentRow({
  experiment,
  now,
  onRename,
  onDelete,
  onRestore,
}: {
  experiment: Experiment;
  now: number;
  onRename: (name: string) => Promise<ApiErrorInfo | null>;
  onDelete: () => void;
  onRestore: () => void;
}) {
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(experiment.name);
  const [error, setError] = useState<ApiErrorInfo | null>(null);
  const deleted = experiment.lifecycleStage === 'DELETED';
  const save = async () => {
    const trimmed = name.trim();
    if (!trimmed || trimmed === experiment.name) return setEditing(false);
    const err = await onRename(trimmed);
    if (err) setError(err);
    else {
      setError(null);
      setEditing(false);
    }
  };
  return (
    <tr>
      <td style={{ whiteSpace: 'normal' }}>
        {editing ? (
          <form
            className="field"
            onSubmit={(e) => {
              e.preventDefault();
              void save();
            }}
          >
            <label className="visually-hidden" htmlFor={`rename-${experiment.id}`}>
              New name for {experiment.name}
            </label>
            <input
              id={`rename-${experiment.id}`}
              type="text"
              value={name}
              autoFocus
              maxLength={500}
              onChange={(e) => setName(e.target.value)}
              onKeyDown={(e) => {
                if (e.key === 'Escape') {
                  setName(experiment.name);
                  setError(null);
                  setEditing(false);
                }
              }}
            />
            <button type="submit">Save</button>
            <button
              type="button"
              onClick={() => {
                setName(experiment.name);
                setError(null);
                setEditing(false);
              }}
            >
              Cancel
            </button>
            {error && <ErrorMessage error={error} />}
          </form>
        ) : deleted ? (
          <span>{experiment.name}</span>
        ) : (
          <Link href={`/experiment?id=${encodeURIComponent(experiment.id)}`}>
            {experiment.name}
          </Link>
        )}
      </td>
      <td className="mono muted">{experiment.id}</td>
      <td title={formatTimestamp(experiment.createdAt)}>
        {formatRelative(experiment.createdAt, now)}
      </td>
      <td title={formatTimestamp(experiment.updatedAt)}>
        {formatRelative(experiment.updatedAt, now)}
      </td>
      <td style={{ textAlign: 'right' }}>
        {deleted ? (
          <button type="button" onClick={onRestore} aria-label={`Restore ${experiment.name}`}>
            Restore
          </button>
        ) : (
          !editing && (
            <span className="field">
              <button
                type="button"
                onClick={() => {
                  setName(experiment.name);
                  setEditing(true);
                }}
                aria-label={`Rename ${experiment.name}`}
              >
                Rename
              </button>
              <button
                type="button"
                className="danger"
                onClick={onDelete}
                aria-label={`Delete ${experiment.name}`}
              >
                Delete
              </button>
            </span>
          )
        )}
      </td>
    </tr>
  );
}
