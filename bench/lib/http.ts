import type { ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http from 'node:http';

/** A keep-alive HTTP/1.1 client with as little overhead as possible (the client shares the 2 cores). */
const agent = new http.Agent({ keepAlive: true, maxSockets: 512, maxFreeSockets: 512 });

export interface HttpResponse {
  status: number;
  body: string;
  headers?: http.IncomingHttpHeaders;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    what: string,
  ) {
    super(`${what}: HTTP ${status}: ${body.slice(0, 500)}`);
  }
}

export function request(
  base: URL,
  method: 'GET' | 'POST',
  path: string,
  body?: string,
  headers: Record<string, string> = {},
  timeoutMs = 120_000,
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: base.hostname,
        port: base.port,
        method,
        path,
        headers: {
          ...(body !== undefined
            ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
            : {}),
          ...headers,
        },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            headers: res.headers,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`timeout after ${timeoutMs} ms: ${method} ${path}`)),
    );
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

export async function postJson<T>(
  base: URL,
  path: string,
  payload: unknown,
  what = path,
): Promise<T> {
  const res = await request(base, 'POST', path, JSON.stringify(payload));
  if (res.status !== 200) throw new HttpError(res.status, res.body, what);
  return JSON.parse(res.body) as T;
}

export async function getJson<T>(base: URL, path: string, what = path): Promise<T> {
  const res = await request(base, 'GET', path);
  if (res.status !== 200) throw new HttpError(res.status, res.body, what);
  return JSON.parse(res.body) as T;
}

/** Polls until `check` resolves true (errors count as false). */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Pipes a freshly spawned server's output into `logFile` and waits until `GET healthPath` answers
 * 200; a server that exits or never gets healthy fails with the tail of its log.
 */
export async function startLoggedServer(opts: {
  name: string;
  child: ChildProcess;
  logFile: string;
  base: URL;
  healthPath: string;
  timeoutMs: number;
  intervalMs: number;
}): Promise<void> {
  const log = createWriteStream(opts.logFile, { flags: 'a' });
  opts.child.stdout?.pipe(log);
  opts.child.stderr?.pipe(log);
  let exited = false;
  opts.child.once('exit', () => (exited = true));
  await waitUntil(
    `${opts.name} ${opts.healthPath}`,
    async () => {
      if (exited) throw new Error('exited');
      return (await request(opts.base, 'GET', opts.healthPath)).status === 200;
    },
    opts.timeoutMs,
    opts.intervalMs,
  ).catch(async (error: unknown) => {
    const tail = (await readFile(opts.logFile, 'utf8').catch(() => '')).slice(-3000);
    throw new Error(`${opts.name} did not start (${String(error)}); log tail:\n${tail}`);
  });
}

/** POST of a binary body (OTLP protobuf) on the same keep-alive agent. */
export function postBytes(
  base: URL,
  path: string,
  body: Buffer,
  headers: Record<string, string>,
  timeoutMs = 300_000,
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: base.hostname,
        port: base.port,
        method: 'POST',
        path,
        headers: { 'content-length': body.length, ...headers },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms: POST ${path}`)));
    req.on('error', reject);
    req.end(body);
  });
}
