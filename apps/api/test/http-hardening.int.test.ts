/**
 * Issue 20's browser-borne attacks, cross-site writes, graphql-ws limits and input hygiene,
 * through the real server (startCairnApp, real Postgres): Host and Origin checks on every route
 * and on WebSocket upgrades, CORS, content types on POST /graphql, security headers, graphql-ws
 * frame/connection/operation limits, and NUL / invalid UTF-8 / oversized strings in every string
 * argument of every mutation (enumerated from the schema, so new fields are covered).
 */
import http from 'node:http';
import net from 'node:net';
import { sql } from 'kysely';
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  type GraphQLArgument,
  type GraphQLInputType,
} from 'graphql';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createTestDatabase, randomWorkspaceId } from '@cairn/testing';
import { getSchema } from '../src/graphql/schema.ts';
import { MAX_STORED_STRING } from '../src/input-hygiene.ts';
import { startApiHarness, type ApiHarness, type GqlResponse } from './helpers/api-harness.ts';

let api: ApiHarness;
/** Started with --allowed-hosts, --cors-allowed-origins and small graphql-ws limits. */
let listed: ApiHarness;
let dropDb: () => Promise<void>;
let port: number;

beforeAll(async () => {
  const database = await createTestDatabase();
  dropDb = database.drop;
  api = await startApiHarness({ databaseUrl: database.url });
  listed = await startApiHarness({
    databaseUrl: database.url,
    security: {
      allowedHosts: ['cairn.test'],
      corsAllowedOrigins: ['http://localhost:3000'],
      wsMaxConnections: 2,
      wsMaxOperationsPerConnection: 2,
    },
  });
  port = Number(new URL(api.url).port);
});

afterAll(async () => {
  await listed?.stop();
  await api?.stop();
  await dropDb?.();
});

interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A raw HTTP request (fetch cannot set Host). */
function raw(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: Buffer | string,
): Promise<Raw> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, method, path: url.pathname + url.search, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const code = (r: Raw) => (JSON.parse(r.body) as GqlResponse<unknown>).errors?.[0]?.extensions?.code;

async function eventCount(): Promise<number> {
  const { rows } = await sql<{ n: string }>`SELECT count(*)::text AS n FROM events`.execute(api.db);
  return Number(rows[0]!.n);
}

const QUERY = JSON.stringify({ query: '{ experiments(first: 1) { totalCount } }' });
const MUTATION = 'mutation { createExperiment(name: "csrf-probe") { id } }';

describe('Host header (DNS rebinding)', () => {
  it('a foreign Host gets 403 on every route, with the security headers', async () => {
    for (const [method, path] of [
      ['POST', '/graphql'],
      ['GET', '/graphql?query=%7B__typename%7D'],
      ['GET', '/healthz'],
      ['GET', '/readyz'],
      ['POST', '/v1/traces'],
      ['GET', '/api/runs/0123456789abcdef0123456789abcdef/artifacts/a.txt'],
      ['GET', '/'],
    ] as const) {
      const r = await raw(api.url, method, path, {
        host: `evil.example:${port}`,
        'content-type': 'application/json',
      });
      expect(r.status, path).toBe(403);
      expect(code(r), path).toBe('PERMISSION_DENIED');
      expect(r.headers['access-control-allow-origin'], path).toBeUndefined();
      expect(r.headers['x-content-type-options']).toBe('nosniff');
    }
    expect((await raw(api.url, 'GET', '/healthz', { host: 'evil.example' })).status).toBe(403);
  });

  it('the loopback names and the bound address are served, with the port or without', async () => {
    for (const host of [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      `[::1]:${port}`,
      'localhost',
      '127.0.0.1',
    ]) {
      const r = await raw(api.url, 'GET', '/healthz', { host });
      expect(r.status, host).toBe(200);
    }
    expect((await raw(api.url, 'GET', '/healthz', { host: `localhost:${port + 1}` })).status).toBe(
      403,
    );
  });

  it('--allowed-hosts adds names', async () => {
    expect((await raw(listed.url, 'GET', '/healthz', { host: 'cairn.test' })).status).toBe(200);
    expect((await raw(listed.url, 'GET', '/healthz', { host: 'other.test' })).status).toBe(403);
    expect((await raw(api.url, 'GET', '/healthz', { host: 'cairn.test' })).status).toBe(403);
  });
});

describe('Origin and CORS', () => {
  const evil = { origin: 'http://evil.example', 'content-type': 'application/json' };

  it('a preflight from a foreign origin gets no access-control-allow-origin and no credentials', async () => {
    for (const path of ['/graphql', '/v1/traces']) {
      const r = await raw(api.url, 'OPTIONS', path, {
        origin: 'http://evil.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type, x-cairn-workspace',
      });
      expect(r.status, path).toBe(403);
      expect(r.headers['access-control-allow-origin'], path).toBeUndefined();
      expect(r.headers['access-control-allow-credentials'], path).toBeUndefined();
    }
  });

  it('a request from a foreign origin is refused and runs nothing', async () => {
    const before = await eventCount();
    const r = await raw(api.url, 'POST', '/graphql', evil, JSON.stringify({ query: MUTATION }));
    expect(r.status).toBe(403);
    expect(r.headers['access-control-allow-origin']).toBeUndefined();
    expect(await eventCount()).toBe(before);
    const traces = await raw(api.url, 'POST', '/v1/traces', evil, '{}');
    expect(traces.status).toBe(403);
    const nullOrigin = await raw(api.url, 'POST', '/graphql', { ...evil, origin: 'null' }, QUERY);
    expect(nullOrigin.status).toBe(403);
  });

  it('same origin and no Origin (curl, SDKs) are served; no CORS headers needed', async () => {
    const same = await raw(
      api.url,
      'POST',
      '/graphql',
      { origin: api.url, 'content-type': 'application/json' },
      QUERY,
    );
    expect(same.status).toBe(200);
    expect(JSON.parse(same.body)).toEqual({ data: { experiments: { totalCount: 0 } } });
    const none = await raw(
      api.url,
      'POST',
      '/graphql',
      { 'content-type': 'application/json' },
      QUERY,
    );
    expect(none.status).toBe(200);
    expect(none.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('artifact reads keep * (never with credentials); artifact writes from a foreign origin are refused', async () => {
    const path = '/api/runs/0123456789abcdef0123456789abcdef/artifacts/a.txt';
    const read = await raw(api.url, 'GET', path, { origin: 'http://evil.example' });
    expect(read.status).toBe(404);
    expect(read.headers['access-control-allow-origin']).toBe('*');
    expect(read.headers['access-control-allow-credentials']).toBeUndefined();
    const preflight = await raw(api.url, 'OPTIONS', path, {
      origin: 'http://evil.example',
      'access-control-request-method': 'GET',
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe('*');
    const write = await raw(api.url, 'PUT', path, { origin: 'http://evil.example' }, 'x');
    expect(write.status).toBe(403);
    const writePreflight = await raw(api.url, 'OPTIONS', path, {
      origin: 'http://evil.example',
      'access-control-request-method': 'PUT',
    });
    expect(writePreflight.status).toBe(403);
    expect(writePreflight.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('--cors-allowed-origins: the listed origin gets its preflight and its origin back, without credentials', async () => {
    const origin = 'http://localhost:3000';
    const preflight = await raw(listed.url, 'OPTIONS', '/graphql', {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type, x-cairn-workspace',
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(origin);
    expect(preflight.headers['access-control-allow-headers']).toBe(
      'content-type, x-cairn-workspace',
    );
    expect(preflight.headers['access-control-allow-credentials']).toBeUndefined();
    const post = await raw(
      listed.url,
      'POST',
      '/graphql',
      { origin, 'content-type': 'application/json' },
      QUERY,
    );
    expect(post.status).toBe(200);
    expect(post.headers['access-control-allow-origin']).toBe(origin);
    expect(post.headers.vary).toMatch(/origin/iu);
    // Still refused on the server without the flag.
    expect(
      (
        await raw(
          api.url,
          'POST',
          '/graphql',
          { origin, 'content-type': 'application/json' },
          QUERY,
        )
      ).status,
    ).toBe(403);
  });
});

describe('cross-site writes', () => {
  it('a form POST (urlencoded, multipart, text/plain) executes nothing: 415', async () => {
    const before = await eventCount();
    const bodies: [string, string][] = [
      ['application/x-www-form-urlencoded', `query=${encodeURIComponent(MUTATION)}`],
      [
        'multipart/form-data; boundary=XX',
        `--XX\r\nContent-Disposition: form-data; name="query"\r\n\r\n${MUTATION}\r\n--XX--\r\n`,
      ],
      ['text/plain', JSON.stringify({ query: MUTATION })],
      ['text/plain;charset=UTF-8', JSON.stringify({ query: MUTATION })],
      ['', JSON.stringify({ query: MUTATION })],
    ];
    for (const [type, body] of bodies) {
      // An old browser without Origin on the form POST: the content type alone refuses it.
      const r = await raw(api.url, 'POST', '/graphql', type ? { 'content-type': type } : {}, body);
      expect(r.status, type).toBe(415);
      expect(code(r), type).toBe('UNSUPPORTED_MEDIA_TYPE');
    }
    expect(await eventCount()).toBe(before);
  });

  it('application/json with a charset is accepted; GET never runs a mutation', async () => {
    const ok = await raw(
      api.url,
      'POST',
      '/graphql',
      { 'content-type': 'application/json; charset=utf-8', accept: 'application/json' },
      QUERY,
    );
    expect(ok.status).toBe(200);
    const before = await eventCount();
    const get = await raw(api.url, 'GET', `/graphql?query=${encodeURIComponent(MUTATION)}`, {
      accept: 'application/json',
    });
    expect(get.status).toBe(405);
    expect(get.body).toMatch(/mutation/iu);
    expect(await eventCount()).toBe(before);
  });
});

describe('security headers', () => {
  it('on every response: API, health, errors, refusals', async () => {
    const responses = [
      await raw(api.url, 'POST', '/graphql', { 'content-type': 'application/json' }, QUERY),
      await raw(api.url, 'GET', '/healthz'),
      await raw(api.url, 'GET', '/nowhere'),
      await raw(api.url, 'POST', '/graphql', { 'content-type': 'text/plain' }, QUERY),
      await raw(api.url, 'GET', '/healthz', { host: 'evil.example' }),
    ];
    for (const r of responses) {
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['referrer-policy']).toBe('no-referrer');
      expect(r.headers['x-frame-options']).toBe('DENY');
    }
  });
});

describe('Upgrade offers other than WebSocket', () => {
  const H2C = {
    upgrade: 'h2c',
    connection: 'Upgrade, HTTP2-Settings',
    'http2-settings': 'AAMAAABkAARAAAAAAAIAAAAA',
  };

  it('an h2c offer (Java HttpClient, curl --http2) is ignored: answered over HTTP/1.1', async () => {
    const r = await raw(
      api.url,
      'POST',
      '/graphql',
      { ...H2C, 'content-type': 'application/json' },
      QUERY,
    );
    expect(r.status).toBe(200);
    const answer = JSON.parse(r.body) as GqlResponse<{ experiments: { totalCount: number } }>;
    expect(answer.errors).toBeUndefined();
    expect(typeof answer.data?.experiments.totalCount).toBe('number');
    const health = await raw(api.url, 'GET', '/healthz', H2C);
    expect(health.status).toBe(200);
    // The checks still apply to a replayed request.
    expect((await raw(api.url, 'GET', '/healthz', { ...H2C, host: 'evil.example' })).status).toBe(
      403,
    );
  });

  it('the connection keeps serving after it; a body sent after the headers is read whole', async () => {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    let received = '';
    socket.on('data', (c: Buffer) => (received += c.toString('latin1')));
    const body = Buffer.from(QUERY);
    socket.write(
      `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: h2c\r\n` +
        'Connection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n' +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    await new Promise((r) => setTimeout(r, 50));
    socket.write(body);
    await expect.poll(() => received, { timeout: 5000 }).toMatch(/"totalCount":\d+\}\}\}/u);
    socket.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    await expect.poll(() => received.match(/HTTP\/1\.1 200/gu)?.length, { timeout: 5000 }).toBe(2);
    expect(received).not.toMatch(/101 Switching/u);
    socket.destroy();
  });

  it('a WebSocket upgrade anywhere but /graphql is still refused', async () => {
    const r = await raw(api.url, 'GET', '/healthz', {
      upgrade: 'websocket',
      connection: 'Upgrade',
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      'sec-websocket-version': '13',
    }).catch((error: unknown) => ({ status: -1, error }));
    expect(r.status === 400 || r.status === -1).toBe(true);
  });
});

describe('graphql-ws', () => {
  const wsUrl = (base: string) => `${base.replace(/^http/u, 'ws')}/graphql`;

  /** The HTTP status an upgrade is refused with, or 101. */
  function upgradeStatus(base: string, headers: Record<string, string>): Promise<number> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(wsUrl(base), 'graphql-transport-ws', { headers });
      socket.once('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        socket.terminate();
      });
      socket.once('open', () => {
        resolve(101);
        socket.close();
      });
      socket.once('error', (error) => {
        if (!/Unexpected server response/u.test(error.message)) reject(error);
      });
    });
  }

  it('upgrades check Origin and Host as HTTP does', async () => {
    expect(await upgradeStatus(api.url, { origin: 'http://evil.example' })).toBe(403);
    expect(await upgradeStatus(api.url, { host: 'evil.example' })).toBe(403);
    expect(await upgradeStatus(api.url, { origin: api.url })).toBe(101);
    expect(await upgradeStatus(api.url, {})).toBe(101);
    expect(await upgradeStatus(listed.url, { origin: 'http://localhost:3000' })).toBe(101);
  });

  it('a 20 MB frame is refused at once while HTTP keeps answering in milliseconds', async () => {
    const socket = new WebSocket(wsUrl(api.url), 'graphql-transport-ws');
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    socket.send(JSON.stringify({ type: 'connection_init', payload: {} }));
    await new Promise<void>((resolve) => socket.once('message', () => resolve()));
    const closed = new Promise<{ code: number; ms: number }>((resolve) => {
      const start = performance.now();
      socket.once('close', (closeCode) =>
        resolve({ code: closeCode, ms: performance.now() - start }),
      );
    });
    socket.on('error', () => undefined);
    const query = `{ experiments(first: 1) { totalCount } } # ${'x'.repeat(20 * 1024 * 1024)}`;
    socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query } }));
    const httpStart = performance.now();
    const answers = await Promise.all(
      Array.from({ length: 5 }, () =>
        raw(api.url, 'POST', '/graphql', { 'content-type': 'application/json' }, QUERY),
      ),
    );
    const httpMs = performance.now() - httpStart;
    const result = await closed;
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    expect(result.code).toBe(1009); // message too big
    expect(result.ms).toBeLessThan(3000);
    expect(httpMs).toBeLessThan(1000);
  });

  it('the query-text, depth and alias limits apply to WebSocket operations', async () => {
    const client = createClient({
      url: wsUrl(api.url),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
    });
    const run = (query: string) =>
      new Promise<unknown>((resolve) => {
        client.subscribe({ query }, { next: resolve, error: resolve, complete: () => undefined });
      });
    try {
      const long = (await run(
        `{ experiments(first: 1) { totalCount } } # ${'x'.repeat(60_000)}`,
      )) as { message?: string; extensions?: { code?: string } }[];
      expect(long[0]?.extensions?.code).toBe('INVALID_ARGUMENT');
      expect(long[0]?.message).toMatch(/longer than 50000 characters/u);
      const aliases = Array.from({ length: 31 }, (_, i) => `a${i}: __typename`).join(' ');
      const many = (await run(`{ ${aliases} }`)) as { message?: string }[];
      expect(many[0]?.message).toMatch(/more than 30 aliases/u);
      const ok = (await run('{ experiments(first: 1) { totalCount } }')) as {
        data?: unknown;
      };
      expect(ok.data).toEqual({ experiments: { totalCount: 0 } });
    } finally {
      await client.dispose();
    }
  });

  it('caps operations per connection and connections per process', async () => {
    const workspace = randomWorkspaceId();
    const client = createClient({
      url: wsUrl(listed.url),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { 'x-cairn-workspace': workspace },
      lazy: false,
    });
    const experiment = (
      await listed.gql<{ createExperiment: { id: string } }>(
        'mutation { createExperiment(name: "ws-cap") { id } }',
        {},
        { 'x-cairn-workspace': workspace },
      )
    ).data!.createExperiment.id;
    const results: unknown[] = [];
    const subscribe = () =>
      client.subscribe(
        { query: `subscription { runsChanged(experimentId: "${experiment}") { __typename } }` },
        { next: (v) => results.push(v), error: (e) => results.push(e), complete: () => undefined },
      );
    const unsubscribers = [subscribe(), subscribe(), subscribe()];
    try {
      await expect.poll(() => results.length, { timeout: 5000 }).toBeGreaterThanOrEqual(1);
      const refused = results[0] as { message?: string; extensions?: { code?: string } }[];
      expect(refused[0]?.extensions?.code).toBe('RESOURCE_EXHAUSTED');
      // Two open: a third connection (the cap is 2) is refused at upgrade.
      const second = new WebSocket(wsUrl(listed.url), 'graphql-transport-ws');
      await new Promise<void>((resolve) => second.once('open', () => resolve()));
      expect(await upgradeStatus(listed.url, {})).toBe(503);
      second.close();
    } finally {
      for (const unsubscribe of unsubscribers) unsubscribe();
      await client.dispose();
    }
  });

  it('binary frames are refused (close 1003), the server keeps serving', async () => {
    const socket = new WebSocket(wsUrl(api.url), 'graphql-transport-ws');
    await new Promise<void>((resolve) => socket.once('open', () => resolve()));
    const closed = new Promise<number>((resolve) => socket.once('close', (c) => resolve(c)));
    socket.send(Buffer.from([0x7b, 0xff, 0x7d]), { binary: true });
    expect(await closed).toBe(1003);
  });
});

// ---------------------------------------------------------------------------------------------
// Input hygiene: every string argument of every mutation, from the schema.

interface Target {
  mutation: string;
  /** Path of the string leaf, as the error names it (`tags[0].value`). */
  path: string;
}

const SCALAR_SAMPLES: Record<string, unknown> = {
  Int: 1,
  Float: 1,
  Boolean: false,
  Timestamp: 0,
  DateTime: '2026-01-01T00:00:00Z',
  Long: 0,
  MetricValue: 0,
};

function isStringLike(type: GraphQLInputType): boolean {
  const named = getNamedType(type);
  return isScalarType(named) && (named.name === 'String' || named.name === 'ID');
}

/** Every string leaf under an argument type (input objects expanded, lists as one element). */
function stringPaths(type: GraphQLInputType, path: string, depth = 0): string[] {
  if (isNonNullType(type)) return stringPaths(type.ofType, path, depth);
  if (isListType(type)) return stringPaths(type.ofType, `${path}[0]`, depth);
  if (isStringLike(type)) return [path];
  if (isInputObjectType(type) && depth < 4)
    return Object.values(type.getFields()).flatMap((f) =>
      stringPaths(f.type, `${path}.${f.name}`, depth + 1),
    );
  return [];
}

/** A value of `type`, with `bad` at `target` (relative path) and required fields filled. */
function sample(type: GraphQLInputType, target: string | null, bad: string): unknown {
  if (isNonNullType(type)) return sample(type.ofType, target, bad);
  if (isListType(type)) {
    const inner = target?.startsWith('[0]') ? target.slice(3) : null;
    return [sample(type.ofType, inner, bad)];
  }
  if (isStringLike(type)) return target === '' ? bad : 'x';
  const named = getNamedType(type);
  if (isEnumType(named)) return named.getValues()[0]!.value;
  if (isScalarType(named)) return SCALAR_SAMPLES[named.name] ?? 'x';
  if (isInputObjectType(named)) {
    const value: Record<string, unknown> = {};
    for (const field of Object.values(named.getFields())) {
      const sub = target?.startsWith(`.${field.name}`) ? target.slice(field.name.length + 1) : null;
      const onPath = sub !== null && (sub === '' || sub.startsWith('.') || sub.startsWith('['));
      if (onPath) value[field.name] = sample(field.type, sub, bad);
      else if (isNonNullType(field.type) && field.defaultValue === undefined)
        value[field.name] = sample(field.type, null, bad);
    }
    return value;
  }
  return null;
}

function mutationTargets(): { targets: Target[]; args: Map<string, readonly GraphQLArgument[]> } {
  const mutation = getSchema().getMutationType()!;
  const targets: Target[] = [];
  const args = new Map<string, readonly GraphQLArgument[]>();
  for (const field of Object.values(mutation.getFields())) {
    args.set(field.name, field.args);
    for (const arg of field.args)
      for (const path of stringPaths(arg.type, arg.name))
        targets.push({ mutation: field.name, path });
  }
  return { targets, args };
}

function operation(
  name: string,
  args: readonly GraphQLArgument[],
  targetPath: string,
  bad: string,
): { query: string; variables: Record<string, unknown> } {
  const mutation = getSchema().getMutationType()!;
  const field = mutation.getFields()[name]!;
  const named = getNamedType(field.type);
  const selection = isScalarType(named) || isEnumType(named) ? '' : ' { __typename }';
  const variables: Record<string, unknown> = {};
  const used = args.filter(
    (a) =>
      targetPath === a.name ||
      targetPath.startsWith(`${a.name}.`) ||
      targetPath.startsWith(`${a.name}[`) ||
      (isNonNullType(a.type) && a.defaultValue === undefined),
  );
  for (const a of used) {
    const sub = targetPath.startsWith(a.name) ? targetPath.slice(a.name.length) : null;
    variables[a.name] = sample(a.type, sub, bad);
  }
  const defs = used.map((a) => `$${a.name}: ${a.type.toString()}`).join(', ');
  const call = used.map((a) => `${a.name}: $${a.name}`).join(', ');
  return {
    query: `mutation${defs ? `(${defs})` : ''} { ${name}${call ? `(${call})` : ''}${selection} }`,
    variables,
  };
}

describe('input hygiene: every string argument of every mutation', () => {
  const { targets, args } = mutationTargets();

  it('covers the schema (every mutation with a string argument is enumerated)', () => {
    const mutations = new Set(targets.map((t) => t.mutation));
    for (const name of [
      'createExperiment',
      'createRun',
      'logBatch',
      'createModelVersion',
      'createWebhook',
    ])
      expect(mutations.has(name), name).toBe(true);
    expect(targets.map((t) => `${t.mutation}:${t.path}`)).toEqual(
      expect.arrayContaining([
        'createExperiment:artifactLocation',
        'createExperiment:tags[0].value',
        'createRun:source.gitCommit',
        'logBatch:params[0].value',
        'logBatch:metrics[0].key',
        'createModelVersion:source',
        'updateRegisteredModel:description',
        'createWebhook:url',
      ]),
    );
    expect(targets.length).toBeGreaterThan(50);
  });

  it('NUL, a lone surrogate and an oversized string get INVALID_ARGUMENT naming the field; nothing is appended', async () => {
    const before = await eventCount();
    const cases: [string, string][] = [
      ['nul', 'a\u0000b'],
      ['lone surrogate', 'a\ud800b'],
      ['oversized', 'x'.repeat(MAX_STORED_STRING + 1)],
    ];
    const failures: string[] = [];
    for (const target of targets) {
      for (const [label, bad] of cases) {
        const { query, variables } = operation(
          target.mutation,
          args.get(target.mutation)!,
          target.path,
          bad,
        );
        const response = await api.gql(query, variables);
        const error = response.errors?.[0];
        if (
          error?.extensions?.code !== 'INVALID_ARGUMENT' ||
          error.extensions.field !== target.path
        )
          failures.push(
            `${target.mutation} ${target.path} ${label}: ${JSON.stringify(response).slice(0, 200)}`,
          );
      }
    }
    expect(failures).toEqual([]);
    expect(await eventCount()).toBe(before);
  });

  it('invalid UTF-8 in any of them is refused before parsing (400 INVALID_ARGUMENT); nothing is appended', async () => {
    const before = await eventCount();
    const failures: string[] = [];
    for (const target of targets) {
      const { query, variables } = operation(
        target.mutation,
        args.get(target.mutation)!,
        target.path,
        'a@@BAD@@b',
      );
      const text = JSON.stringify({ query, variables });
      const [head, tail] = text.split('@@BAD@@') as [string, string];
      const body = Buffer.concat([
        Buffer.from(head),
        Buffer.from([0xff, 0xc3, 0x28]),
        Buffer.from(tail),
      ]);
      const r = await raw(
        api.url,
        'POST',
        '/graphql',
        { 'content-type': 'application/json' },
        body,
      );
      if (r.status !== 400 || code(r) !== 'INVALID_ARGUMENT')
        failures.push(`${target.mutation} ${target.path}: ${r.status} ${r.body.slice(0, 200)}`);
    }
    expect(failures).toEqual([]);
    expect(await eventCount()).toBe(before);
  });
});

describe('input hygiene: field limits, filters and model sources', () => {
  const workspace = randomWorkspaceId();
  const gql = <T>(query: string, variables: Record<string, unknown> = {}) =>
    api.gql<T>(query, variables, { 'x-cairn-workspace': workspace });
  const fieldOf = (r: GqlResponse<unknown>) => r.errors?.[0]?.extensions?.field;
  let experimentId = '';
  let runId = '';

  beforeAll(async () => {
    const e = await gql<{ createExperiment: { id: string } }>(
      'mutation { createExperiment(name: "limits") { id } }',
    );
    experimentId = e.data!.createExperiment.id;
    const r = await gql<{ createRun: { id: string } }>(
      'mutation($e: String!) { createRun(experimentId: $e) { id } }',
      { e: experimentId },
    );
    runId = r.data!.createRun.id;
  });

  it('documented limits per field, typed errors, nothing stored', async () => {
    const before = await eventCount();
    const long = (n: number) => 'x'.repeat(n);
    const checks: [string, Record<string, unknown>, string][] = [
      [
        'mutation($v: String) { createExperiment(name: "al", artifactLocation: $v) { id } }',
        { v: long(4097) },
        'artifactLocation',
      ],
      [
        'mutation($e: String!, $v: String) { createRun(experimentId: $e, source: { gitCommit: $v }) { id } }',
        { e: experimentId, v: long(4097) },
        'source.gitCommit',
      ],
      [
        'mutation($e: String!, $v: String) { createRun(experimentId: $e, source: { entryPoint: $v }) { id } }',
        { e: experimentId, v: long(4097) },
        'source.entryPoint',
      ],
      [
        'mutation($v: String!) { createWebhook(url: $v, events: [MODEL_VERSION_CREATED]) { webhook { id } } }',
        { v: `https://example.com/${long(2048)}` },
        'url',
      ],
      [
        'mutation($v: String) { createRegisteredModel(name: "m-limits", description: $v) { id } }',
        { v: long(10_001) },
        'description',
      ],
    ];
    for (const [query, variables, field] of checks) {
      const r = await gql(query, variables);
      expect(r.errors?.[0]?.extensions?.code, field).toBe('INVALID_ARGUMENT');
      expect(fieldOf(r), field).toBe(field);
    }
    const param = await gql(
      'mutation($r: String!, $v: String!) { logParam(runId: $r, key: "p", value: $v) { id } }',
      { r: runId, v: long(6001) },
    );
    expect(param.errors?.[0]?.extensions?.code).toBe('INVALID_ARGUMENT');
    const tag = await gql(
      'mutation($r: String!, $v: String!) { setTag(runId: $r, key: "t", value: $v) { id } }',
      { r: runId, v: long(8001) },
    );
    expect(tag.errors?.[0]?.extensions?.code).toBe('INVALID_ARGUMENT');
    expect(await eventCount()).toBe(before);
    // At the limit: stored.
    const atLimit = await gql<{ createExperiment: { artifactLocation: string } }>(
      'mutation($v: String) { createExperiment(name: "al-ok", artifactLocation: $v) { artifactLocation } }',
      { v: `s3://bucket/${long(4096 - 12)}` },
    );
    expect(atLimit.errors).toBeUndefined();
    expect(atLimit.data!.createExperiment.artifactLocation).toHaveLength(4096);
  });

  it('numbers in registry and run filters are range-checked (INVALID_ARGUMENT, not INTERNAL)', async () => {
    for (const filter of ['version > 2147483648', 'version = 1.5', 'created_at > 1e300']) {
      const r = await gql(`query($f: String) { modelVersions(filter: $f) { totalCount } }`, {
        f: filter,
      });
      expect(r.errors?.[0]?.extensions?.code, filter).toBe('INVALID_ARGUMENT');
    }
    const okVersion = await gql<{ modelVersions: { totalCount: number } }>(
      'query { modelVersions(filter: "version > 2147483647") { totalCount } }',
    );
    expect(okVersion.data).toEqual({ modelVersions: { totalCount: 0 } });
    for (const filter of ['attributes.start_time > 1e30', 'attributes.end_time < 0.5']) {
      const r = await gql(
        'query($e: [String!]!, $f: String) { runs(experimentIds: $e, filter: $f) { totalCount } }',
        { e: [experimentId], f: filter },
      );
      expect(r.errors?.[0]?.extensions?.code, filter).toBe('INVALID_ARGUMENT');
    }
  });

  it('a runs:/<id>/../../etc/passwd model source is refused like an artifact path', async () => {
    const before = await eventCount();
    for (const source of [
      `runs:/${runId}/../../etc/passwd`,
      `runs:/${runId}/model/../../../x`,
      `runs:/${runId}/%2e%2e/secret`,
    ]) {
      const r = await gql(
        'mutation($s: String!) { createModelVersion(name: "traversal", source: $s, createModelIfMissing: true) { version } }',
        { s: source },
      );
      expect(r.errors?.[0]?.extensions?.code, source).toBe('INVALID_ARGUMENT');
      expect(fieldOf(r), source).toBe('source');
    }
    expect(await eventCount()).toBe(before);
  });
});
