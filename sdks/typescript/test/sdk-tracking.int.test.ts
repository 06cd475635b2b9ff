/**
 * CairnClient against a real Cairn API (embedded PostgreSQL, local artifact store): the issue's
 * acceptance (a run with params, 10,000 metric points and a tag read back; a model version
 * registered from an artifact and an alias moved), streamed artifacts both ways, typed errors,
 * retries on 429 with Retry-After (through a real HTTP proxy in front of the API) and the
 * beforeExit flush of a child process.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, randomWorkspaceId } from '@cairn/testing';
import { startApiHarness, type ApiHarness } from '../../../apps/api/test/helpers/api-harness.ts';
import {
  AlreadyExistsError,
  BatchLoggingError,
  CairnClient,
  InvalidArgumentError,
  NotFoundError,
  UnauthenticatedError,
  type CairnClientOptions,
} from '../src/index.ts';

let api: ApiHarness;
let dropDb: () => Promise<void>;
let workspace: string;
let dir: string;

const quiet = { warn: () => undefined, error: () => undefined };
const client = (opts: CairnClientOptions = {}) =>
  new CairnClient({ trackingUri: api.url, workspace, logger: quiet, ...opts });
const uniq = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 7)}`;

beforeAll(async () => {
  const database = await createTestDatabase();
  dropDb = database.drop;
  workspace = randomWorkspaceId();
  api = await startApiHarness({ databaseUrl: database.url, workspaceId: workspace });
  dir = await mkdtemp(path.join(tmpdir(), 'cairn-sdk-ts-'));
});

afterAll(async () => {
  await api?.stop();
  await dropDb?.();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A real HTTP proxy in front of the API; `intercept` may answer a request itself. */
async function startProxy(
  intercept: (req: http.IncomingMessage, res: http.ServerResponse) => boolean,
): Promise<{ url: string; close: () => Promise<void> }> {
  const proxy = http.createServer((req, res) => {
    if (intercept(req, res)) return;
    const headers = { ...req.headers };
    delete headers.authorization; // the harness serves without auth: the proxy terminates it
    headers.host = new URL(api.url).host;
    const upstream = http.request(
      `${api.url}${req.url ?? '/'}`,
      { method: req.method, headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const { port } = proxy.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => proxy.close(() => resolve())),
  };
}

describe('tracking', () => {
  it('logs a run with params, 10,000 metric points and a tag, and reads it back', async () => {
    const c = client();
    const exp = await c.createExperiment(`acc-${uniq()}`);
    expect(await c.getExperimentByName(exp.name)).toMatchObject({ id: exp.id });
    const run = await c.createRun({ experimentId: exp.id, name: 'train', tags: { kind: 'acc' } });
    expect(run).toMatchObject({ experimentId: exp.id, name: 'train', status: 'RUNNING' });
    await c.logParam(run.id, 'lr', '0.01');
    await c.logParam(run.id, 'epochs', 10);
    const t0 = 1_700_000_000_000;
    for (let step = 0; step < 10_000; step++)
      c.logMetric(run.id, 'loss', 1 / (step + 1), { step, timestamp: t0 + step });
    expect(c.batchStats().pending).toBe(10_000); // nothing sent on the caller's line
    await c.setTag(run.id, 'team', 'vision');
    await c.flush();

    const back = await c.getRun(run.id);
    expect(back.params).toEqual({ lr: '0.01', epochs: '10' });
    expect(back.tags).toMatchObject({ kind: 'acc', team: 'vision' });
    expect(back.latestMetrics).toEqual({ loss: 1 / 10_000 });
    expect(back.latestMetricPoints.loss).toEqual({
      value: 1 / 10_000,
      step: 9999,
      timestamp: t0 + 9999,
    });
    const history = await c.getMetricHistory(run.id, 'loss');
    expect(history).toHaveLength(10_000);
    expect(history[0]).toEqual({ step: 0, value: 1, timestamp: t0 });
    expect(history[1234]).toEqual({ step: 1234, value: 1 / 1235, timestamp: t0 + 1234 });
    expect(c.batchStats()).toMatchObject({ sent: 10_000, failed: 0 });

    const ended = await c.endRun(run.id);
    expect(ended.status).toBe('FINISHED');
    expect(ended.endTime).toBeGreaterThan(0);
    await c.close();
  });

  it('searches runs with a filter, an order and pages', async () => {
    const c = client();
    const exp = await c.createExperiment(`search-${uniq()}`);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const run = await c.createRun({ experimentId: exp.id, name: `r${i}` });
      ids.push(run.id);
      c.logMetric(run.id, 'acc', i / 10);
      await c.logParam(run.id, 'parity', i % 2 ? 'odd' : 'even');
    }
    await c.flush();
    const even = await c.searchRuns({
      experimentIds: [exp.id],
      filter: "params.parity = 'even'",
      orderBy: ['metrics.acc DESC'],
    });
    expect(even.runs.map((r) => r.name)).toEqual(['r4', 'r2', 'r0']);
    expect(even.totalCount).toBe(3);
    expect(even.nextPageToken).toBeNull();
    const page1 = await c.searchRuns({
      experimentIds: [exp.id],
      orderBy: ['metrics.acc ASC'],
      maxResults: 2,
    });
    expect(page1.runs.map((r) => r.name)).toEqual(['r0', 'r1']);
    expect(page1.nextPageToken).not.toBeNull();
    const page2 = await c.searchRuns({
      experimentIds: [exp.id],
      orderBy: ['metrics.acc ASC'],
      maxResults: 2,
      pageToken: page1.nextPageToken ?? undefined,
    });
    expect(page2.runs.map((r) => r.name)).toEqual(['r2', 'r3']);
    await expect(
      c.searchRuns({ experimentIds: [exp.id], filter: 'metrics.acc <<< 1' }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('raises typed errors with the server codes; a refused background batch surfaces from flush', async () => {
    const c = client();
    const name = `dup-${uniq()}`;
    const exp = await c.createExperiment(name);
    const dup = await c.createExperiment(name).catch((e: unknown) => e);
    expect(dup).toBeInstanceOf(AlreadyExistsError);
    expect(dup).toMatchObject({ code: 'ALREADY_EXISTS' });
    const missing = await c.getRun('0123456789abcdef0123456789abcdef').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(NotFoundError);
    expect(() => c.logMetric('some-run', '', 1)).toThrow(InvalidArgumentError);
    expect(() => c.logMetric('some-run', 'k', 1, { step: 1.5 })).toThrow(InvalidArgumentError);
    await expect(c.setTag('some-run', '../x', 'v')).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });

    const stranger = client({ apiKey: 'ck_not_a_key_of_this_server' });
    const refused = await stranger.getExperiment(exp.id).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(UnauthenticatedError);
    expect(refused).toMatchObject({ code: 'UNAUTHENTICATED' });

    const run = await c.createRun({ experimentId: exp.id });
    c.logMetric(run.id, 'ok', 1);
    c.logMetric('0123456789abcdef0123456789abcdef', 'lost', 1);
    c.logMetric('0123456789abcdef0123456789abcdef', 'lost', 2);
    const error = await c.flush().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BatchLoggingError);
    expect(error).toMatchObject({ code: 'NOT_FOUND', dropped: 2 });
    await expect(c.flush()).resolves.toBeUndefined(); // reported once
    expect((await c.getRun(run.id)).latestMetrics).toEqual({ ok: 1 });
  });

  it('sends NaN and infinities as the server expects and reads them back', async () => {
    const c = client();
    const exp = await c.createExperiment(`nan-${uniq()}`);
    const run = await c.createRun({ experimentId: exp.id });
    c.logMetric(run.id, 'x', Number.NaN, { step: 0 });
    c.logMetric(run.id, 'x', Number.POSITIVE_INFINITY, { step: 1 });
    c.logMetric(run.id, 'x', Number.NEGATIVE_INFINITY, { step: 2 });
    await c.flush();
    const values = (await c.getMetricHistory(run.id, 'x')).map((p) => p.value);
    expect(values).toEqual([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
  });

  it('flushes queued points on beforeExit when the program never calls flush', async () => {
    const c = client();
    const exp = await c.createExperiment(`exit-${uniq()}`);
    const run = await c.createRun({ experimentId: exp.id });
    const fixture = fileURLToPath(new URL('./fixtures/exit-log-metrics.ts', import.meta.url));
    const tsx = fileURLToPath(new URL('../../../node_modules/tsx/dist/cli.mjs', import.meta.url));
    const started = Date.now();
    const { stdout } = await promisify(execFile)(process.execPath, [tsx, fixture], {
      env: {
        ...process.env,
        CAIRN_TEST_URI: api.url,
        CAIRN_TEST_WORKSPACE: workspace,
        CAIRN_TEST_RUN: run.id,
      },
      timeout: 30_000,
    });
    expect(Date.now() - started).toBeLessThan(20_000); // not held open by the 60 s interval
    expect(stdout.trim()).toBe('2500'); // all still queued when the script's last line ran
    const history = await c.getMetricHistory(run.id, 'exit_loss');
    expect(history).toHaveLength(2500);
    expect(history.at(-1)).toMatchObject({ step: 2499, value: 2499 / 2500 });
  });
  it('does not hang at exit when the server cannot be reached: the loss is logged', async () => {
    const fixture = fileURLToPath(new URL('./fixtures/exit-log-metrics.ts', import.meta.url));
    const tsx = fileURLToPath(new URL('../../../node_modules/tsx/dist/cli.mjs', import.meta.url));
    const started = Date.now();
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [tsx, fixture], {
      env: {
        ...process.env,
        CAIRN_TEST_URI: 'http://127.0.0.1:9',
        CAIRN_TEST_RUN: '0123456789abcdef0123456789abcdef',
      },
      timeout: 30_000,
    });
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(stdout.trim()).toBe('2500');
    expect(stderr).toMatch(/cairn: 2500 metric point\(s\) not sent before the process exited/u);
  });
});

describe('retries and headers', () => {
  it('retries a 429 after its Retry-After and sends the API key and workspace headers', async () => {
    const seen: { auth?: string; workspace?: string }[] = [];
    let refuse = 1;
    const proxy = await startProxy((req, res) => {
      seen.push({
        auth: req.headers.authorization,
        workspace: req.headers['x-cairn-workspace'] as string,
      });
      if (refuse <= 0) return false;
      refuse -= 1;
      req.resume();
      res.writeHead(429, { 'retry-after': '1', 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          errors: [{ message: 'slow down', extensions: { code: 'RESOURCE_EXHAUSTED' } }],
        }),
      );
      return true;
    });
    try {
      const c = new CairnClient({
        trackingUri: proxy.url,
        workspace,
        apiKey: 'ck_test_key',
        logger: quiet,
      });
      const started = Date.now();
      const exp = await c.createExperiment(`retry-${uniq()}`);
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      expect(exp.name).toMatch(/^retry-/u);
      expect(seen).toHaveLength(2);
      expect(seen[0]).toEqual({ auth: 'Bearer ck_test_key', workspace });
      expect(seen[1]).toEqual({ auth: 'Bearer ck_test_key', workspace });
    } finally {
      await proxy.close();
    }
  });

  it('gives up with UNAVAILABLE when the server cannot be reached for the retry window', async () => {
    const c = new CairnClient({
      trackingUri: 'http://127.0.0.1:9',
      retryTimeoutMs: 300,
      backoffInitialMs: 50,
      logger: quiet,
    });
    await expect(c.getRun('abc')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });
});

describe('artifacts and the model registry', () => {
  it('streams artifacts up and down, from a file, bytes and a stream, checked by sha256', async () => {
    const c = client();
    const exp = await c.createExperiment(`art-${uniq()}`);
    const run = await c.createRun({ experimentId: exp.id });
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    const file = path.join(dir, 'weights.bin');
    await writeFile(file, bytes);
    const logged = await c.logArtifact(run.id, 'model/weights.bin', file);
    expect(logged).toMatchObject({ path: 'model/weights.bin', size: bytes.length });
    await c.logArtifact(run.id, 'notes/readme.txt', new TextEncoder().encode('hello'));
    await c.logArtifact(
      run.id,
      'notes/streamed.txt',
      Readable.from([Buffer.from('part one, '), Buffer.from('part two')]),
    );
    expect((await c.listArtifacts(run.id)).map((e) => [e.path, e.isDir])).toEqual([
      ['model', true],
      ['notes', true],
    ]);
    expect(await c.listArtifacts(run.id, 'notes')).toMatchObject([
      { path: 'notes/readme.txt', name: 'readme.txt', isDir: false, size: 5 },
      { path: 'notes/streamed.txt', isDir: false, size: 18 },
    ]);
    const out = await c.downloadArtifact(run.id, 'model/weights.bin', path.join(dir, 'dl/w.bin'));
    expect((await readFile(out)).equals(bytes)).toBe(true);
    const streamed = await c.downloadArtifact(
      run.id,
      'notes/streamed.txt',
      path.join(dir, 'dl/s.txt'),
    );
    expect(await readFile(streamed, 'utf8')).toBe('part one, part two');
    await expect(c.logArtifact(run.id, '../escape', file)).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(
      c.downloadArtifact(run.id, 'model/missing.bin', path.join(dir, 'dl/m.bin')),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('uploads a large file in parts (multipart routes), each part retried on its own', async () => {
    const paths: string[] = [];
    let failPart2 = 1;
    const proxy = await startProxy((req, res) => {
      paths.push(`${req.method} ${(req.url ?? '').replace(/^\/api\/runs\/[^/]+/u, '')}`);
      if (req.method === 'PUT' && /\/parts\/2$/u.test(req.url ?? '') && failPart2 > 0) {
        failPart2 -= 1;
        req.resume();
        res.writeHead(503).end();
        return true;
      }
      return false;
    });
    try {
      const c = client({
        trackingUri: proxy.url,
        multipartThresholdBytes: 1024 * 1024,
        partSizeBytes: 5 * 1024 * 1024,
        backoffInitialMs: 20,
      });
      const exp = await c.createExperiment(`mp-${uniq()}`);
      const run = await c.createRun({ experimentId: exp.id });
      const bytes = randomBytes(11 * 1024 * 1024 + 3);
      const file = path.join(dir, 'big.bin');
      await writeFile(file, bytes);
      const logged = await c.logArtifact(run.id, 'model/big.bin', file);
      expect(logged).toMatchObject({ path: 'model/big.bin', size: bytes.length });
      const uploads = paths.filter((p) => p.includes('artifact-uploads'));
      expect(uploads[0]).toBe('POST /artifact-uploads');
      expect(uploads.slice(1).map((p) => p.replace(/uploads\/[^/]+/u, 'uploads/ID'))).toEqual([
        'PUT /artifact-uploads/ID/parts/1',
        'PUT /artifact-uploads/ID/parts/2', // refused with 503
        'PUT /artifact-uploads/ID/parts/2',
        'PUT /artifact-uploads/ID/parts/3',
        'POST /artifact-uploads/ID/complete',
      ]);
      const out = await c.downloadArtifact(run.id, 'model/big.bin', path.join(dir, 'dl/big.bin'));
      expect((await readFile(out)).equals(bytes)).toBe(true);
    } finally {
      await proxy.close();
    }
  });

  it('registers a model version from a run artifact and moves an alias', async () => {
    const c = client();
    const exp = await c.createExperiment(`reg-${uniq()}`);
    const run = await c.createRun({ experimentId: exp.id, name: 'train' });
    await c.logArtifact(run.id, 'model/MLmodel', new TextEncoder().encode('flavors: {}\n'));
    const name = `model-${uniq()}`;
    const model = await c.createRegisteredModel(name, { description: 'acceptance' });
    expect(model).toMatchObject({ name, description: 'acceptance', aliases: {} });
    const v1 = await c.createModelVersion({ name, source: `runs:/${run.id}/model`, runId: run.id });
    const v2 = await c.createModelVersion({ name, source: `runs:/${run.id}/model`, runId: run.id });
    expect([v1.version, v2.version]).toEqual([1, 2]);
    expect(v1).toMatchObject({ modelName: name, runId: run.id, source: `runs:/${run.id}/model` });

    await c.setModelAlias(name, 'champion', 1);
    expect(await c.resolveModelUri(`models:/${name}@champion`)).toMatchObject({ version: 1 });
    const moved = await c.setModelAlias(name, 'champion', 2);
    expect(moved).toMatchObject({ version: 2, aliases: ['champion'] });
    expect(await c.resolveModelUri(`models:/${name}@champion`)).toMatchObject({
      version: 2,
      runId: run.id,
    });
    expect((await c.getModelVersion(name, 1)).aliases).toEqual([]);
    expect((await c.getRegisteredModel(name)).aliases).toEqual({ champion: 2 });
    expect(await c.resolveModelUri(`models:/${name}/1`)).toMatchObject({ version: 1 });
    await expect(c.resolveModelUri('models:/nope')).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(c.getModelVersion(name, 9)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('creates a prompt version and loads it through the client', async () => {
    const c = client();
    const name = `prompt-${uniq()}`;
    await c.createPromptVersion({ name, template: 'Hi {{who}}', createPromptIfMissing: true });
    const prompt = await c.loadPrompt(name, { cacheTtlMs: 0 });
    expect(prompt.version).toBe(1);
    expect(prompt.format({ who: 'Ada' })).toBe('Hi Ada');
  });
});
