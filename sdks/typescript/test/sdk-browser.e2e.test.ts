/**
 * @cairn/sdk/browser in a real browser (Debian's Chromium through playwright-core) against a real
 * Cairn API with `auth: required` (embedded PostgreSQL, local artifact store): the page is served
 * by a tiny static server on another origin, listed in the API's CORS origins, and loads
 * dist/cairn-sdk.browser.js (built here by the same esbuild call as `npm run build`) with a plain
 * `<script type="module">`. In the page: a run with params, 1,000 metric points and a tag read
 * back, artifacts uploaded from bytes, a Blob and a ReadableStream and downloaded, a model version
 * registered from them and an alias moved, a prompt loaded, a typed error; then the same state is
 * checked from Node through GraphQL. Points still queued when the page is left arrive through the
 * pagehide keepalive flush. The bundle may not import anything of Node (esbuild's metafile).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, randomWorkspaceId } from '@cairn/testing';
import { createApiKey } from '../../../apps/api/src/auth/access.commands.ts';
import { startApiHarness, type ApiHarness } from '../../../apps/api/test/helpers/api-harness.ts';
import { CHROMIUM_ARGS, chromiumPath } from '../../../apps/web/test/browser-harness.ts';
import { bundleBrowser, nodeImports } from '../scripts/bundle-browser.mjs';
import type * as Sdk from '../src/browser.ts';

let api: ApiHarness;
let dropDb: () => Promise<void>;
let dir: string;
let bundleInputs: string[];
let nodeOnly: { importer: string; path: string }[];
let site: http.Server;
let pageOrigin: string;
let browser: Browser;
let page: Page;
let apiKey: string;
const workspace = randomWorkspaceId();
const uniq = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 7)}`;

const INDEX = `<!doctype html><html><head><meta charset="utf-8"><title>cairn sdk</title></head>
<body><script type="module">
import * as cairn from './cairn-sdk.browser.js';
window.cairn = cairn;
document.title = 'ready';
</script></body></html>`;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'cairn-sdk-browser-'));
  const bundle = path.join(dir, 'cairn-sdk.browser.js');
  const metafile = await bundleBrowser({ outfile: bundle });
  bundleInputs = Object.keys(metafile.inputs);
  nodeOnly = nodeImports(metafile);

  site = http.createServer((req, res) => {
    const name = (req.url ?? '/').split('?', 1)[0];
    if (name === '/' || name === '/index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(INDEX);
      return;
    }
    if (name === '/cairn-sdk.browser.js' || name === '/cairn-sdk.browser.js.map') {
      readFile(path.join(dir, name.slice(1))).then(
        (body) =>
          res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(body),
        () => res.writeHead(404).end(),
      );
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  // localhost: another origin than the API's 127.0.0.1, and a secure context (WebCrypto).
  pageOrigin = `http://localhost:${(site.address() as AddressInfo).port}`;

  const database = await createTestDatabase();
  dropDb = database.drop;
  api = await startApiHarness({
    databaseUrl: database.url,
    auth: { mode: 'required' },
    security: { corsAllowedOrigins: [pageOrigin] },
  });
  apiKey = (
    await createApiKey(
      api.deps,
      {
        workspaceId: workspace,
        metadata: { actor: 'test', correlationId: 'c', causationId: null },
      },
      { name: 'browser sdk', role: 'owner' },
      null,
    )
  ).secret;

  browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS });
  page = await (await browser.newContext()).newPage();
  await page.goto(`${pageOrigin}/`);
  await page.waitForFunction(() => document.title === 'ready');
});

afterAll(async () => {
  await browser?.close();
  await api?.stop();
  await dropDb?.();
  if (site) await new Promise((resolve) => site.close(resolve));
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** GraphQL from Node with the same key (the API refuses calls without one). */
async function gql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch(`${api.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: unknown[] };
  if (body.errors?.length || !body.data) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

const RUN_STATE = `query ($id: String!) { run(id: $id) {
  params { key value } tags { key value }
  metricHistory(key: "loss", maxPoints: 100000) { step value timestamp }
  artifacts(path: "model") { path size sha256 } } }`;

interface RunState {
  run: {
    params: { key: string; value: string }[];
    tags: { key: string; value: string }[];
    metricHistory: { step: number; value: number; timestamp: number }[];
    artifacts: { path: string; size: number; sha256: string }[];
  };
}

describe('@cairn/sdk/browser', () => {
  it('bundles without anything of Node (no node: import, no tracing, no OpenTelemetry)', () => {
    expect(nodeOnly).toEqual([]);
    expect(bundleInputs).toContain('src/client-browser.ts');
    expect(bundleInputs.filter((f) => /tracing|opentelemetry|artifacts\.ts$/u.test(f))).toEqual([]);
  });

  it('logs, uploads, registers and moves an alias from a page; Node reads the same back', async () => {
    const weights = randomBytes(96 * 1024);
    const sha = createHash('sha256').update(weights).digest('hex');
    const names = { experiment: `browser-${uniq()}`, model: `m-${uniq()}`, prompt: `p-${uniq()}` };
    const t0 = 1_700_000_000_000;
    const out = await page.evaluate(
      async ({ trackingUri, apiKey, weights, names, t0 }) => {
        const { cairn } = window as unknown as { cairn: typeof Sdk };
        const c = new cairn.CairnClient({ trackingUri, apiKey, logger: console });
        const exp = await c.createExperiment(names.experiment);
        const run = await c.createRun({ experimentId: exp.id, name: 'in-chromium' });
        await c.logParam(run.id, 'lr', '0.01');
        await c.logParam(run.id, 'layers', 4);
        for (let step = 0; step < 1000; step++)
          c.logMetric(run.id, 'loss', 1 / (step + 1), { step, timestamp: t0 + step });
        const pendingAfterLoop = c.batchStats().pending;
        await c.setTag(run.id, 'where', 'chromium');
        await c.flush();
        const back = await c.getRun(run.id);
        const history = await c.getMetricHistory(run.id, 'loss');

        const bytes = new Uint8Array(weights);
        const logged = await c.logArtifact(run.id, 'model/weights.bin', bytes);
        const config = JSON.stringify({ layers: 4 });
        await c.logArtifact(
          run.id,
          'model/config.json',
          new Blob([config], { type: 'application/json' }),
        );
        await c.logArtifact(run.id, 'model/README.txt', new Blob(['from a stream']).stream());
        const down = await c.downloadArtifactBytes(run.id, 'model/weights.bin');
        const sameBytes = down.length === bytes.length && down.every((b, i) => b === bytes[i]);
        const blob = await c.downloadArtifactBlob(run.id, 'model/README.txt');
        const listing = await c.listArtifacts(run.id, 'model');

        const v1 = await c.createModelVersion({
          name: names.model,
          source: `runs:/${run.id}/model`,
          runId: run.id,
          createModelIfMissing: true,
        });
        const v2 = await c.createModelVersion({
          name: names.model,
          source: `runs:/${run.id}/model`,
          runId: run.id,
        });
        await c.setModelAlias(names.model, 'champion', v1.version);
        const moved = await c.setModelAlias(names.model, 'champion', v2.version);
        const resolved = await c.resolveModelUri(`models:/${names.model}@champion`);

        await c.createPromptVersion({
          name: names.prompt,
          template: 'Hello {{who}}',
          createPromptIfMissing: true,
        });
        const prompt = await c.loadPrompt(`prompts:/${names.prompt}@latest`);

        const missing = await c.getRun('0123456789abcdef0123456789abcdef').then(
          () => null,
          (e: unknown) => ({
            name: (e as Error).name,
            code: (e as { code?: string }).code,
            typed: e instanceof cairn.NotFoundError && e instanceof cairn.CairnError,
          }),
        );
        const badPath = await c.logArtifact(run.id, '../x', bytes).then(
          () => null,
          (e: unknown) => (e as { code?: string }).code,
        );
        await c.close();
        return {
          runId: run.id,
          pendingAfterLoop,
          params: back.params,
          tags: back.tags,
          latest: back.latestMetrics,
          historyLength: history.length,
          logged,
          sameBytes,
          blobText: await blob.text(),
          listing: listing.map((e) => e.path),
          versions: [v1.version, v2.version],
          moved: { version: moved.version, aliases: moved.aliases },
          resolved: resolved.version,
          formatted: prompt.format({ who: 'browser' }),
          missing,
          badPath,
          stats: c.batchStats(),
        };
      },
      { trackingUri: api.url, apiKey, weights: [...weights], names, t0 },
    );

    expect(out.pendingAfterLoop).toBe(1000); // logMetric returned without sending
    expect(out.params).toEqual({ lr: '0.01', layers: '4' });
    expect(out.tags).toMatchObject({ where: 'chromium' });
    expect(out.latest).toEqual({ loss: 1 / 1000 });
    expect(out.historyLength).toBe(1000);
    expect(out.stats).toMatchObject({ sent: 1000, failed: 0, pending: 0 });
    expect(out.logged).toMatchObject({
      path: 'model/weights.bin',
      size: weights.length,
      sha256: sha,
    });
    expect(out.sameBytes).toBe(true);
    expect(out.blobText).toBe('from a stream');
    expect(out.listing).toEqual(['model/README.txt', 'model/config.json', 'model/weights.bin']);
    expect(out.versions).toEqual([1, 2]);
    expect(out.moved).toEqual({ version: 2, aliases: ['champion'] });
    expect(out.resolved).toBe(2);
    expect(out.formatted).toBe('Hello browser');
    expect(out.missing).toEqual({ name: 'NotFoundError', code: 'NOT_FOUND', typed: true });
    expect(out.badPath).toBe('INVALID_ARGUMENT');

    const { run } = await gql<RunState>(RUN_STATE, { id: out.runId });
    expect(Object.fromEntries(run.params.map((p) => [p.key, p.value]))).toEqual({
      lr: '0.01',
      layers: '4',
    });
    expect(run.tags).toContainEqual({ key: 'where', value: 'chromium' });
    expect(run.metricHistory).toHaveLength(1000);
    expect(run.metricHistory[999]).toEqual({ step: 999, value: 1 / 1000, timestamp: t0 + 999 });
    expect(run.artifacts).toContainEqual({
      path: 'model/weights.bin',
      size: weights.length,
      sha256: sha,
    });
    const model = await gql<{
      registeredModel: { aliases: { alias: string; version: number }[] };
    }>(`query ($n: String!) { registeredModel(name: $n) { aliases { alias version } } }`, {
      n: names.model,
    });
    expect(model.registeredModel.aliases).toEqual([{ alias: 'champion', version: 2 }]);
  });

  it('sends the points still queued when the page is left (pagehide, fetch keepalive)', async () => {
    const queued = await page.evaluate(
      async ({ trackingUri, apiKey, name }) => {
        const { cairn } = window as unknown as { cairn: typeof Sdk };
        // Nothing would send them before a minute or 100,000 points.
        const c = new cairn.CairnClient({
          trackingUri,
          apiKey,
          flushIntervalMs: 60_000,
          flushSize: 100_000,
        });
        const exp = await c.createExperiment(name);
        const run = await c.createRun({ experimentId: exp.id });
        for (let step = 0; step < 500; step++) c.logMetric(run.id, 'loss', step / 2, { step });
        return { runId: run.id, pending: c.batchStats().pending };
      },
      { trackingUri: api.url, apiKey, name: `hide-${uniq()}` },
    );
    expect(queued.pending).toBe(500);
    await page.goto('about:blank'); // pagehide: the page and its timers are gone after this

    // The keepalive request outlives the page; nothing in the page is left to await.
    const deadline = Date.now() + 15_000;
    let points = 0;
    while (Date.now() < deadline) {
      const { run } = await gql<RunState>(RUN_STATE, { id: queued.runId });
      points = run.metricHistory.length;
      if (points === 500) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(points).toBe(500);
  });
});
