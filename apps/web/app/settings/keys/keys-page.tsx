'use client';

import { useId, useState, type FormEvent } from 'react';
import { ErrorMessage } from '../../../components/error-message.tsx';
import { useAuth, useDashboard } from '../../../components/providers.tsx';
import {
  ADMIN_SCOPE,
  EXPIRY_CHOICES,
  actorLabel,
  expiryFromChoice,
  hasScope,
  keyState,
  type ExpiryChoice,
} from '../../../lib/auth.ts';
import {
  API_KEYS_QUERY,
  CREATE_API_KEY,
  REVOKE_API_KEY,
  type ApiKeyRow,
  type CreateApiKeyResult,
} from '../../../lib/auth-documents.ts';
import { formatRelative, formatTimestamp } from '../../../lib/format.ts';
import { describeError, type ApiErrorInfo } from '../../../lib/graphql/errors.ts';
import { useNow } from '../../../lib/hooks.ts';
import { SettingsNav } from '../settings-nav.tsx';
import { useAccessList } from '../use-access-list.ts';
import { useRoleOptions } from '../use-role-options.ts';

/**
 * `/settings/keys`: the workspace's API keys (role, created, last used, expiry, revoked), a form
 * that creates one and shows its secret once, and revoke with a confirmation. Live on
 * `accessChanged` (kind apiKeys). Needs workspace:admin (the API refuses the list otherwise).
 */
export function KeysPage() {
  const { me } = useAuth();
  const { workspace } = useDashboard();
  const admin = hasScope(me, ADMIN_SCOPE);
  const [includeRevoked, setIncludeRevoked] = useState(false);
  const list = useAccessList<ApiKeyRow>({
    query: API_KEYS_QUERY,
    field: 'apiKeys',
    kind: 'apiKeys',
    variables: { includeRevoked },
    enabled: admin,
  });
  const [created, setCreated] = useState<CreateApiKeyResult['createApiKey'] | null>(null);
  const now = useNow(30_000);
  return (
    <>
      <h1>API keys</h1>
      <SettingsNav />
      <p className="muted">
        Keys of workspace <span className="mono">{workspace}</span> for SDKs (
        <code>CAIRN_API_KEY</code>), MLflow clients (<code>MLFLOW_TRACKING_TOKEN</code>) and OTLP
        exporters, sent as <code>Authorization: Bearer &lt;key&gt;</code>.
      </p>
      {me && !admin && (
        <p className="notice settings-note" data-testid="keys-need-admin">
          Managing API keys needs the workspace:admin scope; your role here is {me.role ?? 'none'}.
        </p>
      )}
      {admin && (
        <CreateKeyForm
          onCreated={(result) => {
            setCreated(result);
            list.reload();
          }}
        />
      )}
      {created && <SecretPanel created={created} onDone={() => setCreated(null)} />}
      {admin && (
        <>
          <div className="toolbar">
            <label className="field">
              <input
                type="checkbox"
                checked={includeRevoked}
                onChange={(e) => setIncludeRevoked(e.target.checked)}
              />
              <span>Show revoked keys</span>
            </label>
            <span className="muted" aria-live="polite" data-testid="keys-count">
              {list.error
                ? ''
                : list.loading && list.items.length === 0
                  ? 'Loading…'
                  : `${list.totalCount} key${list.totalCount === 1 ? '' : 's'}`}
            </span>
          </div>
          {list.error && <ErrorMessage error={list.error} />}
          <table className="data" aria-label="API keys">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Id</th>
                <th scope="col">Role</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">Expires</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.items.map((k) => (
                <KeyRow key={k.id} apiKey={k} now={now} onRevoked={list.reload} />
              ))}
            </tbody>
          </table>
          {!list.loading && list.items.length === 0 && !list.error && (
            <p className="muted" data-testid="keys-empty">
              No API keys yet. Create one above, or with{' '}
              <code>cairn keys create --workspace {workspace} --role member</code>.
            </p>
          )}
          {list.hasNextPage && (
            <p>
              <button type="button" onClick={list.loadMore} disabled={list.loading}>
                Load more
              </button>
            </p>
          )}
        </>
      )}
    </>
  );
}

function KeyRow({
  apiKey: k,
  now,
  onRevoked,
}: {
  apiKey: ApiKeyRow;
  now: number;
  onRevoked: () => void;
}) {
  const { urql } = useDashboard();
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiErrorInfo | null>(null);
  const state = keyState(k, now);
  const revoke = async () => {
    setBusy(true);
    const result = await urql.mutation(REVOKE_API_KEY, { id: k.id }).toPromise();
    setBusy(false);
    if (result.error) {
      setError(describeError(result.error));
      return;
    }
    setError(null);
    setConfirming(false);
    onRevoked();
  };
  return (
    <tr data-key={k.id} data-testid={`key-row-${k.name}`}>
      <td>{k.name}</td>
      <td className="mono">{k.id}</td>
      <td>{k.role}</td>
      <td title={formatTimestamp(k.createdAt)}>
        {formatRelative(k.createdAt, now)}{' '}
        <span className="muted">by {actorLabel(k.createdBy)}</span>
      </td>
      <td title={k.lastUsedAt === null ? undefined : formatTimestamp(k.lastUsedAt)}>
        {k.lastUsedAt === null ? (
          <span className="muted">never</span>
        ) : (
          formatRelative(k.lastUsedAt, now)
        )}
      </td>
      <td>
        {k.expiresAt === null ? <span className="muted">never</span> : formatTimestamp(k.expiresAt)}
      </td>
      <td>
        <span className={`badge key-${state}`} data-testid="key-state">
          {state}
        </span>
        {k.revokedAt !== null && (
          <span className="muted" title={formatTimestamp(k.revokedAt)}>
            {' '}
            {formatRelative(k.revokedAt, now)}
          </span>
        )}
      </td>
      <td>
        {k.revokedAt === null &&
          (confirming ? (
            <span className="confirm-inline" role="group" aria-label={`Revoke ${k.name}?`}>
              <span>Revoke {k.name}? Clients using it stop working.</span>
              <button
                type="button"
                className="danger"
                disabled={busy}
                onClick={() => void revoke()}
              >
                Confirm revoke
              </button>
              <button type="button" disabled={busy} onClick={() => setConfirming(false)}>
                Cancel
              </button>
            </span>
          ) : (
            <button type="button" className="danger" onClick={() => setConfirming(true)}>
              Revoke
            </button>
          ))}
        {error && <ErrorMessage error={error} />}
      </td>
    </tr>
  );
}

function CreateKeyForm({
  onCreated,
}: {
  onCreated: (created: CreateApiKeyResult['createApiKey']) => void;
}) {
  const { urql } = useDashboard();
  const roles = useRoleOptions();
  const [name, setName] = useState('');
  const [role, setRole] = useState('member');
  const [expiry, setExpiry] = useState<ExpiryChoice>('90d');
  const [date, setDate] = useState('');
  const [error, setError] = useState<ApiErrorInfo | null>(null);
  const [busy, setBusy] = useState(false);
  const errorId = useId();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const trimmed = name.trim();
    if (!trimmed) {
      setError(local('Give the key a name (who or what uses it)'));
      return;
    }
    const expires = expiryFromChoice(expiry, date, Date.now());
    if ('error' in expires) {
      setError(local(expires.error));
      return;
    }
    setBusy(true);
    const result = await urql
      .mutation<CreateApiKeyResult>(CREATE_API_KEY, {
        input: {
          name: trimmed,
          role,
          ...(expires.expiresAt === null ? {} : { expiresAt: expires.expiresAt }),
        },
      })
      .toPromise();
    setBusy(false);
    if (result.error || !result.data) {
      setError(describeError(result.error ?? { message: 'No data' }));
      return;
    }
    setError(null);
    setName('');
    onCreated(result.data.createApiKey);
  };
  return (
    <form className="toolbar" onSubmit={(e) => void submit(e)} aria-label="Create an API key">
      <label className="field">
        <span>New key</span>
        <input
          type="text"
          value={name}
          onChange={(e) => setName(e.target.value)}
          placeholder="Name, e.g. ci-training"
          maxLength={200}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? errorId : undefined}
          data-testid="key-name"
        />
      </label>
      <label className="field">
        <span>Role</span>
        <select value={role} onChange={(e) => setRole(e.target.value)} data-testid="key-role">
          {roles.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
      </label>
      <label className="field">
        <span>Expires</span>
        <select
          value={expiry}
          onChange={(e) => setExpiry(e.target.value as ExpiryChoice)}
          data-testid="key-expiry"
        >
          {EXPIRY_CHOICES.map((c) => (
            <option key={c.value} value={c.value}>
              {c.label}
            </option>
          ))}
        </select>
      </label>
      {expiry === 'date' && (
        <label className="field">
          <span className="visually-hidden">Expiry date</span>
          <input
            type="date"
            value={date}
            onChange={(e) => setDate(e.target.value)}
            data-testid="key-expiry-date"
          />
        </label>
      )}
      <button type="submit" className="primary" disabled={busy}>
        Create key
      </button>
      {error && <ErrorMessage error={error} id={errorId} />}
    </form>
  );
}

function local(message: string): ApiErrorInfo {
  return { message, code: 'INVALID_ARGUMENT', position: null, argument: null, network: false };
}

/** The new key's secret, shown this once, with a copy button. */
function SecretPanel({
  created,
  onDone,
}: {
  created: CreateApiKeyResult['createApiKey'];
  onDone: () => void;
}) {
  const [copied, setCopied] = useState<'yes' | 'failed' | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(created.secret);
      setCopied('yes');
    } catch {
      setCopied('failed');
    }
  };
  return (
    <section className="secret-panel" aria-label="New API key" data-testid="new-key-panel">
      <strong>
        Key {created.apiKey.name} ({created.apiKey.role}) created.
      </strong>
      <p className="notice" role="alert">
        Copy this key now: it is shown only this once and cannot be read again. Store it like a
        password.
      </p>
      <code className="secret" data-testid="new-key-secret">
        {created.secret}
      </code>
      <span className="toolbar">
        <button type="button" className="primary" onClick={() => void copy()}>
          Copy key
        </button>
        <button type="button" onClick={onDone}>
          Done
        </button>
        <span role="status" className="muted">
          {copied === 'yes'
            ? 'Copied to the clipboard.'
            : copied === 'failed'
              ? 'Copying is not allowed here: select the key and copy it.'
              : ''}
        </span>
      </span>
    </section>
  );
}
