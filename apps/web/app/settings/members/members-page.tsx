'use client';

import { useId, useState, type FormEvent } from 'react';
import { ErrorMessage } from '../../../components/error-message.tsx';
import { useAuth, useDashboard } from '../../../components/providers.tsx';
import { ADMIN_SCOPE, hasScope, looksLikeEmail } from '../../../lib/auth.ts';
import {
  INVITE_MEMBER,
  MEMBERS_QUERY,
  REMOVE_MEMBER,
  SET_MEMBER_ROLE,
  type InviteResult,
  type MemberRow,
} from '../../../lib/auth-documents.ts';
import { describeError, type ApiErrorInfo } from '../../../lib/graphql/errors.ts';
import { SettingsNav } from '../settings-nav.tsx';
import { useAccessList } from '../use-access-list.ts';
import { useRoleOptions } from '../use-role-options.ts';

/**
 * `/settings/members`: who has which role in the current workspace; invite by email, change a
 * role, remove (with a confirmation). Changing members needs workspace:admin: without it the
 * controls are not shown. Live on `accessChanged` (kind members).
 */
export function MembersPage() {
  const { me } = useAuth();
  const { workspace } = useDashboard();
  const admin = hasScope(me, ADMIN_SCOPE);
  const list = useAccessList<MemberRow>({
    query: MEMBERS_QUERY,
    field: 'members',
    kind: 'members',
  });
  const roles = useRoleOptions();
  return (
    <>
      <h1>Members</h1>
      <SettingsNav />
      <p className="muted">
        Users with a role in workspace <span className="mono">{workspace}</span>. Service accounts
        are API keys (see API keys).
      </p>
      {me && !admin && (
        <p className="notice settings-note" data-testid="members-read-only">
          Inviting and changing members needs the workspace:admin scope; your role here is{' '}
          {me.role ?? 'none'}.
        </p>
      )}
      {admin && <InviteForm roles={roles} onInvited={list.reload} />}
      <div className="toolbar">
        <span className="muted" aria-live="polite" data-testid="members-count">
          {list.error
            ? ''
            : list.loading && list.items.length === 0
              ? 'Loading…'
              : `${list.totalCount} member${list.totalCount === 1 ? '' : 's'}`}
        </span>
      </div>
      {list.error && <ErrorMessage error={list.error} />}
      <table className="data" aria-label="Members">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Email</th>
            <th scope="col">Role</th>
            {admin && (
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {list.items.map((m) => (
            <MemberItem
              key={m.user.id}
              member={m}
              admin={admin}
              self={me?.kind === 'USER' && me.id === m.user.id}
              roles={roles}
              onChanged={list.reload}
            />
          ))}
        </tbody>
      </table>
      {!list.loading && list.items.length === 0 && !list.error && (
        <p className="muted" data-testid="members-empty">
          No members yet{admin ? ': invite someone above.' : '.'}
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
  );
}

function MemberItem({
  member: m,
  admin,
  self,
  roles,
  onChanged,
}: {
  member: MemberRow;
  admin: boolean;
  self: boolean;
  roles: string[];
  onChanged: () => void;
}) {
  const { urql } = useDashboard();
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<ApiErrorInfo | null>(null);
  const options = roles.includes(m.role) ? roles : [...roles, m.role];
  const run = async (query: string, variables: Record<string, unknown>) => {
    setBusy(true);
    const result = await urql.mutation(query, variables).toPromise();
    setBusy(false);
    if (result.error) {
      setError(describeError(result.error));
      return false;
    }
    setError(null);
    onChanged();
    return true;
  };
  return (
    <tr data-user={m.user.id} data-testid={`member-row-${m.user.email}`}>
      <td>
        {m.user.displayName}
        {self && <span className="muted"> (you)</span>}
      </td>
      <td>{m.user.email}</td>
      <td>
        {admin ? (
          <label className="field">
            <span className="visually-hidden">Role of {m.user.email}</span>
            <select
              value={m.role}
              disabled={busy}
              onChange={(e) =>
                void run(SET_MEMBER_ROLE, { input: { userId: m.user.id, role: e.target.value } })
              }
              data-testid="member-role"
            >
              {options.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          </label>
        ) : (
          m.role
        )}
      </td>
      {admin && (
        <td>
          {confirming ? (
            <span className="confirm-inline" role="group" aria-label={`Remove ${m.user.email}?`}>
              <span>Remove {m.user.email} from this workspace?</span>
              <button
                type="button"
                className="danger"
                disabled={busy}
                onClick={() =>
                  void run(REMOVE_MEMBER, { userId: m.user.id }).then((ok) => {
                    if (ok) setConfirming(false);
                  })
                }
              >
                Confirm remove
              </button>
              <button type="button" disabled={busy} onClick={() => setConfirming(false)}>
                Cancel
              </button>
            </span>
          ) : (
            <button type="button" className="danger" onClick={() => setConfirming(true)}>
              Remove
            </button>
          )}
          {error && <ErrorMessage error={error} />}
        </td>
      )}
    </tr>
  );
}

function InviteForm({ roles, onInvited }: { roles: string[]; onInvited: () => void }) {
  const { urql } = useDashboard();
  const [email, setEmail] = useState('');
  const [role, setRole] = useState('member');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiErrorInfo | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const errorId = useId();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const trimmed = email.trim();
    if (!looksLikeEmail(trimmed)) {
      setError({
        message: 'Enter an email address',
        code: 'INVALID_ARGUMENT',
        position: null,
        argument: 'email',
        network: false,
      });
      return;
    }
    setBusy(true);
    const result = await urql
      .mutation<InviteResult>(INVITE_MEMBER, { input: { email: trimmed, role } })
      .toPromise();
    setBusy(false);
    if (result.error || !result.data) {
      setError(describeError(result.error ?? { message: 'No data' }));
      setDone(null);
      return;
    }
    const invited = result.data.inviteMember;
    setError(null);
    setEmail('');
    setDone(
      invited.userId
        ? `${invited.email} is now a member (${invited.role}).`
        : `Invited ${invited.email} as ${invited.role}: they become a member once a user with this email exists.`,
    );
    onInvited();
  };
  return (
    <form className="toolbar" onSubmit={(e) => void submit(e)} aria-label="Invite a member">
      <label className="field">
        <span>Invite</span>
        <input
          type="text"
          inputMode="email"
          autoComplete="off"
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          placeholder="email@example.com"
          maxLength={254}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? errorId : undefined}
          data-testid="invite-email"
        />
      </label>
      <label className="field">
        <span>Role</span>
        <select value={role} onChange={(e) => setRole(e.target.value)} data-testid="invite-role">
          {roles.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
      </label>
      <button type="submit" className="primary" disabled={busy}>
        Invite
      </button>
      {error && <ErrorMessage error={error} id={errorId} />}
      {done && !error && <span role="status">{done}</span>}
    </form>
  );
}
