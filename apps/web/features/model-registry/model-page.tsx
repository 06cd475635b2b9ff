'use client';

import { ObjectHistory } from '../../components/object-history.tsx';
import Link from 'next/link';
import { useCallback, useEffect, useId, useMemo, useState, type FormEvent } from 'react';
import { useQuery } from 'urql';
import { DeploymentDeployForm } from '../../components/deployment-deploy-form.tsx';
import { ErrorMessage } from '../../components/error-message.tsx';
import { TimeTravelBar } from '../../components/time-travel-bar.tsx';
import { formatRelative, formatTimestamp } from '../../lib/format.ts';
import { describeError } from '../../lib/graphql/errors.ts';
import type { KeyValue } from '../../lib/graphql/documents.ts';
import {
  REGISTERED_MODEL_CHANGED,
  DELETE_MODEL_ALIAS,
  DELETE_MODEL_TAG,
  DELETE_VERSION_TAG,
  MODEL_STAGES,
  REGISTERED_MODEL_QUERY,
  REGISTERED_MODEL_TIMELINE,
  SET_MODEL_ALIAS,
  SET_MODEL_TAG,
  SET_VERSION_TAG,
  TRANSITION_STAGE,
  UPDATE_MODEL_VERSION,
  UPDATE_REGISTERED_MODEL,
  VERSIONS_PAGE,
  type ModelAlias,
  type ModelHistoryEntry,
  type ModelStage,
  type ModelVersion,
  type RegisteredModelDetail,
  type RegisteredModelResult,
  type RegisteredModelTimelineResult,
} from '../../lib/graphql/registry-documents.ts';
import { useNow, useQueryState, useSubscriptionEffect } from '../../lib/hooks.ts';
import { describeHistory, rollbackTarget, stageLabel } from '../../lib/registry.ts';
import { formatAsOf, parseAsOf } from '../../lib/time-travel.ts';
import { StageBadge } from './stage-badge.tsx';
import { useAction } from './use-action.ts';

/** Aliases offered as one-click "Move … here" buttons on each version row. */
const ROW_ALIASES = 3;

/**
 * `/models/view?name=…&v=…&asOf=…`: one registered model. Versions (stage, aliases, source run),
 * the aliases with one-click moves and rollback, stage transitions, history, tags and
 * descriptions. With `asOf` (the time slider) the page shows the model as it was then (the API
 * replays its stream): writes are disabled and the live subscription is paused until "now".
 */
export function ModelPage() {
  const [query, setQuery] = useQueryState();
  const name = query.get('name') ?? '';
  // A time in the future is now (the live view).
  const asOf = useMemo(() => parseAsOf(query.get('asOf'), Date.now()), [query]);
  const past = asOf !== null;
  const asOfText = asOf === null ? null : formatAsOf(asOf);
  const [result, reexecute] = useQuery<RegisteredModelResult>({
    query: REGISTERED_MODEL_QUERY,
    variables: { name, first: VERSIONS_PAGE, asOf: asOfText },
    pause: !name,
    requestPolicy: 'network-only',
  });
  // The slider's range and snap points come from the model as it is now.
  const [timeline, reexecuteTimeline] = useQuery<RegisteredModelTimelineResult>({
    query: REGISTERED_MODEL_TIMELINE,
    variables: { name },
    pause: !name,
    requestPolicy: 'network-only',
  });
  const reload = useCallback(() => {
    reexecute({ requestPolicy: 'network-only' });
    reexecuteTimeline({ requestPolicy: 'network-only' });
  }, [reexecute, reexecuteTimeline]);
  // Live: every projected change of this model (versions, stages, aliases, tags, descriptions)
  // pushes a tick and the page re-reads its query. No polling. Paused while viewing the past.
  useSubscriptionEffect(REGISTERED_MODEL_CHANGED, { name }, reload, Boolean(name) && !past);

  // The last answer for this name (and time) stays shown while a refresh is in flight.
  const [shown, setShown] = useState<{
    name: string;
    asOf: string | null;
    model: RegisteredModelDetail | null;
  } | null>(null);
  const answered = result.operation?.variables as
    { name?: string; asOf?: string | null } | undefined;
  useEffect(() => {
    if (result.data && answered?.name === name && (answered.asOf ?? null) === asOfText)
      setShown({ name, asOf: asOfText, model: result.data.registeredModel });
  }, [result.data, answered, name, asOfText]);
  const model = shown?.name === name ? shown.model : null;
  const notFound = shown?.name === name && shown.asOf === asOfText && shown.model === null;
  const live = timeline.data?.registeredModel ?? null;
  const times = useMemo(() => live?.history.map((h) => h.at) ?? [], [live]);
  const setAsOf = (value: number | null) => {
    const next = new URLSearchParams(query);
    if (value === null) next.delete('asOf');
    else next.set('asOf', formatAsOf(value));
    setQuery(next);
  };
  const timeBar = (
    <TimeTravelBar
      createdAt={live?.createdAt ?? null}
      times={times}
      asOf={asOf}
      onChange={setAsOf}
      subject="the model"
    />
  );

  const selectedVersion = Number(query.get('v') ?? NaN);
  const selectVersion = (version: number | null) => {
    const next = new URLSearchParams(query);
    if (version === null) next.delete('v');
    else next.set('v', String(version));
    setQuery(next);
  };

  if (!name) return <p>No model given.</p>;
  if (result.error && !model) return <ErrorMessage error={describeError(result.error)} />;
  if (!model || (notFound && past))
    return (
      <>
        {live && timeBar}
        <p className="page-loading">
          {notFound
            ? past
              ? `Model “${name}” did not exist at that time.`
              : `Model “${name}” not found.`
            : 'Loading…'}
        </p>
      </>
    );

  const versions = model.versions.edges.map((e) => e.node);
  const selected = versions.find((v) => v.version === selectedVersion) ?? null;

  return (
    <>
      <nav className="breadcrumb" aria-label="Breadcrumb">
        <Link href="/models">Models</Link>
        <span aria-hidden="true">/</span>
        <span>{model.name}</span>
      </nav>
      <h1>{model.name}</h1>
      {timeBar}
      {result.error && <ErrorMessage error={describeError(result.error)} />}
      <fieldset className="plain" disabled={past} data-testid="model-writes">
        <legend className="visually-hidden">Model details</legend>
        <DescriptionEditor
          label={`Description of ${model.name}`}
          value={model.description}
          document={UPDATE_REGISTERED_MODEL}
          variables={{ name: model.name }}
          onDone={reload}
        />
        <div className="two-col">
          <AliasesPanel model={model} versions={versions} onDone={reload} />
          <TagsEditor
            title="Tags"
            subject={model.name}
            tags={model.tags}
            setDocument={SET_MODEL_TAG}
            deleteDocument={DELETE_MODEL_TAG}
            variables={{ name: model.name }}
            onDone={reload}
          />
        </div>
      </fieldset>
      <VersionsTable
        model={model}
        versions={versions}
        selected={selected?.version ?? null}
        onSelect={selectVersion}
        onDone={reload}
        readOnly={past}
      />
      {selected && (
        <p className="lineage-link">
          <Link
            href={`/lineage?kind=MODEL_VERSION&name=${encodeURIComponent(model.name)}&version=${selected.version}`}
          >
            Lineage of version {selected.version}
          </Link>
        </p>
      )}
      {selected && (
        <VersionPanel
          key={selected.version}
          model={model}
          version={selected}
          onClose={() => selectVersion(null)}
          onDone={reload}
          readOnly={past}
        />
      )}
      <HistoryTimeline history={model.history} />
      <ObjectHistory streamId={`registered-model-${model.id}`} title="Audit history" />
    </>
  );
}

function VersionsTable({
  model,
  versions,
  selected,
  onSelect,
  onDone,
  readOnly,
}: {
  model: RegisteredModelDetail;
  versions: ModelVersion[];
  selected: number | null;
  onSelect: (version: number) => void;
  onDone: () => void;
  /** Viewing the past: the move buttons are disabled. */
  readOnly: boolean;
}) {
  const now = useNow(30_000);
  const move = useAction(onDone);
  const rowAliases = model.aliases.slice(0, ROW_ALIASES);
  return (
    <section aria-labelledby="versions-heading">
      <h2 id="versions-heading">
        Versions <span className="muted">({model.versions.totalCount})</span>
      </h2>
      {move.error && <ErrorMessage error={move.error} />}
      {versions.length === 0 ? (
        <p className="muted">No versions yet.</p>
      ) : (
        <table className="data" aria-label="Versions">
          <thead>
            <tr>
              <th scope="col">Version</th>
              <th scope="col">Stage</th>
              <th scope="col">Aliases</th>
              <th scope="col">Source run</th>
              <th scope="col">Created</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {versions.map((v) => (
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
                  {v.status !== 'READY' && (
                    <span className="muted"> ({v.status.toLowerCase().replace(/_/gu, ' ')})</span>
                  )}
                </td>
                <td>
                  <StageBadge stage={v.stage} />
                </td>
                <td>
                  <span className="chips" data-testid={`aliases-v${v.version}`}>
                    {v.aliases.map((a) => (
                      <span key={a} className="alias-chip">
                        @{a}
                      </span>
                    ))}
                  </span>
                </td>
                <td>
                  {v.run ? (
                    <Link href={`/run?id=${encodeURIComponent(v.run.id)}`}>{v.run.name}</Link>
                  ) : v.runId ? (
                    <Link className="mono" href={`/run?id=${encodeURIComponent(v.runId)}`}>
                      {v.runId}
                    </Link>
                  ) : (
                    <span className="mono muted" title={v.source}>
                      {v.source}
                    </span>
                  )}
                </td>
                <td title={formatTimestamp(v.createdAt)}>{formatRelative(v.createdAt, now)}</td>
                <td style={{ textAlign: 'right' }}>
                  <span className="field">
                    {rowAliases
                      .filter((a) => a.version !== v.version)
                      .map((a) => (
                        <button
                          key={a.alias}
                          type="button"
                          disabled={move.busy || readOnly}
                          aria-label={`Move @${a.alias} here (v${v.version})`}
                          onClick={() =>
                            void move.run(SET_MODEL_ALIAS, {
                              name: model.name,
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
            ))}
          </tbody>
        </table>
      )}
      {model.versions.pageInfo.hasNextPage && (
        <p className="muted">Showing the newest {versions.length} versions.</p>
      )}
    </section>
  );
}

function AliasesPanel({
  model,
  versions,
  onDone,
}: {
  model: RegisteredModelDetail;
  versions: ModelVersion[];
  onDone: () => void;
}) {
  const existing = useMemo(() => new Set(versions.map((v) => v.version)), [versions]);
  return (
    <section aria-labelledby="aliases-heading">
      <h2 id="aliases-heading">
        Aliases <span className="muted">({model.aliases.length})</span>
      </h2>
      {model.aliases.length === 0 ? (
        <p className="muted">No aliases. Set one below, e.g. champion.</p>
      ) : (
        <ul className="alias-list">
          {model.aliases.map((a) => (
            <AliasRow
              key={a.alias}
              model={model}
              alias={a}
              versions={versions}
              rollbackTo={rollbackTarget(model.history, a.alias, a.version, existing)}
              onDone={onDone}
            />
          ))}
        </ul>
      )}
      <SetAliasForm modelName={model.name} versions={versions} onDone={onDone} />
    </section>
  );
}

function AliasRow({
  model,
  alias,
  versions,
  rollbackTo,
  onDone,
}: {
  model: RegisteredModelDetail;
  alias: ModelAlias;
  versions: ModelVersion[];
  rollbackTo: number | null;
  onDone: () => void;
}) {
  const action = useAction(onDone);
  const [target, setTarget] = useState(String(alias.version));
  const selectId = useId();
  return (
    <li className="alias-row" data-alias={alias.alias}>
      <span>
        <span className="alias-chip">@{alias.alias}</span> →{' '}
        <strong data-testid={`alias-${alias.alias}-version`}>v{alias.version}</strong>
      </span>
      <span className="field">
        {rollbackTo !== null && (
          <button
            type="button"
            className="primary"
            disabled={action.busy}
            aria-label={`Roll back to v${rollbackTo} (@${alias.alias})`}
            onClick={() =>
              void action.run(SET_MODEL_ALIAS, {
                name: model.name,
                alias: alias.alias,
                version: rollbackTo,
              })
            }
          >
            ↶ Roll back to v{rollbackTo}
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
            void action.run(SET_MODEL_ALIAS, {
              name: model.name,
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
            void action.run(DELETE_MODEL_ALIAS, { name: model.name, alias: alias.alias })
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
  modelName,
  versions,
  onDone,
  fixedVersion,
}: {
  modelName: string;
  versions: ModelVersion[];
  onDone: () => void;
  fixedVersion?: number;
}) {
  const action = useAction(onDone);
  const [alias, setAlias] = useState('');
  const [version, setVersion] = useState(String(fixedVersion ?? versions[0]?.version ?? ''));
  useEffect(() => {
    if (fixedVersion === undefined && version === '' && versions[0])
      setVersion(String(versions[0].version));
  }, [fixedVersion, version, versions]);
  const id = useId();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const trimmed = alias.trim();
    if (!trimmed || version === '') return;
    if (
      await action.run(SET_MODEL_ALIAS, {
        name: modelName,
        alias: trimmed,
        version: Number(version),
      })
    )
      setAlias('');
  };
  return (
    <form
      className="toolbar"
      onSubmit={(e) => void submit(e)}
      aria-label={fixedVersion === undefined ? 'Set an alias' : `Set an alias on v${fixedVersion}`}
    >
      <label className="field">
        <span>Alias</span>
        <input
          id={`${id}-alias`}
          type="text"
          value={alias}
          onChange={(e) => setAlias(e.target.value)}
          placeholder="champion"
          maxLength={256}
          spellCheck={false}
          aria-invalid={action.error ? true : undefined}
        />
      </label>
      {fixedVersion === undefined && (
        <label className="field">
          <span>on</span>
          <select value={version} onChange={(e) => setVersion(e.target.value)}>
            {versions.map((v) => (
              <option key={v.version} value={v.version}>
                v{v.version}
              </option>
            ))}
          </select>
        </label>
      )}
      <button type="submit" disabled={action.busy || !alias.trim() || version === ''}>
        Set alias
      </button>
      {action.error && <ErrorMessage error={action.error} />}
    </form>
  );
}

function VersionPanel({
  model,
  version,
  onClose,
  onDone,
  readOnly,
}: {
  model: RegisteredModelDetail;
  version: ModelVersion;
  onClose: () => void;
  onDone: () => void;
  readOnly: boolean;
}) {
  const transition = useAction(onDone);
  const [stage, setStage] = useState<ModelStage>(
    version.stage === 'PRODUCTION'
      ? 'ARCHIVED'
      : version.stage === 'STAGING'
        ? 'PRODUCTION'
        : 'STAGING',
  );
  const [archive, setArchive] = useState(false);
  const canArchive = stage === 'STAGING' || stage === 'PRODUCTION';
  const stageId = useId();
  return (
    <section
      className="version-panel"
      aria-labelledby="version-panel-heading"
      data-testid="version-panel"
    >
      <header className="version-panel-head">
        <h2 id="version-panel-heading">
          {model.name} v{version.version} <StageBadge stage={version.stage} />
        </h2>
        <button type="button" onClick={onClose} aria-label="Close version details">
          Close
        </button>
      </header>
      <dl className="cards">
        <div className="card">
          <dt className="label">Source</dt>
          <dd className="value mono" style={{ margin: 0 }}>
            {version.source}
          </dd>
        </div>
        <div className="card">
          <dt className="label">Run</dt>
          <dd className="value" style={{ margin: 0 }}>
            {version.runId ? (
              <Link href={`/run?id=${encodeURIComponent(version.runId)}`}>
                {version.run?.name ?? version.runId}
              </Link>
            ) : (
              '—'
            )}
          </dd>
        </div>
        <div className="card">
          <dt className="label">Status</dt>
          <dd className="value" style={{ margin: 0 }}>
            {version.status.toLowerCase().replace(/_/gu, ' ')}
          </dd>
        </div>
        <div className="card">
          <dt className="label">Created</dt>
          <dd className="value" style={{ margin: 0 }}>
            {formatTimestamp(version.createdAt)}
          </dd>
        </div>
        <div className="card">
          <dt className="label">URI</dt>
          <dd className="value mono" style={{ margin: 0 }}>
            models:/{model.name}/{version.version}
          </dd>
        </div>
      </dl>

      <fieldset className="plain" disabled={readOnly}>
        <legend className="visually-hidden">Changes to v{version.version}</legend>
        <DeploymentDeployForm
          modelName={model.name}
          version={version.version}
          aliases={model.aliases}
          versions={model.versions.edges.map((e) => e.node.version)}
        />

        <form
          className="toolbar"
          aria-label={`Stage of v${version.version}`}
          onSubmit={(e) => {
            e.preventDefault();
            void transition.run(TRANSITION_STAGE, {
              name: model.name,
              version: version.version,
              stage,
              archive: canArchive && archive,
            });
          }}
        >
          <label className="field" htmlFor={stageId}>
            <span>Move to stage</span>
          </label>
          <select
            id={stageId}
            value={stage}
            onChange={(e) => setStage(e.target.value as ModelStage)}
          >
            {MODEL_STAGES.map((s) => (
              <option key={s} value={s}>
                {stageLabel(s)}
              </option>
            ))}
          </select>
          <label className="field">
            <input
              type="checkbox"
              checked={canArchive && archive}
              disabled={!canArchive}
              onChange={(e) => setArchive(e.target.checked)}
            />
            <span>Archive the versions now in {canArchive ? stageLabel(stage) : 'that stage'}</span>
          </label>
          <button
            type="submit"
            className="primary"
            disabled={transition.busy || stage === version.stage}
          >
            Transition
          </button>
          {transition.error && <ErrorMessage error={transition.error} />}
        </form>

        <SetAliasForm
          modelName={model.name}
          versions={[version]}
          fixedVersion={version.version}
          onDone={onDone}
        />
        <DescriptionEditor
          label={`Description of v${version.version}`}
          value={version.description}
          document={UPDATE_MODEL_VERSION}
          variables={{ name: model.name, version: version.version }}
          onDone={onDone}
        />
        <TagsEditor
          title={`Tags of v${version.version}`}
          subject={`v${version.version}`}
          tags={version.tags}
          setDocument={SET_VERSION_TAG}
          deleteDocument={DELETE_VERSION_TAG}
          variables={{ name: model.name, version: version.version }}
          onDone={onDone}
        />
      </fieldset>
    </section>
  );
}

function DescriptionEditor({
  label,
  value,
  document,
  variables,
  onDone,
}: {
  label: string;
  value: string | null;
  document: string;
  variables: Record<string, unknown>;
  onDone: () => void;
}) {
  const action = useAction(onDone);
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState(value ?? '');
  const id = useId();
  if (!editing)
    return (
      <div className="description">
        <p className={value ? undefined : 'muted'}>{value || 'No description.'}</p>
        <button
          type="button"
          onClick={() => {
            setDraft(value ?? '');
            setEditing(true);
          }}
          aria-label={`Edit ${label.charAt(0).toLowerCase()}${label.slice(1)}`}
        >
          Edit description
        </button>
      </div>
    );
  return (
    <form
      className="description"
      onSubmit={(e) => {
        e.preventDefault();
        void action
          .run(document, { ...variables, description: draft })
          .then((ok) => ok && setEditing(false));
      }}
    >
      <label htmlFor={id} className="visually-hidden">
        {label}
      </label>
      <textarea
        id={id}
        value={draft}
        rows={3}
        maxLength={5000}
        autoFocus
        onChange={(e) => setDraft(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Escape') setEditing(false);
        }}
      />
      <span className="field">
        <button type="submit" className="primary" disabled={action.busy}>
          Save
        </button>
        <button type="button" onClick={() => setEditing(false)}>
          Cancel
        </button>
      </span>
      {action.error && <ErrorMessage error={action.error} />}
    </form>
  );
}

function TagsEditor({
  title,
  subject,
  tags,
  setDocument,
  deleteDocument,
  variables,
  onDone,
}: {
  title: string;
  subject: string;
  tags: KeyValue[];
  setDocument: string;
  deleteDocument: string;
  variables: Record<string, unknown>;
  onDone: () => void;
}) {
  const action = useAction(onDone);
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!key.trim()) return;
    if (await action.run(setDocument, { ...variables, key: key.trim(), value })) {
      setKey('');
      setValue('');
    }
  };
  return (
    <section aria-label={title}>
      <h2>
        {title} <span className="muted">({tags.length})</span>
      </h2>
      {tags.length === 0 ? (
        <p className="muted">No tags.</p>
      ) : (
        <table className="data kv">
          <tbody>
            {tags.map((t) => (
              <tr key={t.key}>
                <td>{t.key}</td>
                <td className="mono">{t.value}</td>
                <td className="row-action">
                  <button
                    type="button"
                    className="link"
                    disabled={action.busy}
                    aria-label={`Remove tag ${t.key} of ${subject}`}
                    onClick={() => void action.run(deleteDocument, { ...variables, key: t.key })}
                  >
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form
        className="toolbar"
        onSubmit={(e) => void submit(e)}
        aria-label={`Add a tag to ${subject}`}
      >
        <label className="field">
          <span className="visually-hidden">Tag key for {subject}</span>
          <input
            type="text"
            value={key}
            placeholder="key"
            maxLength={250}
            onChange={(e) => setKey(e.target.value)}
          />
        </label>
        <label className="field">
          <span className="visually-hidden">Tag value for {subject}</span>
          <input
            type="text"
            value={value}
            placeholder="value"
            maxLength={5000}
            onChange={(e) => setValue(e.target.value)}
          />
        </label>
        <button type="submit" disabled={action.busy || !key.trim()}>
          Set tag
        </button>
        {action.error && <ErrorMessage error={action.error} />}
      </form>
    </section>
  );
}

function HistoryTimeline({ history }: { history: ModelHistoryEntry[] }) {
  return (
    <section aria-labelledby="history-heading">
      <h2 id="history-heading">History</h2>
      {history.length === 0 ? (
        <p className="muted">Nothing yet.</p>
      ) : (
        <ol className="timeline" aria-label="Model history, newest first" data-testid="history">
          {history.map((h, i) => (
            <li key={`${h.at}-${i}`} data-kind={h.kind}>
              <time dateTime={new Date(h.at).toISOString()}>{formatTimestamp(h.at)}</time>
              <span className="what">{describeHistory(h)}</span>
              <span className="muted">by {h.actor ?? 'unknown'}</span>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
