'use client';

import { useSearchParams } from 'next/navigation';
import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { useAuth, useDashboard, writeStorage } from '../../components/providers.tsx';
import { SESSION_HINT_KEY, formatWait, safeNext } from '../../lib/auth.ts';
import { authUrl, fetchOidc, login, type OidcInfo } from '../../lib/auth-client.ts';
import { useNow } from '../../lib/hooks.ts';
import './login.css';

/**
 * `/login?next=/path`: email and password → `POST /auth/login` (the server sets the HttpOnly
 * session cookie), then a full load of `next` (validated: a path of this dashboard only) so the
 * client starts with the session's CSRF token. Wrong credentials and the failed-login backoff
 * (429 with Retry-After) are said in the form.
 */
export function LoginForm() {
  const params = useSearchParams();
  const next = safeNext(params.get('next'));
  const { endpoints } = useDashboard();
  const { me, session, signOut } = useAuth();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [retryAt, setRetryAt] = useState<number | null>(null);
  const [busy, setBusy] = useState(false);
  const errorId = useId();
  const emailRef = useRef<HTMLInputElement>(null);
  const [oidc, setOidc] = useState<OidcInfo | null>(null);
  useEffect(() => {
    let live = true;
    void fetchOidc(endpoints).then((info) => {
      if (live) setOidc(info);
    });
    return () => {
      live = false;
    };
  }, [endpoints]);
  // Ticks each second while a backoff runs; the wait itself is read from the clock.
  const tick = useNow(1000, retryAt !== null);
  const now = Math.max(tick, Date.now());
  const waiting = retryAt !== null && retryAt > now;
  useEffect(() => {
    emailRef.current?.focus();
  }, []);
  useEffect(() => {
    if (retryAt !== null && retryAt <= now) {
      setRetryAt(null);
      setError('Too many failed sign-ins. You can try again now.');
    }
  }, [retryAt, now]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!email.trim() || !password) {
      setError('Enter your email and password.');
      return;
    }
    setBusy(true);
    const result = await login(endpoints, email.trim(), password);
    if (result.ok) {
      writeStorage(SESSION_HINT_KEY, '1');
      window.location.assign(next);
      return;
    }
    setBusy(false);
    setPassword('');
    setError(result.message);
    setRetryAt(
      result.retryAfterSeconds === null ? null : Date.now() + result.retryAfterSeconds * 1000,
    );
  };

  return (
    <>
      <h1>Sign in</h1>
      {session && (
        <p className="notice" data-testid="already-signed-in">
          Signed in as {session.user.displayName} ({session.user.email}).{' '}
          <a href={next}>Continue</a>
          <button type="button" className="link" onClick={() => void signOut()}>
            Sign out
          </button>
        </p>
      )}
      {me?.authMode === 'OFF' && !session && (
        <p className="muted">
          This server runs without authentication: signing in is optional. <a href={next}>Go on</a>
        </p>
      )}
      {oidc?.loginUrl && (
        <p>
          <a
            className="button primary oidc-login"
            href={`${authUrl(endpoints, oidc.loginUrl)}?next=${encodeURIComponent(next)}`}
            data-testid="oidc-login"
            // Back from the provider, the first requests wait for the session's CSRF token.
            onClick={() => writeStorage(SESSION_HINT_KEY, '1')}
          >
            Sign in with {oidc.providerName ?? 'your identity provider'}
          </a>
        </p>
      )}
      <form className="login-form" onSubmit={(e) => void submit(e)} aria-label="Sign in" noValidate>
        <label>
          <span>Email</span>
          <input
            ref={emailRef}
            type="email"
            name="email"
            autoComplete="username"
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            maxLength={254}
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? errorId : undefined}
            data-testid="login-email"
          />
        </label>
        <label>
          <span>Password</span>
          <input
            type="password"
            name="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            maxLength={256}
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? errorId : undefined}
            data-testid="login-password"
          />
        </label>
        <button type="submit" className="primary" disabled={busy || waiting}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        {error && (
          <div className="error-box" role="alert" id={errorId} data-testid="login-error">
            <span>
              {retryAt === null
                ? error
                : waiting
                  ? `Too many failed sign-ins. Try again in ${formatWait(Math.ceil((retryAt - now) / 1000))}.`
                  : 'Too many failed sign-ins. You can try again now.'}
            </span>
          </div>
        )}
      </form>
      <p className="muted">
        No account? An admin of your workspace invites you (Settings → Members); the first admin key
        comes from <code>cairn keys create --workspace default --role admin</code>.
      </p>
    </>
  );
}
