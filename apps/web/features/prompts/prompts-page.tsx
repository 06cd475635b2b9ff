'use client';

import Link from 'next/link';
import { useCallback, useEffect, useRef, useState, type FormEvent } from 'react';
import { ErrorMessage } from '../../components/error-message.tsx';
import { useDashboard } from '../../components/providers.tsx';
import { SearchFilterBox } from '../../components/search-filter-box.tsx';
import { formatRelative, formatTimestamp } from '../../lib/format.ts';
import { describeError, type ApiErrorInfo } from '../../lib/graphql/errors.ts';
import { useNow, useQueryState, useSubscriptionEffect } from '../../lib/hooks.ts';
import { promptHref } from './prompt-editing.ts';
import {
  CREATE_PROMPT,
  PROMPTS_QUERY,
  PROMPT_ROW_CHANGED,
  type PromptRowChangedResult,
  type PromptSummary,
  type PromptsResult,
} from './prompts.documents.ts';
import './prompts.css';

const PAGE = 50;

const ORDERS = [
  { value: 'name ASC', label: 'Name' },
  { value: 'updated_at DESC', label: 'Last change' },
  { value: 'created_at DESC', label: 'Newest' },
] as const;

const EXAMPLES = [
  "name LIKE 'support%'",
  "name = 'summarise'",
  "description ILIKE '%refund%'",
  "tags.team = 'growth' AND name LIKE '%bot%'",
];

interface ListState {
  items: PromptSummary[];
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

/**
 * `/prompts?filter=…&order=…&archived=1`: the prompt registry, searched with its filter grammar,
 * a page at a time. Each listed row is kept live by `promptChanged(name)` (no polling); a prompt
 * created here is listed at once.
 */
export function PromptsPage() {
  const { urql } = useDashboard();
  const [query, setQuery] = useQueryState();
  const filter = query.get('filter') ?? '';
  const order = query.get('order') ?? 'name ASC';
  const includeArchived = query.get('archived') === '1';
  const [list, setList] = useState<ListState>(initial);
  const generation = useRef(0);
  const now = useNow(30_000);

  const load = useCallback(
    async (after: string | null) => {
      const gen = ++generation.current;
      setList((s) => ({ ...s, loading: true }));
      const result = await urql
        .query<PromptsResult>(
          PROMPTS_QUERY,
          { filter: filter || null, orderBy: [order], includeArchived, first: PAGE, after },
          { requestPolicy: 'network-only' },
        )
        .toPromise();
      if (gen !== generation.current) return;
      if (result.error || !result.data) {
        setList((s) => ({
          ...(after === null ? initial : s),
          loading: false,
          error: describeError(result.error ?? { message: 'No data' }),
        }));
        return;
      }
      const page = result.data.prompts;
      setList((s) => {
        const items = after === null ? [] : [...s.items];
        const seen = new Set(items.map((p) => p.id));
        for (const e of page.edges) if (!seen.has(e.node.id)) items.push(e.node);
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
    [urql, filter, order, includeArchived],
  );

  useEffect(() => {
    void load(null);
  }, [load]);

  /** A row's push: the prompt re-read (in place), or null once it was deleted (row removed). */
  const onRowChanged = useCallback(
    (id: string, row: PromptSummary | null) =>
      setList((s) => {
        if (row === null) {
          const items = s.items.filter((p) => p.id !== id);
          return items.length === s.items.length
            ? s
            : { ...s, items, totalCount: Math.max(0, s.totalCount - 1) };
        }
        // Archived while the list hides archived prompts: it leaves the list.
        if (row.archived && !includeArchived)
          return {
            ...s,
            items: s.items.filter((p) => p.id !== id),
            totalCount: Math.max(0, s.totalCount - 1),
          };
        return { ...s, items: s.items.map((p) => (p.id === id ? row : p)) };
      }),
    [includeArchived],
  );

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
      <h1>Prompts</h1>
      <CreatePromptForm onCreated={() => void load(null)} />
      <SearchFilterBox
        value={filter}
        onApply={(value) => setParam('filter', value || null)}
        error={filterError}
        label="Filter prompts"
        idPrefix="prompt-filter"
        placeholder="name LIKE 'support%' AND tags.team = 'growth'"
        examples={EXAMPLES}
        help={
          <>
            Compare <code>name</code>, <code>description</code>, <code>tags.KEY</code> (quoted
            strings) and <code>created_at</code>, <code>updated_at</code> (epoch ms) with{' '}
            <code>=</code> <code>!=</code> <code>LIKE</code> <code>ILIKE</code>; combine with{' '}
            <code>AND</code>, <code>OR</code>, <code>NOT</code> and parentheses.
          </>
        }
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
        <label className="field">
          <input
            type="checkbox"
            checked={includeArchived}
            onChange={(e) => setParam('archived', e.target.checked ? '1' : null)}
          />
          <span>Show archived</span>
        </label>
        <span className="muted" aria-live="polite" data-testid="prompts-count">
          {list.error
            ? ''
            : list.loading && list.items.length === 0
              ? 'Loading…'
              : `${list.totalCount} prompt${list.totalCount === 1 ? '' : 's'}`}
        </span>
      </div>
      {list.error && !filterError && <ErrorMessage error={list.error} />}
      <table className="data prompts-table" aria-label="Prompts">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Latest version</th>
            <th scope="col">Aliases</th>
            <th scope="col">Description</th>
            <th scope="col">Last change</th>
          </tr>
        </thead>
        <tbody>
          {list.items.map((p) => (
            <PromptRow key={p.id} prompt={p} now={now} onChanged={onRowChanged} />
          ))}
        </tbody>
      </table>
      {!list.loading && list.items.length === 0 && !list.error && (
        <p className="muted" data-testid="prompts-empty">
          {filter
            ? 'No prompt matches this filter.'
            : 'No prompts yet. Create one above, or register one with cairn.genai.register_prompt.'}
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

function PromptRow({
  prompt: p,
  now,
  onChanged,
}: {
  prompt: PromptSummary;
  now: number;
  onChanged: (id: string, row: PromptSummary | null) => void;
}) {
  useSubscriptionEffect<PromptRowChangedResult>(PROMPT_ROW_CHANGED, { name: p.name }, (data) =>
    onChanged(p.id, data.promptChanged),
  );
  const latest = p.latestVersion;
  return (
    <tr data-prompt={p.name}>
      <td>
        <Link href={promptHref(p.name)}>{p.name}</Link>
        {p.archived && <span className="badge stage-ARCHIVED"> archived</span>}
      </td>
      <td data-testid={`latest-${p.name}`}>
        {latest ? (
          <span title={latest.commitMessage ?? undefined}>
            v{latest.version}{' '}
            <span className="muted">
              {latest.templateType === 'CHAT' ? 'chat' : 'text'}
              {latest.commitMessage ? ` · ${latest.commitMessage}` : ''}
            </span>
          </span>
        ) : (
          <span className="muted">no versions</span>
        )}
      </td>
      <td>
        <span className="chips">
          {p.aliases.map((a) => (
            <span key={a.alias} className="alias-chip">
              @{a.alias} → v{a.version}
            </span>
          ))}
        </span>
      </td>
      <td className="muted" style={{ maxWidth: 360 }} title={p.description ?? undefined}>
        {p.description ?? ''}
      </td>
      <td title={formatTimestamp(p.updatedAt)}>{formatRelative(p.updatedAt, now)}</td>
    </tr>
  );
}

function CreatePromptForm({ onCreated }: { onCreated: (name: string) => void }) {
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
      .mutation<{ createPrompt: { id: string; name: string } }>(CREATE_PROMPT, {
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
    setCreated(result.data.createPrompt.name);
    onCreated(result.data.createPrompt.name);
  };
  return (
    <form className="toolbar" onSubmit={(e) => void submit(e)} aria-label="Create a prompt">
      <label className="field">
        <span>New prompt</span>
        <input
          type="text"
          value={name}
          onChange={(e) => setName(e.target.value)}
          placeholder="Name"
          maxLength={256}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? 'create-prompt-error' : undefined}
        />
      </label>
      <label className="field grow">
        <span className="visually-hidden">Description of the new prompt</span>
        <input
          type="text"
          className="grow"
          value={description}
          onChange={(e) => setDescription(e.target.value)}
          placeholder="Description (optional)"
          maxLength={10_000}
        />
      </label>
      <button type="submit" className="primary" disabled={busy || !name.trim()}>
        Create
      </button>
      {error && <ErrorMessage error={error} id="create-prompt-error" />}
      {created && !error && (
        <span role="status">
          Created <Link href={promptHref(created)}>{created}</Link>.
        </span>
      )}
    </form>
  );
}
