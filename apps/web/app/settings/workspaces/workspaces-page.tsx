'use client';

import { useId, useState, type FormEvent } from 'react';
import { ErrorMessage } from '../../../components/error-message.tsx';
import { switchWorkspace, useAuth, useDashboard } from '../../../components/providers.tsx';
import { ADMIN_SCOPE, hasScope } from '../../../lib/auth.ts';
import {
  CREATE_WORKSPACE,
  WORKSPACES_QUERY,
  type WorkspaceRow,
} from '../../../lib/auth-documents.ts';
import { formatTimestamp } from '../../../lib/format.ts';
import { describeError, type ApiErrorInfo } from '../../../lib/graphql/errors.ts';
import { isValidWorkspace } from '../../../lib/workspace.ts';
import { SettingsNav } from '../settings-nav.tsx';
import { useAccessList } from '../use-access-list.ts';

/**
 * `/settings/workspaces`: the workspaces the caller may use (with its role in each), open one,
 * create one (needs workspace:admin). Live on `accessChanged` (kind workspaces).
 */
export function WorkspacesPage() {
  const { me } = useAuth();
  const { workspace } = useDashboard();
  const admin = hasScope(me, ADMIN_SCOPE);
  const list = useAccessList<WorkspaceRow>({
    query: WORKSPACES_QUERY,
    field: 'workspaces',
    kind: 'workspaces',
  });
  return (
    <>
      <h1>Workspaces</h1>
      <SettingsNav />
      {admin ? (
        <CreateWorkspaceForm onCreated={list.reload} />
      ) : (
        me && (
          <p className="notice settings-note" data-testid="workspaces-read-only">
            Creating workspaces needs the workspace:admin scope.
          </p>
        )
      )}
      <div className="toolbar">
        <span className="muted" aria-live="polite" data-testid="workspaces-count">
          {list.error
            ? ''
            : list.loading && list.items.length === 0
              ? 'Loading…'
              : `${list.totalCount} workspace${list.totalCount === 1 ? '' : 's'}`}
        </span>
      </div>
      {list.error && <ErrorMessage error={list.error} />}
      <table className="data" aria-label="Workspaces">
        <thead>
          <tr>
            <th scope="col">Id</th>
            <th scope="col">Name</th>
            <th scope="col">Your role</th>
            <th scope="col">Created</th>
            <th scope="col">
              <span className="visually-hidden">Open</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {list.items.map((w) => (
            <tr key={w.id} data-workspace={w.id}>
              <td className="mono">{w.id}</td>
              <td>{w.name}</td>
              <td>{w.role ?? <span className="muted">none</span>}</td>
              <td>
                {w.createdAt === null ? (
                  <span className="muted">—</span>
                ) : (
                  formatTimestamp(w.createdAt)
                )}
              </td>
              <td>
                {w.id === workspace ? (
                  <span className="muted">current</span>
                ) : (
                  <button type="button" onClick={() => switchWorkspace(w.id)}>
                    Open
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
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

function CreateWorkspaceForm({ onCreated }: { onCreated: () => void }) {
  const { urql } = useDashboard();
  const [name, setName] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiErrorInfo | null>(null);
  const [created, setCreated] = useState<string | null>(null);
  const errorId = useId();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const id = name.trim();
    if (!isValidWorkspace(id)) {
      setError({
        message:
          'A workspace id has 1–63 letters, digits, "_" or "-", starting with a letter or digit',
        code: 'INVALID_ARGUMENT',
        position: null,
        argument: 'name',
        network: false,
      });
      return;
    }
    setBusy(true);
    const result = await urql
      .mutation<{ createWorkspace: WorkspaceRow }>(CREATE_WORKSPACE, {
        input: { name: id, ...(displayName.trim() ? { displayName: displayName.trim() } : {}) },
      })
      .toPromise();
    setBusy(false);
    if (result.error || !result.data) {
      setError(describeError(result.error ?? { message: 'No data' }));
      setCreated(null);
      return;
    }
    setError(null);
    setName('');
    setDisplayName('');
    setCreated(result.data.createWorkspace.id);
    onCreated();
  };
  return (
    <form className="toolbar" onSubmit={(e) => void submit(e)} aria-label="Create a workspace">
      <label className="field">
        <span>New workspace</span>
        <input
          type="text"
          value={name}
          onChange={(e) => setName(e.target.value)}
          placeholder="Id, e.g. team-search"
          maxLength={63}
          spellCheck={false}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? errorId : undefined}
          data-testid="new-workspace-id"
        />
      </label>
      <label className="field">
        <span className="visually-hidden">Display name of the new workspace</span>
        <input
          type="text"
          value={displayName}
          onChange={(e) => setDisplayName(e.target.value)}
          placeholder="Display name (optional)"
          maxLength={200}
        />
      </label>
      <button type="submit" className="primary" disabled={busy}>
        Create
      </button>
      {error && <ErrorMessage error={error} id={errorId} />}
      {created && !error && (
        <span role="status">
          Created {created}.{' '}
          <button type="button" className="link" onClick={() => switchWorkspace(created)}>
            Open it
          </button>
        </span>
      )}
    </form>
  );
}
