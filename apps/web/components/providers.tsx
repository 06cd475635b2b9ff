'use client';

import { usePathname, useSearchParams } from 'next/navigation';
import {
  Suspense,
  createContext,
  useContext,
  useEffect,
  useMemo,
  useState,
  type ReactNode,
} from 'react';
import { Provider as UrqlProvider } from 'urql';
import { API_STORAGE_KEY, resolveApi } from '../lib/api-config.ts';
import { SESSION_HINT_KEY, isLoginPath, loginHref, type MeInfo } from '../lib/auth.ts';
import { fetchSession, logout, type SessionInfo } from '../lib/auth-client.ts';
import { ACCESS_CHANGED, ME_QUERY } from '../lib/auth-documents.ts';
import {
  createDashboardClient,
  type ClientAuth,
  type DashboardClient,
} from '../lib/graphql/client.ts';
import {
  DEFAULT_WORKSPACE,
  RECENT_WORKSPACES_KEY,
  WORKSPACE_STORAGE_KEY,
  addRecent,
  parseRecent,
  resolveWorkspace,
  withWorkspaceParam,
} from '../lib/workspace.ts';

const DashboardContext = createContext<DashboardClient | null>(null);

export function useDashboard(): DashboardClient {
  const value = useContext(DashboardContext);
  if (!value) throw new Error('useDashboard outside <Providers>');
  return value;
}

export type ThemeChoice = 'system' | 'light' | 'dark';
export type Theme = 'light' | 'dark';

interface ThemeState {
  choice: ThemeChoice;
  theme: Theme;
  setChoice(choice: ThemeChoice): void;
}

const ThemeContext = createContext<ThemeState>({
  choice: 'system',
  theme: 'light',
  setChoice: () => undefined,
});

export const useTheme = () => useContext(ThemeContext);

const THEME_KEY = 'cairn.theme';

export function readStorage(key: string): string | null {
  try {
    return window.localStorage.getItem(key);
  } catch {
    return null;
  }
}

export function writeStorage(key: string, value: string | null): void {
  try {
    if (value === null) window.localStorage.removeItem(key);
    else window.localStorage.setItem(key, value);
  } catch {
    // Storage disabled: the setting lasts for this page only.
  }
}

function useThemeState(): ThemeState {
  const [choice, setChoiceState] = useState<ThemeChoice>('system');
  const [systemDark, setSystemDark] = useState(false);
  useEffect(() => {
    const stored = readStorage(THEME_KEY);
    if (stored === 'light' || stored === 'dark') setChoiceState(stored);
    const media = window.matchMedia('(prefers-color-scheme: dark)');
    setSystemDark(media.matches);
    const onChange = (e: MediaQueryListEvent) => setSystemDark(e.matches);
    media.addEventListener('change', onChange);
    return () => media.removeEventListener('change', onChange);
  }, []);
  const theme: Theme = choice === 'system' ? (systemDark ? 'dark' : 'light') : choice;
  useEffect(() => {
    const root = document.documentElement;
    if (choice === 'system') delete root.dataset.theme;
    else root.dataset.theme = choice;
  }, [choice]);
  return useMemo(
    () => ({
      choice,
      theme,
      setChoice: (next: ThemeChoice) => {
        setChoiceState(next);
        writeStorage(THEME_KEY, next === 'system' ? null : next);
      },
    }),
    [choice, theme],
  );
}

/** Who is signed in (docs/auth.md, "Dashboard"). */
export interface AuthState {
  /** The caller as the API sees it (`me`); null until read, or when it could not be read. */
  me: MeInfo | null;
  /** The dashboard session (GET /auth/session), null without one. */
  session: SessionInfo | null;
  /** Reads `me` again (after a role change, say). */
  refreshMe(): void;
  /** POST /auth/logout with the CSRF header, then the login page. */
  signOut(): Promise<void>;
}

const AuthContext = createContext<AuthState>({
  me: null,
  session: null,
  refreshMe: () => undefined,
  signOut: () => Promise.resolve(),
});

export const useAuth = () => useContext(AuthContext);

/** Sends the browser to the login page, coming back to the current page (once). */
let redirecting = false;
export function goToLogin(): void {
  if (redirecting || isLoginPath(window.location.pathname)) return;
  redirecting = true;
  window.location.assign(loginHref(`${window.location.pathname}${window.location.search}`));
}

/** Builds the API client in the browser (never during the static export) and provides it. */
export function Providers({ children }: { children: ReactNode }) {
  const theme = useThemeState();
  const [client, setClient] = useState<DashboardClient | null>(null);
  const [session, setSession] = useState<SessionInfo | null>(null);
  useEffect(() => {
    let cancelled = false;
    const params = new URLSearchParams(window.location.search);
    const { endpoints, remember } = resolveApi({
      queryParam: params.get('api'),
      stored: readStorage(API_STORAGE_KEY),
      buildTime: process.env.NEXT_PUBLIC_CAIRN_API_URL,
      origin: window.location.origin,
    });
    if (remember !== undefined) writeStorage(API_STORAGE_KEY, remember);
    const ws = resolveWorkspace({
      queryParam: params.get('ws'),
      stored: readStorage(WORKSPACE_STORAGE_KEY),
    });
    if (ws.remember !== undefined) writeStorage(WORKSPACE_STORAGE_KEY, ws.remember);
    if (ws.workspace !== DEFAULT_WORKSPACE)
      writeStorage(
        RECENT_WORKSPACES_KEY,
        JSON.stringify(addRecent(parseRecent(readStorage(RECENT_WORKSPACES_KEY)), ws.workspace)),
      );
    // The session (and its CSRF token, which every cookie-authenticated POST needs) is read
    // while the page renders; the client's HTTP requests wait for it.
    const auth: ClientAuth = { csrfToken: null, onUnauthenticated: goToLogin };
    const reading = fetchSession(endpoints).then((found) => {
      auth.csrfToken = found?.csrfToken ?? null;
      writeStorage(SESSION_HINT_KEY, found ? '1' : null);
      if (!cancelled) setSession(found);
    });
    // Only a browser that signed in waits for the token (lib/auth.ts, SESSION_HINT_KEY).
    if (readStorage(SESSION_HINT_KEY) === '1') auth.ready = reading;
    const created = createDashboardClient(endpoints, ws.workspace, auth);
    setClient(created);
    return () => {
      cancelled = true;
      created.dispose();
    };
  }, []);
  return (
    <ThemeContext.Provider value={theme}>
      {client ? (
        <DashboardContext.Provider value={client}>
          <Suspense fallback={null}>
            <WorkspaceInUrl workspace={client.workspace} />
          </Suspense>
          <UrqlProvider value={client.urql}>
            <AuthProvider client={client} session={session}>
              {children}
            </AuthProvider>
          </UrqlProvider>
        </DashboardContext.Provider>
      ) : (
        <p className="page-loading" role="status">
          Loading…
        </p>
      )}
    </ThemeContext.Provider>
  );
}

/**
 * Reads `me` once the client exists, again on each `accessChanged` push (a role or key change
 * can change the caller's scopes), and sends a caller without a credential to the login page
 * when the server requires one.
 */
function AuthProvider({
  client,
  session,
  children,
}: {
  client: DashboardClient;
  session: SessionInfo | null;
  children: ReactNode;
}) {
  const [me, setMe] = useState<MeInfo | null>(null);
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    let stale = false;
    void client.urql
      .query<{ me: MeInfo }>(ME_QUERY, {}, { requestPolicy: 'network-only' })
      .toPromise()
      .then((result) => {
        if (stale || !result.data) return;
        const next = result.data.me;
        setMe(next);
        if (next.authMode === 'REQUIRED' && !next.authenticated) goToLogin();
      });
    return () => {
      stale = true;
    };
  }, [client, generation]);
  const authenticated = me?.authenticated === true;
  useEffect(() => {
    if (!authenticated) return;
    const { unsubscribe } = client.urql.subscription(ACCESS_CHANGED, {}).subscribe((result) => {
      if (result.data) setGeneration((g) => g + 1);
    });
    return unsubscribe;
  }, [client, authenticated]);
  const value = useMemo<AuthState>(
    () => ({
      me,
      session,
      refreshMe: () => setGeneration((g) => g + 1),
      signOut: async () => {
        await logout(client.endpoints, session?.csrfToken ?? null);
        writeStorage(SESSION_HINT_KEY, null);
        window.location.assign('/login');
      },
    }),
    [me, session, client],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

/**
 * Keeps `?ws=` in the address bar for a non-default workspace (links between pages do not carry
 * it), so a view's URL can be shared; no history entry, no reload.
 */
function WorkspaceInUrl({ workspace }: { workspace: string }): null {
  const pathname = usePathname();
  const params = useSearchParams();
  const text = params.toString();
  useEffect(() => {
    const wanted = withWorkspaceParam(text, workspace);
    if (wanted === text) return;
    window.history.replaceState(null, '', wanted ? `${pathname}?${wanted}` : pathname);
  }, [pathname, text, workspace]);
  return null;
}

/** Opens the dashboard's home page in another workspace (a fresh client, fresh state). */
export function switchWorkspace(workspace: string): void {
  writeStorage(WORKSPACE_STORAGE_KEY, workspace === DEFAULT_WORKSPACE ? null : workspace);
  const url = new URL('/', window.location.href);
  url.search = withWorkspaceParam('', workspace);
  if (workspace === DEFAULT_WORKSPACE) url.searchParams.set('ws', DEFAULT_WORKSPACE);
  window.location.assign(url.toString());
}
