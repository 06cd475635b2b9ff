import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

/**
 * Serves the dashboard's static export (apps/web/out) next to the API, without running Next.js
 * in the server. Paths are decoded once and must resolve, symlinks followed, inside the root;
 * NUL and backslashes are refused. `/` is index.html and `/experiment` is experiment.html (what
 * `next build` with `output: 'export'` writes). HTML gets a Content-Security-Policy that allows
 * the page's own inline bootstrap scripts by hash, and connections to this origin only
 * (HTTP and WebSocket). Files are small, so each is read once, kept in memory (gzipped too), and
 * re-read when its size or mtime changes.
 */

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export interface StaticHandlerOptions {
  /** Origins the pages may also connect to (a dashboard served for an API elsewhere). */
  connectSrc?: readonly string[];
  /** Handles every request while `rootDir` has no index.html (the dashboard is not built). */
  whenMissing?: Handler;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  // Next's React Server Components payloads of a static export; its router accepts text/plain.
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.webmanifest': 'application/manifest+json',
};

const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.json', '.map', '.txt', '.svg']);
/** Larger files are streamed from disk instead of kept in memory. */
const MAX_CACHED_BYTES = 4 * 1024 * 1024;
const IMMUTABLE_PREFIX = '/_next/static/';
const HOST_PATTERN = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/u;

interface CachedFile {
  size: number;
  mtimeMs: number;
  body: Buffer;
  gzip: Buffer | null;
  etag: string;
  /** sha256 sources of the inline <script> elements (HTML only). */
  scriptHashes: string[];
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
} as const;

/** The sha256 CSP sources of a document's inline scripts (Next's bootstrap and RSC payload). */
export function inlineScriptHashes(html: string): string[] {
  const hashes = new Set<string>();
  const pattern = /<script\b([^>]*)>([\s\S]*?)<\/script>/giu;
  for (const match of html.matchAll(pattern)) {
    const attributes = match[1] ?? '';
    const content = match[2] ?? '';
    if (/\bsrc\s*=/iu.test(attributes) || content.length === 0) continue;
    hashes.add(`'sha256-${createHash('sha256').update(content, 'utf8').digest('base64')}'`);
  }
  return [...hashes];
}

export function contentSecurityPolicy(
  host: string | undefined,
  scriptHashes: readonly string[],
  extraConnect: readonly string[] = [],
): string {
  const connect = ["'self'"];
  // CSP Level 3 lets 'self' match ws:/wss: of the same host, but not every browser does; name
  // them explicitly when the Host header is well formed.
  if (host && HOST_PATTERN.test(host)) connect.push(`ws://${host}`, `wss://${host}`);
  connect.push(...extraConnect);
  return [
    "default-src 'self'",
    `script-src 'self' ${scriptHashes.join(' ')}`.trim(),
    // React and uPlot set element styles; Next may emit inline <style> for route CSS.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    `connect-src ${connect.join(' ')}`,
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * Maps a request path to the candidate files under root, or null when the path is unsafe or
 * malformed. Pure: no file system access.
 */
export function candidatePaths(rootDir: string, rawUrl: string): string[] | null {
  const rawPath = rawUrl.split(/[?#]/u, 1)[0] ?? '/';
  if (!rawPath.startsWith('/') || rawPath.includes('\\') || rawPath.includes('\0')) return null;
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  // No dot-segments at all (a browser never sends them; anything that does is probing).
  if (decoded.split('/').some((segment) => segment === '..' || segment === '.')) return null;
  const root = path.resolve(rootDir);
  const inside = (p: string) => p === root || p.startsWith(root + path.sep);
  let wanted: string[];
  if (decoded === '/' || decoded === '') wanted = ['index.html'];
  else if (decoded.endsWith('/')) wanted = [`${decoded}index.html`, `${decoded.slice(0, -1)}.html`];
  else if (path.posix.extname(decoded) === '')
    wanted = [`${decoded}.html`, `${decoded}/index.html`];
  else wanted = [decoded];
  const resolved = wanted.map((w) => path.resolve(root, `.${path.posix.normalize(`/${w}`)}`));
  return resolved.every(inside) ? resolved : null;
}

export function createStaticHandler(rootDir: string, options: StaticHandlerOptions = {}): Handler {
  const root = path.resolve(rootDir);
  const cache = new Map<string, CachedFile>();
  let realRoot: string | null = null;

  let isBuilt = false;
  const built = () => (isBuilt ||= fs.existsSync(path.join(root, 'index.html')));

  /** The file at `abs` if it is a regular file inside the root (symlinks resolved). */
  async function open(abs: string): Promise<{ real: string; stat: fs.Stats } | null> {
    try {
      realRoot ??= await fs.promises.realpath(root);
      const real = await fs.promises.realpath(abs);
      if (real !== realRoot && !real.startsWith(realRoot + path.sep)) return null;
      const stat = await fs.promises.stat(real);
      return stat.isFile() ? { real, stat } : null;
    } catch {
      return null;
    }
  }

  async function load(real: string, stat: fs.Stats): Promise<CachedFile | null> {
    const hit = cache.get(real);
    if (hit && hit.size === stat.size && hit.mtimeMs === stat.mtimeMs) return hit;
    if (stat.size > MAX_CACHED_BYTES) return null;
    const body = await fs.promises.readFile(real);
    const ext = path.extname(real).toLowerCase();
    const entry: CachedFile = {
      size: stat.size,
      mtimeMs: stat.mtimeMs,
      body,
      gzip: COMPRESSIBLE.has(ext) && body.length > 1024 ? gzipSync(body) : null,
      etag: `"${createHash('sha1').update(body).digest('base64url').slice(0, 22)}"`,
      scriptHashes: ext === '.html' ? inlineScriptHashes(body.toString('utf8')) : [],
    };
    cache.set(real, entry);
    return entry;
  }

  function plain(
    res: http.ServerResponse,
    status: number,
    text: string,
    extra: Record<string, string> = {},
  ) {
    res.writeHead(status, {
      ...SECURITY_HEADERS,
      'content-type': 'text/plain; charset=utf-8',
      'cache-control': 'no-store',
      ...extra,
    });
    res.end(text);
  }

  async function serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      plain(res, 405, 'method not allowed', { allow: 'GET, HEAD' });
      return;
    }
    const candidates = candidatePaths(root, req.url ?? '/');
    if (!candidates) {
      plain(res, 400, 'bad request');
      return;
    }
    let found: { real: string; stat: fs.Stats } | null = null;
    for (const candidate of candidates) {
      found = await open(candidate);
      if (found) break;
    }
    let status = 200;
    if (!found) {
      found = await open(path.join(root, '404.html'));
      status = 404;
      if (!found) {
        plain(res, 404, 'not found');
        return;
      }
    }
    const { real, stat } = found;
    const ext = path.extname(real).toLowerCase();
    const urlPath = (req.url ?? '/').split(/[?#]/u, 1)[0] ?? '/';
    const file = await load(real, stat);
    const headers: Record<string, string> = {
      ...SECURITY_HEADERS,
      'content-type': CONTENT_TYPES[ext] ?? 'application/octet-stream',
      'cache-control':
        status === 200 && urlPath.startsWith(IMMUTABLE_PREFIX)
          ? 'public, max-age=31536000, immutable'
          : 'no-cache',
      'content-security-policy': contentSecurityPolicy(
        req.headers.host,
        file?.scriptHashes ?? [],
        options.connectSrc,
      ),
      vary: 'accept-encoding',
    };
    if (!file) {
      // Too large to keep: stream it as it is.
      headers['content-length'] = String(stat.size);
      res.writeHead(status, headers);
      if (req.method === 'HEAD') {
        res.end();
        return;
      }
      fs.createReadStream(real)
        .on('error', () => res.destroy())
        .pipe(res);
      return;
    }
    headers.etag = file.etag;
    if (status === 200 && req.headers['if-none-match'] === file.etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    const acceptsGzip = /\bgzip\b/u.test(String(req.headers['accept-encoding'] ?? ''));
    const body = file.gzip && acceptsGzip ? file.gzip : file.body;
    if (body === file.gzip) headers['content-encoding'] = 'gzip';
    headers['content-length'] = String(body.length);
    res.writeHead(status, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  return (req, res) => {
    if (options.whenMissing && !built()) {
      options.whenMissing(req, res);
      return;
    }
    serve(req, res).catch(() => {
      if (!res.headersSent) plain(res, 500, 'internal error');
      else res.destroy();
    });
  };
}
