import {
  Client,
  cacheExchange,
  fetchExchange,
  mapExchange,
  subscriptionExchange,
  type AnyVariables,
  type OperationResult,
} from '@urql/core';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import type { ApiEndpoints } from '../api-config.ts';
import { CSRF_HEADER, isUnauthenticated } from '../auth.ts';
import { workspaceHeaders } from '../workspace.ts';

/**
 * The dashboard's one urql client: queries and mutations over HTTP, subscriptions over
 * graphql-ws on the same /graphql path. Built once in the browser by <Providers>, never at module
 * level. The workspace goes in the `x-cairn-workspace` header over HTTP and in the graphql-ws
 * connectionParams (browsers cannot set headers on a WebSocket); none for the default workspace.
 * With a dashboard session (docs/auth.md, "Dashboard") HTTP requests carry the session's CSRF
 * token in `x-cairn-csrf` (the HttpOnly cookie goes by itself, same origin only; the WebSocket
 * upgrade carries the cookie too), and an UNAUTHENTICATED answer calls `onUnauthenticated` (the
 * providers send the browser to /login?next=…).
 */

export type LiveStatus = 'connecting' | 'live' | 'reconnecting' | 'offline';

export interface LiveStatusStore {
  get(): LiveStatus;
  subscribe(listener: () => void): () => void;
}

export interface DashboardClient {
  urql: Client;
  ws: WsClient;
  live: LiveStatusStore;
  endpoints: ApiEndpoints;
  /** The workspace every request is made in. */
  workspace: string;
  /** An API path (`/api/runs/…`) as an absolute URL on the API's origin. */
  apiUrl(path: string): string;
  /** fetch() of an API path in this workspace (the artifact routes, which are not GraphQL). */
  apiFetch(path: string, init?: RequestInit): Promise<Response>;
  dispose(): void;
}

export interface ClientAuth {
  /** The session's CSRF token (GET /auth/session), null without a session. */
  csrfToken: string | null;
  /**
   * Settles once `csrfToken` is known: HTTP requests wait for it (the session is read while the
   * first page renders, not before).
   */
  ready?: Promise<unknown>;
  /** Called once per UNAUTHENTICATED answer (no or an ended credential). */
  onUnauthenticated?: () => void;
}

/** Headers of every HTTP request: the workspace, and the CSRF token of a session. */
export function requestHeaders(
  workspace: string,
  csrfToken: string | null,
): Record<string, string> {
  return { ...workspaceHeaders(workspace), ...(csrfToken ? { [CSRF_HEADER]: csrfToken } : {}) };
}

export function createDashboardClient(
  endpoints: ApiEndpoints,
  workspace: string,
  auth: ClientAuth = { csrfToken: null },
): DashboardClient {
  const headers = workspaceHeaders(workspace);
  const httpHeaders = () => requestHeaders(workspace, auth.csrfToken);
  const ready = () => auth.ready?.catch(() => undefined) ?? Promise.resolve();
  /** fetch() once the session is known, with its CSRF token (set after `ready`). */
  const sessionFetch: typeof fetch = async (input, init) => {
    await ready();
    const merged = new Headers(init?.headers);
    for (const [name, value] of Object.entries(httpHeaders())) merged.set(name, value);
    return fetch(input, { credentials: 'same-origin', ...init, headers: merged });
  };
  let status: LiveStatus = 'connecting';
  const listeners = new Set<() => void>();
  const setStatus = (next: LiveStatus) => {
    if (next === status) return;
    status = next;
    for (const l of listeners) l();
  };
  let everConnected = false;
  const ws = createWsClient({
    url: endpoints.ws,
    connectionParams: headers,
    // Connected from the start, so the header's indicator tells whether live updates work.
    lazy: false,
    keepAlive: 15_000,
    retryAttempts: Number.POSITIVE_INFINITY,
    shouldRetry: () => true,
    retryWait: async (retries) => {
      // 0.5 s, 1 s, 2 s … capped at 10 s, with jitter.
      const ms = Math.min(10_000, 500 * 2 ** retries) * (0.75 + Math.random() * 0.5);
      await new Promise((resolve) => setTimeout(resolve, ms));
    },
    on: {
      connecting: () => setStatus(everConnected ? 'reconnecting' : 'connecting'),
      connected: () => {
        everConnected = true;
        setStatus('live');
      },
      closed: () => setStatus(everConnected ? 'reconnecting' : 'offline'),
    },
  });
  const urql = new Client({
    url: endpoints.http,
    exchanges: [
      mapExchange({
        onError(error) {
          if (isUnauthenticated(error)) auth.onUnauthenticated?.();
        },
      }),
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query ?? '' };
          return {
            subscribe(sink) {
              const unsubscribe = ws.subscribe(input, sink);
              return { unsubscribe };
            },
          };
        },
      }),
    ],
    requestPolicy: 'cache-and-network',
    preferGetMethod: false,
    fetchOptions: () => ({ credentials: 'same-origin' }),
    fetch: sessionFetch,
  });
  const apiUrl = (path: string) => new URL(path, endpoints.http).toString();
  return {
    urql,
    ws,
    endpoints,
    workspace,
    apiUrl,
    apiFetch: (path, init = {}) => sessionFetch(apiUrl(path), init),
    live: { get: () => status, subscribe: (l) => (listeners.add(l), () => listeners.delete(l)) },
    dispose: () => void ws.dispose(),
  };
}

/** A query as a promise that rejects on errors (for code that manages its own state). */
export async function runQuery<T>(
  client: Client,
  query: string,
  variables: AnyVariables,
): Promise<OperationResult<T>> {
  return client.query<T>(query, variables, { requestPolicy: 'network-only' }).toPromise();
}
