'use client';

import { ObjectHistory } from '../../components/object-history.tsx';
import Link from 'next/link';
import { useEffect, useId, useMemo, useState, type FormEvent } from 'react';
import { useQuery } from 'urql';
import { ErrorMessage } from '../../components/error-message.tsx';
import { TimeTravelBar } from '../../components/time-travel-bar.tsx';
import { formatRelative, formatTimestamp } from '../../lib/format.ts';
import { useNow, useQueryState } from '../../lib/hooks.ts';
import { formatAsOf, parseAsOf } from '../../lib/time-travel.ts';
import { useAction } from '../model-registry/use-action.ts';
import { PromptDiffView } from './prompt-diff.tsx';
import { PromptEditor } from './prompt-editor.tsx';
import { VersionPanel } from './prompt-version-panel.tsx';
import {
  DELETE_PROMPT_ALIAS,
  PROMPT_TIMELINE,
  SET_PROMPT_ALIAS,
  type PromptTimelineResult,
  type PromptAlias,
  type PromptAliasChange,
  type PromptDetail,
  type PromptVersion,
} from './prompts.documents.ts';
import { usePrompt } from './use-prompt.ts';
import './prompts.css';

/** Aliases offered as one-click "Move … here" buttons on each version row. */
const ROW_ALIASES = 3;

/**
 * `/prompts/view?name=…&v=3&from=2&to=3&asOf=…`: one prompt, live (`promptChanged`). Versions
 * (paged), aliases with one-click moves and their history, a side-by-side diff of two versions,
 * an editor that saves a new version, and the traces that used the selected version. With
 * `asOf` (the time slider) the versions, aliases and alias history are as they were then (the
 * API replays the prompt's stream); writes are disabled and live updates paused until "now".
 */
export function PromptPage() {
  const [query, setQuery] = useQueryState();
  const name = query.get('name') ?? '';
  // A time in the future is now (the live view).
  const asOf = useMemo(() => parseAsOf(query.get('asOf'), Date.now()), [query]);
  const past = asOf !== null;
  const state = usePrompt(name, asOf === null ? null : formatAsOf(asOf));
  const { prompt, versions } = state;
  // The slider's range and snap points: the prompt as it is now, read again on each change.
  const [timeline, reexecuteTimeline] = useQuery<PromptTimelineResult>({
    query: PROMPT_TIMELINE,
    variables: { name },
    pause: !name,
    requestPolicy: 'network-only',
  });
  const updatedAt = past ? null : (prompt?.updatedAt ?? null);
  useEffect(() => {
    if (updatedAt !== null) reexecuteTimeline({ requestPolicy: 'network-only' });
  }, [updatedAt, reexecuteTimeline]);
  const live = timeline.data?.prompt ?? null;
  const times = useMemo(
    () =>
      live
        ? [
            ...live.versions.edges.map((e) => e.node.createdAt),
            ...live.aliasHistory.edges.map((e) => e.node.at),
          ]
        : [],
    [live],
  );
  const timeBar = live && (
    <TimeTravelBar
      createdAt={live.createdAt}
      times={times}
      asOf={asOf}
      onChange={(value) => setParams({ asOf: value === null ? null : formatAsOf(value) })}
      subject="the prompt"
    />
  );
  const [editing, setEditing] = useState(false);
  const [saved, setSaved] = useState<number | null>(null);

  const setParams = (changes: Record<string, string | null>) => {
    const next = new URLSearchParams(query);
    for (const [k, v] of Object.entries(changes)) {
      if (v === null) next.delete(k);
      else next.set(k, v);
    }
    setQuery(next);
  };

  if (!name) return <p>No prompt given.</p>;
  if (state.error && !prompt) return <ErrorMessage error={state.error} />;
  if (!prompt)
    return (
      <>
        {past && timeBar}
        <p className="page-loading" data-testid="prompt-not-found">
          {state.notFound
            ? past
              ? `Prompt “${name}” did not exist at that time.`
              : `Prompt “${name}” not found.`
            : 'Loading…'}
        </p>
      </>
    );

  const latest = versions[0] ?? null;
  const selectedNumber = Number(query.get('v') ?? NaN);
  const selected =
    versions.find((v) => v.version === selectedNumber) ?? (query.get('v') ? null : latest);
  const toN = Number(query.get('to') ?? latest?.version ?? NaN);
  const fromN = Number(query.get('from') ?? (Number.isFinite(toN) ? toN - 1 : NaN));

  return (
    <>
      <nav className="breadcrumb" aria-label="Breadcrumb">
        <Link href="/prompts">Prompts</Link>
        <span aria-hidden="true">/</span>
        <span>{prompt.name}</span>
      </nav>
      <h1>
        {prompt.name}
        {prompt.archived && <span className="badge stage-ARCHIVED"> archived</span>}
      </h1>
      {timeBar}
      {state.error && <ErrorMessage error={state.error} />}
      <p className={prompt.description ? 'prompt-description' : 'prompt-description muted'}>
        {prompt.description || 'No description.'}
      </p>
      {prompt.tags.length > 0 && (
        <p className="chips" aria-label="Tags">
          {prompt.tags.map((t) => (
            <span key={t.key} className="chip prompt-tag">
              {t.key}: <span className="mono">{t.value}</span>
            </span>
          ))}
        </p>
      )}

      <div className="two-col">
        <fieldset className="plain" disabled={past}>
          <legend className="visually-hidden">Aliases of {prompt.name}</legend>
          <AliasesPanel prompt={prompt} versions={versions} onDone={state.reload} />
        </fieldset>
        <AliasHistory
          history={state.history}
          total={prompt.aliasHistory.totalCount}
          more={state.moreHistory}
          onMore={state.loadMoreHistory}
        />
      </div>

      <section aria-labelledby="editor-heading" className="prompt-editor-section">
        <header className="version-panel-head">
          <h2 id="editor-heading">New version</h2>
          {!editing && (
            <button
              type="button"
              className="primary"
              onClick={() => {
                setSaved(null);
                setEditing(true);
              }}
              disabled={prompt.archived || past}
              title={
                past
                  ? 'Viewing the past: go back to now to edit'
                  : prompt.archived
                    ? 'An archived prompt takes no new versions'
                    : undefined
              }
            >
              {latest ? `Edit v${latest.version} as a new version` : 'Write the first version'}
            </button>
          )}
        </header>
        {saved !== null && !editing && (
          <p role="status" data-testid="saved-version">
            Saved as v{saved}.
          </p>
        )}
        {editing && !past && (
          <PromptEditor
            name={prompt.name}
            base={latest}
            onCancel={() => setEditing(false)}
            onSaved={(version) => {
              setEditing(false);
              setSaved(version);
              state.reload();
              setParams({
                v: String(version),
                to: String(version),
                from: latest ? String(latest.version) : null,
              });
            }}
          />
        )}
      </section>

      <VersionsTable
        prompt={prompt}
        versions={versions}
        selected={selected?.version ?? null}
        more={state.moreVersions}
        onMore={state.loadMoreVersions}
        onSelect={(v) => setParams({ v: String(v) })}
        onCompare={(from, to) => setParams({ from: String(from), to: String(to) })}
        onDone={state.reload}
        readOnly={past}
      />

      {versions.length >= 2 && (
        <PromptDiffView
          name={prompt.name}
          versions={versions}
          from={Number.isFinite(fromN) ? fromN : null}
          to={Number.isFinite(toN) ? toN : null}
          onChange={(from, to) => setParams({ from: String(from), to: String(to) })}
        />
      )}

      {selected && (
        <VersionPanel
          key={selected.version}
          version={selected}
          onClose={query.get('v') ? () => setParams({ v: null }) : null}
        />
      )}
      <ObjectHistory streamId={`prompt-${prompt.id}`} />
    </>
  );
}

function VersionsTable({
  prompt,
  versions,
  selected,
  more,
  onMore,
  onSelect,
  onCompare,
  onDone,
  readOnly,
}: {
  prompt: PromptDetail;
  versions: PromptVersion[];
  selected: number | null;
  more: boolean;
  onMore: () => void;
  onSelect: (version: number) => void;
  onCompare: (from: number, to: number) => void;
  onDone: () => void;
  /** Viewing the past: the move buttons are disabled. */
  readOnly: boolean;
}) {
  const now = useNow(30_000);
  const move = useAction(onDone);
  const rowAliases = prompt.aliases.slice(0, ROW_ALIASES);
  return (
    <section aria-labelledby="versions-heading">
      <h2 id="versions-heading">
        Versions <span className="muted">({prompt.versions.totalCount})</span>
      </h2>
      {move.error && <ErrorMessage error={move.error} />}
      {versions.length === 0 ? (
        <p className="muted">No versions yet. Write the first one above.</p>
      ) : (
        <table className="data prompt-versions" aria-label="Versions">
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Template</th>
              <th scope="col">Commit message</th>
              <th scope="col">Variables</th>
              <th scope="col">Aliases</th>
              <th scope="col">Author</th>
              <th scope="col">Created</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {versions.map((v, i) => {
              const previous = versions[i + 1];
              return (
                <tr
                  key={v.version}
                  data-version={v.version}
                  aria-current={v.version === selected ? 'true' : undefined}
                  className={v.version === selected ? 'selected' : undefined}
                >
                  <td>
                    <button
                      type="button"
                      className="link"
                      onClick={() => onSelect(v.version)}
                      aria-label={`v${v.version}: details`}
                    >
                      v{v.version}
                    </button>
                  </td>
                  <td>
                    {v.templateType === 'CHAT' ? `chat (${v.messages?.length ?? 0})` : 'text'}
                  </td>
                  <td className="prompt-commit" title={v.commitMessage ?? undefined}>
                    {v.commitMessage ?? <span className="muted">—</span>}
                  </td>
                  <td className="mono">{v.variables.join(', ')}</td>
                  <td>
                    <span className="chips" data-testid={`aliases-v${v.version}`}>
                      {v.aliases.map((a) => (
                        <span key={a} className="alias-chip">
                          @{a}
                        </span>
                      ))}
                    </span>
                  </td>
                  <td>{v.author ?? <span className="muted">—</span>}</td>
                  <td title={formatTimestamp(v.createdAt)}>{formatRelative(v.createdAt, now)}</td>
                  <td style={{ textAlign: 'right' }}>
                    <span className="field">
                      {previous && (
                        <button
                          type="button"
                          aria-label={`Diff v${previous.version} → v${v.version}`}
                          onClick={() => onCompare(previous.version, v.version)}
                        >
                          Diff
                        </button>
                      )}
                      {rowAliases
                        .filter((a) => a.version !== v.version)
                        .map((a) => (
                          <button
                            key={a.alias}
                            type="button"
                            disabled={move.busy || readOnly}
                            aria-label={`Move @${a.alias} here (v${v.version})`}
                            onClick={() =>
                              void move.run(SET_PROMPT_ALIAS, {
                                name: prompt.name,
                                alias: a.alias,
                                version: v.version,
                              })
                            }
                          >
                            Move @{a.alias} here
                          </button>
                        ))}
                    </span>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {more && (
        <p>
          <button type="button" onClick={onMore}>
            Load older versions
          </button>{' '}
          <span className="muted">
            Showing {versions.length} of {prompt.versions.totalCount}.
          </span>
        </p>
      )}
    </section>
  );
}

function AliasesPanel({
  prompt,
  versions,
  onDone,
}: {
  prompt: PromptDetail;
  versions: PromptVersion[];
  onDone: () => void;
}) {
  return (
    <section aria-labelledby="aliases-heading">
      <h2 id="aliases-heading">
        Aliases <span className="muted">({prompt.aliases.length})</span>
      </h2>
      <p className="muted">
        <span className="alias-chip">@latest</span> →{' '}
        {prompt.latestVersion ? `v${prompt.latestVersion.version}` : 'no version yet'} (implicit)
      </p>
      {prompt.aliases.length === 0 ? (
        <p className="muted">No aliases. Set one below, e.g. production.</p>
      ) : (
        <ul className="alias-list">
          {prompt.aliases.map((a) => (
            <AliasRow key={a.alias} prompt={prompt} alias={a} versions={versions} onDone={onDone} />
          ))}
        </ul>
      )}
      {versions.length > 0 && (
        <SetAliasForm promptName={prompt.name} versions={versions} onDone={onDone} />
      )}
    </section>
  );
}

function AliasRow({
  prompt,
  alias,
  versions,
  onDone,
}: {
  prompt: PromptDetail;
  alias: PromptAlias;
  versions: PromptVersion[];
  onDone: () => void;
}) {
  const action = useAction(onDone);
  const [target, setTarget] = useState(String(alias.version));
  const selectId = useId();
  const latest = versions[0]?.version;
  return (
    <li className="alias-row" data-alias={alias.alias}>
      <span>
        <span className="alias-chip">@{alias.alias}</span> →{' '}
        <strong data-testid={`alias-${alias.alias}-version`}>v{alias.version}</strong>{' '}
        <span className="muted" title={formatTimestamp(alias.updatedAt)}>
          by {alias.updatedBy ?? 'unknown'}
        </span>
      </span>
      <span className="field">
        {latest !== undefined && latest !== alias.version && (
          <button
            type="button"
            className="primary"
            disabled={action.busy}
            aria-label={`Move @${alias.alias} to v${latest}`}
            onClick={() =>
              void action.run(SET_PROMPT_ALIAS, {
                name: prompt.name,
                alias: alias.alias,
                version: latest,
              })
            }
          >
            Move to v{latest}
          </button>
        )}
        <label className="visually-hidden" htmlFor={selectId}>
          Version for {alias.alias}
        </label>
        <select id={selectId} value={target} onChange={(e) => setTarget(e.target.value)}>
          {versions.map((v) => (
            <option key={v.version} value={v.version}>
              v{v.version}
            </option>
          ))}
        </select>
        <button
          type="button"
          disabled={action.busy || Number(target) === alias.version}
          aria-label={`Move @${alias.alias} to the chosen version`}
          onClick={() =>
            void action.run(SET_PROMPT_ALIAS, {
              name: prompt.name,
              alias: alias.alias,
              version: Number(target),
            })
          }
        >
          Move
        </button>
        <button
          type="button"
          className="danger"
          disabled={action.busy}
          aria-label={`Remove alias @${alias.alias}`}
          onClick={() =>
            void action.run(DELETE_PROMPT_ALIAS, { name: prompt.name, alias: alias.alias })
          }
        >
          Remove
        </button>
      </span>
      {action.error && <ErrorMessage error={action.error} />}
    </li>
  );
}

function SetAliasForm({
  promptName,
  versions,
  onDone,
}: {
  promptName: string;
  versions: PromptVersion[];
  onDone: () => void;
}) {
  const action = useAction(onDone);
  const [alias, setAlias] = useState('');
  const [version, setVersion] = useState('');
  const chosen = version || String(versions[0]?.version ?? '');
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const trimmed = alias.trim();
    if (!trimmed || chosen === '') return;
    if (
      await action.run(SET_PROMPT_ALIAS, {
        name: promptName,
        alias: trimmed,
        version: Number(chosen),
      })
    )
      setAlias('');
  };
  return (
    <form className="toolbar" onSubmit={(e) => void submit(e)} aria-label="Set an alias">
      <label className="field">
        <span>Alias</span>
        <input
          type="text"
          value={alias}
          onChange={(e) => setAlias(e.target.value)}
          placeholder="production"
          maxLength={255}
          spellCheck={false}
          aria-invalid={action.error ? true : undefined}
        />
      </label>
      <label className="field">
        <span>on</span>
        <select value={chosen} onChange={(e) => setVersion(e.target.value)}>
          {versions.map((v) => (
            <option key={v.version} value={v.version}>
              v{v.version}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" disabled={action.busy || !alias.trim() || chosen === ''}>
        Set alias
      </button>
      {action.error && <ErrorMessage error={action.error} />}
    </form>
  );
}

function describeChange(c: PromptAliasChange): string {
  if (c.kind === 'DELETED')
    return `@${c.alias} removed${c.fromVersion !== null ? ` (was v${c.fromVersion})` : ''}`;
  if (c.fromVersion === null) return `@${c.alias} set to v${c.toVersion ?? '?'}`;
  return `@${c.alias} moved from v${c.fromVersion} to v${c.toVersion ?? '?'}`;
}

function AliasHistory({
  history,
  total,
  more,
  onMore,
}: {
  history: PromptAliasChange[];
  total: number;
  more: boolean;
  onMore: () => void;
}) {
  return (
    <section aria-labelledby="alias-history-heading">
      <h2 id="alias-history-heading">
        Alias history <span className="muted">({total})</span>
      </h2>
      {history.length === 0 ? (
        <p className="muted">No alias was set yet.</p>
      ) : (
        <ol
          className="timeline"
          aria-label="Alias history, newest first"
          data-testid="alias-history"
        >
          {history.map((h, i) => (
            <li key={`${h.at}-${h.alias}-${i}`} data-kind={h.kind}>
              <time dateTime={new Date(h.at).toISOString()}>{formatTimestamp(h.at)}</time>
              <span className="what">{describeChange(h)}</span>
              <span className="muted">by {h.actor ?? 'unknown'}</span>
            </li>
          ))}
        </ol>
      )}
      {more && (
        <p>
          <button type="button" onClick={onMore}>
            Load older changes
          </button>
        </p>
      )}
    </section>
  );
}
