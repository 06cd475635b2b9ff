/**
 * The webhook POST against real local HTTP servers: status codes as they come (no redirects
 * followed), the deadline, and the resolver guard that refuses link-local / metadata addresses.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guardedLookup, OPEN_HOST_POLICY, postWebhook } from '../src/index.ts';

let server: http.Server;
let base: string;
const seen: { url: string; body: string; headers: http.IncomingHttpHeaders }[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({
        url: req.url ?? '',
        body: Buffer.concat(chunks).toString(),
        headers: req.headers,
      });
      if (req.url === '/redirect') res.writeHead(302, { location: '/target' }).end();
      else if (req.url === '/slow') setTimeout(() => res.writeHead(200).end(), 2000);
      else res.writeHead(req.url === '/teapot' ? 418 : 200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const opts = { timeoutMs: 500, policy: OPEN_HOST_POLICY };

describe('postWebhook', () => {
  it('POSTs the body with the given headers and a content length', async () => {
    const result = await postWebhook(`${base}/ok`, { 'x-cairn-event': 'E' }, '{"a":1}', opts);
    expect(result).toEqual({ statusCode: 200, error: null });
    const last = seen.at(-1)!;
    expect(last).toMatchObject({ url: '/ok', body: '{"a":1}' });
    expect(last.headers['x-cairn-event']).toBe('E');
    expect(last.headers['content-length']).toBe('7');
  });

  it('does not follow redirects and reports other statuses as they are', async () => {
    expect(await postWebhook(`${base}/redirect`, {}, '{}', opts)).toEqual({
      statusCode: 302,
      error: null,
    });
    expect(seen.some((r) => r.url === '/target')).toBe(false);
    expect((await postWebhook(`${base}/teapot`, {}, '{}', opts)).statusCode).toBe(418);
  });

  it('gives up at the deadline and when nobody listens', async () => {
    const t0 = Date.now();
    expect(await postWebhook(`${base}/slow`, {}, '{}', opts)).toEqual({
      statusCode: null,
      error: 'timed out after 500 ms',
    });
    expect(Date.now() - t0).toBeLessThan(1500);
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const refused = await postWebhook(`http://127.0.0.1:${port}/`, {}, '{}', opts);
    expect(refused.statusCode).toBeNull();
    expect(refused.error).toMatch(/ECONNREFUSED/);
  });
});

describe('guardedLookup', () => {
  const lookup = (host: string, allowed: string[] | null, all = false) =>
    new Promise<{ error: NodeJS.ErrnoException | null; address: unknown }>((resolve) => {
      guardedLookup({ allowedHosts: allowed })(host, { all }, (error, address) =>
        resolve({ error, address }),
      );
    });

  it('refuses names that resolve to link-local or metadata addresses', async () => {
    const refused = await lookup('169.254.169.254', null);
    expect(refused.error?.code).toBe('EWEBHOOKREFUSED');
    expect(refused.error?.message).toMatch(/not allowed as a webhook target/);
    expect((await lookup('169.254.169.254', ['169.254.169.254'])).error).toBeNull();
  });

  it('answers like dns.lookup otherwise, single or all', async () => {
    const one = await lookup('127.0.0.1', null);
    expect(one).toEqual({ error: null, address: '127.0.0.1' });
    const all = await lookup('127.0.0.1', null, true);
    expect(all.address).toEqual([{ address: '127.0.0.1', family: 4 }]);
  });
});
