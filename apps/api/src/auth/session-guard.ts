import type http from 'node:http';
import {
  CSRF_HEADER,
  SESSION_COOKIE,
  csrfMatches,
  readCookie,
  type SessionStore,
} from './sessions.ts';

function refuse(res: http.ServerResponse, status: number, code: string, message: string): false {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
  });
  res.end(JSON.stringify({ errors: [{ message, extensions: { code } }] }));
  return false;
}

/**
 * The session check of a `/graphql` request (docs/auth.md, "Users and sessions"): without a
 * session cookie, or with an `Authorization` header (API keys), nothing to do. A cookie that
 * names no live session answers 401, in every auth mode (a credential that is sent is checked).
 * Any method but GET/HEAD/OPTIONS made with the cookie needs `x-cairn-csrf`, else 403 — a
 * cross-site page can make the browser send the cookie, never the header. Resolves false when
 * it answered the request itself.
 */
export async function checkSessionRequest(
  sessions: SessionStore,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<boolean> {
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
  const session = await sessions.lookup(token);
  if (!session) {
    req.resume();
    return refuse(res, 401, 'UNAUTHENTICATED', 'The session has ended; log in again');
  }
  return true;
}
