import type http from 'node:http';
import { CSRF_HEADER, SESSION_COOKIE, csrfMatches, readCookie } from './sessions.ts';

function refuse(res: http.ServerResponse, status: number, code: string, message: string): false {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
  });
  res.end(JSON.stringify({ errors: [{ message, extensions: { code } }] }));
  return false;
}

/**
 * The CSRF check of an API request made with the session cookie (docs/auth.md, "Users and
 * sessions"): without the cookie, or with an `Authorization` header (API keys), nothing to do.
 * Any method but GET/HEAD/OPTIONS made with the cookie needs `x-cairn-csrf`, else 403 — a
 * cross-site page can make the browser send the cookie, never the header. Whether the session
 * is live is the session resolver's check (a cookie naming no live session: 401), made once per
 * request when the principal is resolved. Returns false when it answered the request itself.
 */
export function checkSessionRequest(req: http.IncomingMessage, res: http.ServerResponse): boolean {
  if (req.headers.authorization) return true;
  const token = readCookie(req.headers.cookie, SESSION_COOKIE);
  if (token === null) return true;
  const method = req.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS') {
    const csrf = req.headers[CSRF_HEADER];
    if (!csrfMatches(token, typeof csrf === 'string' ? csrf : undefined)) {
      req.resume();
      return refuse(res, 403, 'PERMISSION_DENIED', `Missing or wrong ${CSRF_HEADER} header`);
    }
  }
  return true;
}
