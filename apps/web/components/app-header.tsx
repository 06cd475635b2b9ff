'use client';

import Link from 'next/link';
import { usePathname } from 'next/navigation';
import { useId, useState, type FormEvent } from 'react';
import { API_STORAGE_KEY } from '../lib/api-config.ts';
import { isLoginPath, loginHref, principalLabel } from '../lib/auth.ts';
import { useLiveStatus } from '../lib/hooks.ts';
import {
  DEFAULT_WORKSPACE,
  RECENT_WORKSPACES_KEY,
  isValidWorkspace,
  parseRecent,
} from '../lib/workspace.ts';
import {
  readStorage,
  switchWorkspace,
  useAuth,
  useDashboard,
  useTheme,
  type ThemeChoice,
} from './providers.tsx';

const LIVE_TEXT = {
  connecting: 'Connecting…',
  live: 'Live',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
} as const;

const NEXT_THEME: Record<ThemeChoice, ThemeChoice> = {
  system: 'light',
  light: 'dark',
  dark: 'system',
};

export function LiveIndicator() {
  const status = useLiveStatus();
  return (
    <span className="live-indicator" data-status={status} role="status" aria-live="polite">
      <span className="dot" aria-hidden="true" />
      {LIVE_TEXT[status]}
    </span>
  );
}

export function AppHeader() {
  const pathname = usePathname();
  const { choice, setChoice } = useTheme();
  const { endpoints } = useDashboard();
  const { me } = useAuth();
  return (
    <>
      <header className="app-header">
        <Link className="brand" href="/">
          Cairn
        </Link>
        <nav aria-label="Main">
          <Link href="/" aria-current={pathname === '/' ? 'page' : undefined}>
            Experiments
          </Link>
          <Link href="/models" aria-current={pathname.startsWith('/models') ? 'page' : undefined}>
            Models
          </Link>
          <Link href="/prompts" aria-current={pathname.startsWith('/prompts') ? 'page' : undefined}>
            Prompts
          </Link>
          <Link
            href="/traces"
            aria-current={
              pathname.startsWith('/trace') || pathname.startsWith('/session') ? 'page' : undefined
            }
          >
            Traces
          </Link>
          <Link
            href="/deployments"
            aria-current={pathname.startsWith('/deployments') ? 'page' : undefined}
          >
            Deployments
          </Link>
          <Link
            href="/evaluations"
            aria-current={pathname.startsWith('/evaluations') ? 'page' : undefined}
          >
            Evaluations
          </Link>
          <Link href="/audit" aria-current={pathname.startsWith('/audit') ? 'page' : undefined}>
            Audit
          </Link>
          <Link
            href="/settings"
            aria-current={pathname.startsWith('/settings') ? 'page' : undefined}
          >
            Settings
          </Link>
        </nav>
        <WorkspacePicker />
        <SignedIn />
        <LiveIndicator />
        <button
          type="button"
          onClick={() => setChoice(NEXT_THEME[choice])}
          aria-label={`Theme: ${choice}. Switch to ${NEXT_THEME[choice]}`}
          title="Theme: system, light or dark"
        >
          {choice === 'system' ? '◐ System' : choice === 'light' ? '☀ Light' : '☾ Dark'}
        </button>
      </header>
      {me?.authMode === 'OFF' && (
        <div className="api-banner" role="note" data-testid="no-auth-banner">
          <span>
            This server runs without authentication: anyone who can reach it can read and change
            every workspace. Local (loopback) use only; see docs/auth.md.
          </span>
        </div>
      )}
      {endpoints.custom && (
        <div className="api-banner" role="note">
          <span>
            API: <span className="mono">{endpoints.http}</span>
          </span>
          <button
            type="button"
            className="link"
            onClick={() => {
              try {
                window.localStorage.removeItem(API_STORAGE_KEY);
              } catch {
                // storage disabled
              }
              const url = new URL(window.location.href);
              url.searchParams.delete('api');
              window.location.assign(url.toString());
            }}
          >
            Use this server&apos;s API
          </button>
        </div>
      )}
    </>
  );
}

/** Who the API says the caller is (user, key or anonymous), and sign in / sign out. */
function SignedIn() {
  const { me, session, signOut } = useAuth();
  const pathname = usePathname();
  const [busy, setBusy] = useState(false);
  if (!me) return null;
  return (
    <span
      className="signed-in"
      data-testid="signed-in"
      style={{ display: 'inline-flex', gap: 6, alignItems: 'center', fontSize: 13 }}
    >
      <span title={me.role ? `Role here: ${me.role}` : undefined}>
        {principalLabel(me)}
        {me.role && me.kind !== 'ANONYMOUS' && <span className="muted"> · {me.role}</span>}
      </span>
      {session ? (
        <button
          type="button"
          disabled={busy}
          onClick={() => {
            setBusy(true);
            void signOut();
          }}
        >
          Sign out
        </button>
      ) : (
        !isLoginPath(pathname) &&
        me.kind === 'ANONYMOUS' && (
          <a
            href={loginHref(
              typeof window === 'undefined'
                ? pathname
                : `${window.location.pathname}${window.location.search}`,
            )}
          >
            Sign in
          </a>
        )
      )}
    </span>
  );
}

/** The workspace in use, and a form to open another (typed, or one used recently). */
function WorkspacePicker() {
  const { workspace } = useDashboard();
  const [value, setValue] = useState(workspace);
  const [error, setError] = useState<string | null>(null);
  const [recent] = useState(() => parseRecent(readStorage(RECENT_WORKSPACES_KEY)));
  const listId = useId();
  const errorId = useId();
  const options = [DEFAULT_WORKSPACE, ...recent.filter((w) => w !== DEFAULT_WORKSPACE)];
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const next = value.trim();
    if (!isValidWorkspace(next)) {
      setError('1–63 letters, digits, "_" or "-"');
      return;
    }
    setError(null);
    if (next !== workspace) switchWorkspace(next);
  };
  return (
    <form className="workspace-picker" onSubmit={submit} aria-label="Workspace">
      <label className="field">
        <span>Workspace</span>
        <input
          type="text"
          list={listId}
          value={value}
          size={12}
          maxLength={63}
          spellCheck={false}
          autoComplete="off"
          onChange={(e) => setValue(e.target.value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? errorId : undefined}
          data-testid="workspace-input"
        />
      </label>
      <datalist id={listId}>
        {options.map((w) => (
          <option key={w} value={w} />
        ))}
      </datalist>
      {value.trim() !== workspace && (
        <button type="submit" className="primary">
          Open
        </button>
      )}
      {error && (
        <span className="error-text" role="alert" id={errorId}>
          {error}
        </span>
      )}
    </form>
  );
}
