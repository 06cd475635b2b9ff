import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  candidatePaths,
  contentSecurityPolicy,
  createStaticHandler,
  inlineScriptHashes,
} from '../../cli/src/web-static.ts';

describe('candidatePaths', () => {
  const root = '/srv/out';
  it.each([
    ['/', ['/srv/out/index.html']],
    ['/?x=1', ['/srv/out/index.html']],
    ['/experiment', ['/srv/out/experiment.html', '/srv/out/experiment/index.html']],
    [
      '/experiment?id=abc&filter=a%20b',
      ['/srv/out/experiment.html', '/srv/out/experiment/index.html'],
    ],
    ['/run/', ['/srv/out/run/index.html', '/srv/out/run.html']],
    ['/_next/static/chunks/a.js', ['/srv/out/_next/static/chunks/a.js']],
    ['/caf%C3%A9.txt', ['/srv/out/café.txt']],
  ])('%s → %j', (url, expected) => {
    expect(candidatePaths(root, url)).toEqual(expected);
  });

  it.each([
    '/../etc/passwd',
    '/%2e%2e/etc/passwd',
    '/_next/%2E%2E/%2E%2E/secret',
    '/a/./b',
    '/..%2fetc%2fpasswd',
    '/a%5c..%5c..%5csecret',
    '/a\\b',
    '/a%00.html',
    '/%E0%A4%A',
    'relative',
  ])('refuses %s', (url) => {
    expect(candidatePaths(root, url)).toBeNull();
  });

  it('decodes once: %252e%252e is a file literally named %2e%2e', () => {
    expect(candidatePaths(root, '/%252e%252e/x.js')).toEqual(['/srv/out/%2e%2e/x.js']);
  });
});

describe('inlineScriptHashes', () => {
  const sha = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
  it('hashes inline scripts only, as CSP computes them', () => {
    const html =
      '<script src="/a.js" async=""></script><script>self.__next_f=[]</script><script id="_R_">x()</script>';
    expect(inlineScriptHashes(html)).toEqual([sha('self.__next_f=[]'), sha('x()')]);
  });
});

describe('contentSecurityPolicy', () => {
  it('allows this origin over HTTP and WebSocket, and nothing else', () => {
    const csp = contentSecurityPolicy('127.0.0.1:4680', ["'sha256-abc'"]);
    expect(csp).toContain("connect-src 'self' ws://127.0.0.1:4680 wss://127.0.0.1:4680");
    expect(csp).toContain("script-src 'self' 'sha256-abc'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-eval');
  });
  it('drops a malformed Host header', () => {
    const csp = contentSecurityPolicy('evil.com; script-src *', []);
    expect(csp).toContain("connect-src 'self';");
    expect(csp).not.toContain('evil');
  });
});

describe('createStaticHandler', () => {
  let dir: string;
  let outside: string;
  let server: http.Server;
  let base: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-web-static-'));
    outside = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-web-outside-'));
    fs.writeFileSync(path.join(outside, 'secret.txt'), 'secret');
    fs.writeFileSync(
      path.join(dir, 'index.html'),
      `<!doctype html><script>boot()</script><p>home ${'x'.repeat(2000)}</p>`,
    );
    fs.writeFileSync(path.join(dir, 'experiment.html'), '<p>experiment page</p>');
    fs.writeFileSync(path.join(dir, '404.html'), '<p>missing</p>');
    fs.mkdirSync(path.join(dir, '_next/static/chunks'), { recursive: true });
    fs.writeFileSync(path.join(dir, '_next/static/chunks/app.js'), 'console.log(1)');
    fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(dir, 'link.txt'));
    server = http.createServer(createStaticHandler(dir));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(outside, { recursive: true, force: true });
  });

  /** A raw request (fetch would normalise `..` away before sending). */
  function raw(pathAndQuery: string, headers: Record<string, string> = {}) {
    return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>(
      (resolve, reject) => {
        const req = http.request(`${base}/`, { path: pathAndQuery, headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              body: Buffer.concat(chunks).toString('utf8'),
            }),
          );
        });
        req.on('error', reject);
        req.end();
      },
    );
  }

  it('serves index.html at / with a CSP naming the inline script hash', async () => {
    const res = await raw('/');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.body).toContain('home');
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain(inlineScriptHashes('<script>boot()</script>')[0]);
    expect(csp).toMatch(/connect-src 'self' ws:\/\/127\.0\.0\.1:\d+ wss:/u);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['cache-control']).toBe('no-cache');
  });

  it('serves <path>.html for extensionless paths, query strings ignored', async () => {
    const res = await raw('/experiment?id=1');
    expect(res.status).toBe(200);
    expect(res.body).toBe('<p>experiment page</p>');
  });

  it('caches _next/static for a year, with a JavaScript content type', async () => {
    const res = await raw('/_next/static/chunks/app.js');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
  });

  it('answers 304 to a matching If-None-Match and gzips when asked', async () => {
    const first = await raw('/');
    const again = await raw('/', { 'if-none-match': String(first.headers.etag) });
    expect(again.status).toBe(304);
    const gz = await raw('/', { 'accept-encoding': 'gzip, br' });
    expect(gz.headers['content-encoding']).toBe('gzip');
  });

  it('answers unknown paths with 404.html', async () => {
    const res = await raw('/nope');
    expect(res.status).toBe(404);
    expect(res.body).toBe('<p>missing</p>');
  });

  it.each(['/../secret.txt', '/%2e%2e/%2e%2e/etc/passwd', '/a%5c..%5csecret', '/x%00.html'])(
    'refuses traversal %s with 400',
    async (p) => {
      const res = await raw(p);
      expect(res.status).toBe(400);
      expect(res.body).not.toContain('secret');
    },
  );

  it('does not follow a symlink out of the root', async () => {
    const res = await raw('/link.txt');
    expect(res.status).toBe(404);
    expect(res.body).not.toContain('secret');
  });

  it('allows GET and HEAD only', async () => {
    const res = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${base}/`, { method: 'POST' }, (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(res).toBe(405);
  });

  it('hands every request to whenMissing while the dashboard is not built', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-web-empty-'));
    let called = 0;
    const handler = createStaticHandler(empty, {
      whenMissing: (_req, res) => {
        called += 1;
        res.end('landing');
      },
    });
    const fake = { method: 'GET', url: '/', headers: {} } as http.IncomingMessage;
    const res = { end: () => undefined } as unknown as http.ServerResponse;
    handler(fake, res);
    expect(called).toBe(1);
    fs.rmSync(empty, { recursive: true, force: true });
  });
});
