/**
 * Where the dashboard finds the API. In order: a `?api=` query parameter (remembered in
 * localStorage; `?api=default` forgets it), the remembered value, NEXT_PUBLIC_CAIRN_API_URL at
 * build time, else the page's own origin (`cairn server` serves both on one port).
 * Pure: the caller passes the browser's values in.
 */

export const API_STORAGE_KEY = 'cairn.apiUrl';

export interface ApiEndpoints {
  /** The GraphQL endpoint over HTTP(S). */
  http: string;
  /** The same endpoint for graphql-ws (ws: or wss:). */
  ws: string;
  /** True when the API is not the page's own origin + /graphql. */
  custom: boolean;
}

/** Normalises a user-given API address: http(s) only; a bare origin gets `/graphql`. */
export function normaliseApiUrl(raw: string, base: string): string | null {
  let url: URL;
  try {
    url = new URL(raw.trim(), base);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  if (url.username || url.password) return null;
  if (url.pathname === '' || url.pathname === '/') url.pathname = '/graphql';
  url.hash = '';
  return url.toString();
}

export function toWebSocketUrl(httpUrl: string): string {
  const url = new URL(httpUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

export interface ApiUrlInputs {
  /** The `api` query parameter, if any. */
  queryParam: string | null;
  /** The value remembered in localStorage, if any. */
  stored: string | null;
  /** NEXT_PUBLIC_CAIRN_API_URL as built in. */
  buildTime: string | undefined;
  /** The page's origin, e.g. http://127.0.0.1:4680. */
  origin: string;
}

/** Resolves the endpoints, and what to remember: a string to store, null to forget, undefined to keep. */
export function resolveApi(inputs: ApiUrlInputs): {
  endpoints: ApiEndpoints;
  remember?: string | null;
} {
  const sameOrigin = new URL('/graphql', inputs.origin).toString();
  let remember: string | null | undefined;
  let chosen: string | null = null;
  if (inputs.queryParam !== null) {
    if (inputs.queryParam === '' || inputs.queryParam === 'default') remember = null;
    else {
      chosen = normaliseApiUrl(inputs.queryParam, inputs.origin);
      if (chosen) remember = chosen;
    }
  }
  if (!chosen && remember === undefined && inputs.stored)
    chosen = normaliseApiUrl(inputs.stored, inputs.origin);
  if (!chosen && inputs.buildTime) chosen = normaliseApiUrl(inputs.buildTime, inputs.origin);
  const http = chosen ?? sameOrigin;
  return {
    endpoints: { http, ws: toWebSocketUrl(http), custom: http !== sameOrigin },
    ...(remember !== undefined ? { remember } : {}),
  };
}
