/**
 * Browser tests of the dashboard: a real `cairn server` (embedded PostgreSQL in a temp home),
 * the static export of apps/web, and Debian's Chromium driven by playwright-core (no browser
 * download). Data is seeded through the GraphQL API, as a user's SDK would.
 *
 * The dashboard is served by `cairn server` itself when its static handler is wired in
 * (apps/cli/src/web-static.ts); until then this file serves apps/web/out from the test process
 * and points the page at the server's API with `?api=` (the "remote API" mode).
 *
 * Screenshots go to test-results/screenshots/, measured figures to
 * test-results/web-perf.json. The 10,000-run and 1,000,000-point tests seed for about a minute
 * each; their bounds are loose (the issue's targets are quoted from the measured figures).
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import {
  chromium,
  type Browser,
  type BrowserContext,
  type Page,
  type Request,
} from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStaticHandler } from '../../cli/src/web-static.ts';
import {
  CHROMIUM_ARGS,
  chromiumPath,
  ensureWebBuilt,
  gqlAt,
  outDir,
  repoRoot,
  shotsDir,
  startCairn,
  stopCairn,
  type Cairn,
} from './browser-harness.ts';

const perfFile = path.join(repoRoot, 'test-results/web-perf.json');

let cairn: Cairn;
let staticServer: http.Server | null = null;
/** Where the browser opens the dashboard. */
let web: string;
/** Appended to the first URL the browser opens (`?api=…` when the dashboard is served apart). */
let firstVisitQuery = '';
let browser: Browser;
let context: BrowserContext;
let page: Page;
const perf: Record<string, unknown> = {};
/** Uncaught errors and CSP violations in the page: none expected. */
const pageErrors: string[] = [];

const gql = <T = Record<string, unknown>>(
  query: string,
  variables: Record<string, unknown> = {},
  workspace?: string,
) => gqlAt<T>(cairn.url, query, variables, workspace);

async function createExperiment(name: string): Promise<string> {
  const d = await gql<{ createExperiment: { id: string } }>(
    'mutation($name: String!) { createExperiment(name: $name) { id } }',
    { name },
  );
  return d.createExperiment.id;
}

interface RunSeed {
  name: string;
  params?: Record<string, string>;
  tags?: Record<string, string>;
  /** Metric key → values at steps 0, 1, 2, … */
  metrics?: Record<string, number[]>;
  parentRunId?: string;
  status?: 'FINISHED' | 'FAILED' | 'KILLED';
  gitCommit?: string;
}

const kv = (o: Record<string, string> = {}) =>
  Object.entries(o).map(([key, value]) => ({ key, value }));

async function seedRun(experimentId: string, seed: RunSeed): Promise<string> {
  const t0 = Date.now() - 60_000;
  const { createRun } = await gql<{ createRun: { id: string } }>(
    `mutation($e: String!, $name: String, $parent: String, $tags: [KeyValueInput!], $source: RunSourceInput) {
      createRun(experimentId: $e, name: $name, parentRunId: $parent, tags: $tags, source: $source, startTime: ${t0}) { id }
    }`,
    {
      e: experimentId,
      name: seed.name,
      parent: seed.parentRunId ?? null,
      tags: kv(seed.tags),
      source: seed.gitCommit ? { gitCommit: seed.gitCommit, entryPoint: 'train.py' } : null,
    },
  );
  const metrics = Object.entries(seed.metrics ?? {}).flatMap(([key, values]) =>
    values.map((value, step) => ({ key, value, step, timestamp: t0 + step * 500 })),
  );
  await gql(
    `mutation($id: String!, $params: [KeyValueInput!], $metrics: [MetricInput!]) {
      logBatch(runId: $id, params: $params, metrics: $metrics) { id }
    }`,
    { id: createRun.id, params: kv(seed.params), metrics },
  );
  if (seed.status) {
    await gql(
      'mutation($id: String!, $status: RunStatus, $end: Timestamp) { updateRun(runId: $id, status: $status, endTime: $end) { id } }',
      { id: createRun.id, status: seed.status, end: t0 + 45_000 },
    );
  }
  return createRun.id;
}

/** Waits until every projection has caught up (bulk writes with sync: false project later). */
async function projectionsIdle(timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const report = (await fetch(`${cairn.url}/readyz`).then((r) => r.json())) as {
      projections?: { events: number }[];
    };
    if ((report.projections ?? []).every((p) => p.events === 0)) return;
    if (Date.now() > deadline)
      throw new Error(`projections still behind: ${JSON.stringify(report)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const curve = (from: number, to: number, n: number) =>
  Array.from({ length: n }, (_, i) => from + ((to - from) * i) / (n - 1) + Math.sin(i) * 0.01);

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(shotsDir, `${name}.png`), fullPage: false });
}

async function open(pathAndQuery: string): Promise<void> {
  const sep = pathAndQuery.includes('?') ? '&' : '?';
  const url = `${web}${pathAndQuery}${firstVisitQuery ? `${sep}${firstVisitQuery}` : ''}`;
  firstVisitQuery = '';
  await page.goto(url);
}

const runRows = () => page.locator('tr.run-row');

beforeAll(async () => {
  fs.mkdirSync(shotsDir, { recursive: true });
  ensureWebBuilt();
  cairn = await startCairn();
  const home = await fetch(`${cairn.url}/`).then((r) => r.text());
  if (home.includes('cairn-dashboard')) {
    web = cairn.url;
  } else {
    // The server does not serve the dashboard yet: serve it here, against the server's API.
    const api = new URL(cairn.url);
    staticServer = http.createServer(
      createStaticHandler(outDir, { connectSrc: [api.origin, `ws://${api.host}`] }),
    );
    await new Promise<void>((resolve) => staticServer!.listen(0, '127.0.0.1', resolve));
    const address = staticServer.address();
    web = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    firstVisitQuery = `api=${encodeURIComponent(`${cairn.url}/graphql`)}`;
  }
  browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS });
  context = await browser.newContext({
    viewport: { width: 1400, height: 900 },
    colorScheme: 'light',
  });
  page = await context.newPage();
  page.on('pageerror', (error) => {
    pageErrors.push(error.message);
    console.error('[page error]', error.message);
  });
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy/iu.test(message.text()))
      pageErrors.push(message.text());
  });
});

afterAll(async () => {
  await browser?.close();
  if (staticServer) await new Promise<void>((resolve) => staticServer!.close(() => resolve()));
  if (cairn) await stopCairn(cairn);
  if (Object.keys(perf).length > 0) {
    fs.mkdirSync(path.dirname(perfFile), { recursive: true });
    fs.writeFileSync(perfFile, `${JSON.stringify(perf, null, 2)}\n`);
    console.log('dashboard figures:', JSON.stringify(perf, null, 2));
  }
});

describe('dashboard', () => {
  const suffix = Math.random().toString(36).slice(2, 8);
  const experimentName = `e2e image classifier ${suffix}`;
  let experimentId = '';
  const runIds: Record<string, string> = {};

  it('lists experiments and opens one (runs table with statuses and nested runs)', async () => {
    experimentId = await createExperiment(experimentName);
    runIds.baseline = await seedRun(experimentId, {
      name: 'baseline',
      params: { lr: '0.1', optimizer: 'sgd', layers: '2' },
      metrics: { loss: curve(1, 0.5, 60), accuracy: curve(0.3, 0.7, 60) },
      status: 'FINISHED',
      gitCommit: '3f2a9c1d5e7b8a9c0d1e2f3a4b5c6d7e8f9a0b1c',
    });
    runIds.adamSmall = await seedRun(experimentId, {
      name: 'adam-small-lr',
      params: { lr: '0.001', optimizer: 'adam', layers: '4' },
      metrics: { loss: curve(0.9, 0.1, 60), accuracy: curve(0.4, 0.93, 60) },
      tags: { team: 'vision' },
    });
    runIds.adamBig = await seedRun(experimentId, {
      name: 'adam-big-lr',
      params: { lr: '0.01', optimizer: 'adam', layers: '4' },
      metrics: { loss: curve(0.9, 0.3, 60), accuracy: curve(0.4, 0.85, 60) },
      status: 'FAILED',
    });
    runIds.parent = await seedRun(experimentId, { name: 'sweep', params: { kind: 'sweep' } });
    await seedRun(experimentId, {
      name: 'trial-1',
      parentRunId: runIds.parent,
      params: { lr: '0.05', optimizer: 'sgd' },
      metrics: { loss: [0.8, 0.7] },
      status: 'FINISHED',
    });
    await seedRun(experimentId, {
      name: '<img src=x onerror="window.__xss=1">',
      parentRunId: runIds.parent,
      params: { lr: '0.02', optimizer: '<b>sgd</b>' },
    });

    await open('/');
    const link = page.getByRole('link', { name: experimentName });
    await link.waitFor();
    await shot('01-experiments');

    await link.click();
    await page.waitForURL(/\/experiment\?id=/u);
    await expect.poll(() => runRows().count(), { timeout: 15_000 }).toBe(6);
    // Children sit right under their parent.
    const names = await page.locator('tr.run-row a.run-link').allTextContents();
    const at = names.indexOf('sweep');
    expect(names.slice(at + 1, at + 3).sort()).toEqual(
      ['<img src=x onerror="window.__xss=1">', 'trial-1'].sort(),
    );
    // User text is text: no element was made of it, no script ran.
    expect(await page.locator('tr.run-row img').count()).toBe(0);
    expect(await page.evaluate('window.__xss')).toBeUndefined();
    await expect
      .poll(() => page.locator('tr.run-row .badge').allTextContents())
      .toEqual(expect.arrayContaining(['finished', 'failed', 'running']));
    await shot('02-experiment-runs');
  });

  it('filters runs with the search grammar, keeps it in the URL, shows syntax errors inline', async () => {
    const filter = page.getByRole('searchbox', { name: 'Filter' });
    await filter.fill("(params.optimizer = 'sgd' OR params.lr = '0.01') AND metrics.loss < 0.6");
    await filter.press('Enter');
    await expect
      .poll(async () => (await page.locator('tr.run-row a.run-link').allTextContents()).sort(), {
        timeout: 15_000,
      })
      .toEqual(['adam-big-lr', 'baseline']);
    expect(new URL(page.url()).searchParams.get('filter')).toContain("params.optimizer = 'sgd'");
    await shot('03-filtered');

    await filter.fill('metrics.loss < ');
    await filter.press('Enter');
    const alert = page.locator('.filter-box [role="alert"]');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/position \d+/u);
    expect(await filter.getAttribute('aria-invalid')).toBe('true');
    await shot('04-filter-error');

    await page.getByRole('button', { name: 'Clear' }).click();
    await expect.poll(() => runRows().count(), { timeout: 15_000 }).toBe(6);
  });

  it('sorts by a metric column through orderBy', async () => {
    const header = page.locator('thead button.sort', { hasText: 'loss' }).first();
    await header.click(); // ascending
    await expect
      .poll(async () => (await page.locator('tr.run-row a.run-link').allTextContents())[0], {
        timeout: 15_000,
      })
      .toBe('adam-small-lr');
    expect(new URL(page.url()).searchParams.get('order')).toBe('metrics.loss ASC');
    await page.getByRole('button', { name: 'Default order' }).click();
  });

  it('shows a new run live, without a reload', async () => {
    await page.evaluate('window.__noReload = 1');
    await seedRun(experimentId, { name: 'live-arrival', params: { lr: '0.3' } });
    await page
      .locator('tr.run-row a.run-link', { hasText: 'live-arrival' })
      .waitFor({ timeout: 15_000 });
    expect(await page.evaluate('window.__noReload')).toBe(1);
  });

  it('opens a run: overview, params, a chart per metric; a newly logged point appears live', async () => {
    await page.locator('tr.run-row a.run-link', { hasText: 'adam-small-lr' }).click();
    await page.waitForURL(/\/run\?id=/u);
    await page.locator('[data-testid="chart-loss"] canvas').first().waitFor({ timeout: 15_000 });
    await page.locator('[data-testid="chart-accuracy"] canvas').first().waitFor();
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toContain('adam-small-lr');
    expect(await page.locator('section[aria-label="Parameters"]').textContent()).toContain('0.001');
    await shot('05-run');

    await page.evaluate('window.__noReload = 2');
    await gql(
      'mutation($id: String!) { logMetric(runId: $id, key: "loss", value: 0.0123, step: 60) { id } }',
      { id: runIds.adamSmall },
    );
    await expect
      .poll(() => page.locator('[data-testid="last-loss"]').textContent(), { timeout: 15_000 })
      .toBe('0.0123');
    expect(await page.evaluate('window.__noReload')).toBe(2);
    await expect
      .poll(() => page.locator('[data-testid="stats-loss"]').textContent())
      .toContain('61 points');
    await shot('06-run-live-point');

    // Smoothing and log scale live in the URL.
    await page.getByRole('checkbox', { name: 'Log scale (y)' }).check();
    await expect.poll(() => new URL(page.url()).searchParams.get('log')).toBe('1');
  });

  it('compares two runs: params side by side with differences, overlaid charts, scatter', async () => {
    await open(`/experiment?id=${encodeURIComponent(experimentId)}`);
    await expect.poll(() => runRows().count(), { timeout: 15_000 }).toBe(7);
    for (const name of ['baseline', 'adam-small-lr']) {
      await page
        .locator('tr.run-row', {
          has: page.locator('a.run-link', { hasText: new RegExp(`^${name}$`, 'u') }),
        })
        .getByRole('checkbox')
        .check();
    }
    expect(new URL(page.url()).searchParams.get('sel')?.split(',').length).toBe(2);
    await page.getByRole('link', { name: 'Compare 2 runs' }).click();
    await page.waitForURL(/\/compare\?runs=/u);
    const table = page.getByRole('table', { name: 'Runs side by side' });
    await table.waitFor();
    const lrRow = table.locator('tr', { has: page.locator('th', { hasText: /^≠ lr$/u }) });
    expect(await lrRow.getAttribute('data-differs')).toBe('true');
    expect(await lrRow.locator('td.diff').count()).toBe(2);
    await page.locator('[data-testid="chart-loss"] canvas').first().waitFor({ timeout: 15_000 });
    await page.locator('.scatter svg circle').first().waitFor();
    expect(await page.locator('.scatter svg circle').count()).toBe(2);
    await shot('07-compare');
  });

  it('is keyboard usable and has a dark theme', async () => {
    await open(`/experiment?id=${encodeURIComponent(experimentId)}`);
    await expect.poll(() => runRows().count(), { timeout: 15_000 }).toBe(7);
    await runRows().first().focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Space');
    await expect.poll(() => page.locator('tr.run-row[data-selected="true"]').count()).toBe(1);
    const focused = await page
      .locator('tr.run-row[data-selected="true"]')
      .getAttribute('data-run-id');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/run\?id=/u);
    expect(new URL(page.url()).searchParams.get('id')).toBe(focused);

    await open(`/run?id=${encodeURIComponent(runIds.adamSmall!)}`);
    const toggle = page.getByRole('button', { name: /^Theme:/u });
    while (!(await toggle.textContent())?.includes('Dark')) await toggle.click();
    expect(await page.evaluate('document.documentElement.dataset.theme')).toBe('dark');
    await page.locator('.chart-box canvas').first().waitFor({ timeout: 15_000 });
    await shot('08-run-dark');
    expect(pageErrors).toEqual([]);
  });

  it('shows experiments created, renamed and deleted elsewhere without a reload', async () => {
    await open('/');
    await page.getByRole('link', { name: experimentName }).waitFor();
    await page.evaluate('window.__noReload = 3');
    const name = `arrives live ${suffix}`;
    const id = await createExperiment(name);
    await page.getByRole('link', { name, exact: true }).waitFor({ timeout: 15_000 });
    await gql(
      'mutation($id: String!, $name: String!) { renameExperiment(id: $id, name: $name) { id } }',
      { id, name: `${name} renamed` },
    );
    await page.getByRole('link', { name: `${name} renamed` }).waitFor({ timeout: 15_000 });
    await gql('mutation($id: String!) { deleteExperiment(id: $id) { id } }', { id });
    await expect
      .poll(() => page.getByRole('link', { name: `${name} renamed` }).count(), {
        timeout: 15_000,
      })
      .toBe(0);
    expect(await page.evaluate('window.__noReload')).toBe(3);
  });

  it('switches workspace from the header; ?ws= and storage keep it; live updates follow it', async () => {
    const workspace = `team-${suffix}`;
    const otherName = `only in ${workspace}`;
    const { createExperiment: other } = await gql<{ createExperiment: { id: string } }>(
      'mutation($name: String!) { createExperiment(name: $name) { id } }',
      { name: otherName },
      workspace,
    );
    await open('/');
    await page.getByRole('link', { name: experimentName }).waitFor();
    const picker = page.getByTestId('workspace-input');
    await picker.fill(workspace);
    await picker.press('Enter');
    await page.waitForURL((url) => url.searchParams.get('ws') === workspace);
    await page.getByRole('link', { name: otherName }).waitFor({ timeout: 15_000 });
    expect(await page.getByRole('link', { name: experimentName }).count()).toBe(0);
    await shot('12-workspace');

    // Links between pages keep the workspace; the runs table's subscription is in it too.
    await page.getByRole('link', { name: otherName }).click();
    await page.waitForURL(/\/experiment\?/u);
    await expect.poll(() => new URL(page.url()).searchParams.get('ws')).toBe(workspace);
    await page.getByText('0 runs').first().waitFor({ timeout: 15_000 });
    await gql(
      'mutation($e: String!) { createRun(experimentId: $e, name: "run in a workspace") { id } }',
      { e: other.id },
      workspace,
    );
    await page
      .locator('tr.run-row a.run-link', { hasText: 'run in a workspace' })
      .waitFor({ timeout: 15_000 });

    // A URL without ?ws= uses the remembered workspace (and shows it in the URL again).
    await page.goto(`${web}/`);
    await page.getByRole('link', { name: otherName }).waitFor({ timeout: 15_000 });
    await expect.poll(() => new URL(page.url()).searchParams.get('ws')).toBe(workspace);

    // Back to the default workspace.
    await page.getByTestId('workspace-input').fill('default');
    await page.getByTestId('workspace-input').press('Enter');
    await page.getByRole('link', { name: experimentName }).waitFor({ timeout: 15_000 });
    expect(new URL(page.url()).searchParams.get('ws')).toBeNull();
    expect(pageErrors).toEqual([]);
  });
});

describe('dashboard at scale', () => {
  it('renders the first screen of a 10,000-run experiment, and scrolls it', async () => {
    const experimentId = await createExperiment(`scale 10k ${Date.now()}`);
    const N = 10_000;
    const perRequest = 25;
    const t0 = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < N) {
        const start = next;
        next += perRequest;
        const count = Math.min(perRequest, N - start);
        const create = Array.from(
          { length: count },
          (_, i) =>
            `r${i}: createRun(experimentId: $e, name: "run-${start + i}", tags: [{ key: "team", value: "t${(start + i) % 5}" }]) { id }`,
        ).join('\n');
        const created = await gql<Record<string, { id: string }>>(
          `mutation($e: String!) { ${create} }`,
          { e: experimentId },
        );
        const log = Object.values(created)
          .map(
            ({ id }, i) =>
              `b${i}: logBatch(runId: "${id}", sync: false, params: [{ key: "lr", value: "${((start + i) % 7) / 100}" }, { key: "layers", value: "${(start + i) % 5}" }], metrics: [{ key: "loss", value: ${((start + i) % 997) / 997}, step: 10 }, { key: "accuracy", value: ${((start + i) % 101) / 101}, step: 10 }]) { id }`,
          )
          .join('\n');
        await gql(`mutation { ${log} }`);
      }
    };
    await Promise.all(Array.from({ length: 24 }, worker));
    await projectionsIdle();
    perf.seed10kRunsSeconds = Math.round((performance.now() - t0) / 100) / 10;

    const started = Date.now();
    await open(
      `/experiment?id=${encodeURIComponent(experimentId)}&cols=params.lr,params.layers,metrics.loss,metrics.accuracy,tags.team`,
    );
    await runRows().first().waitFor({ timeout: 30_000 });
    const firstScreenMs = Date.now() - started;
    perf.firstScreen10kRunsMs = firstScreenMs;
    perf.firstScreenNavigationMs = await page.evaluate('Math.round(performance.now())');
    expect(await page.getByTestId('runs-count').textContent()).toContain(`${N} runs`);
    await shot('09-10k-runs');

    // Scroll the loaded rows, then on through the pages that load as it goes.
    const frames = await page.evaluate<number[]>(`new Promise((resolve) => {
      const el = document.querySelector('[data-testid="runs-scroller"]');
      const deltas = [];
      let last = performance.now();
      let n = 0;
      const step = () => {
        const now = performance.now();
        deltas.push(now - last);
        last = now;
        el.scrollTop += 240;
        if (++n < 300) requestAnimationFrame(step);
        else resolve(deltas.slice(1));
      };
      requestAnimationFrame(step);
    })`);
    const sorted = [...frames].sort((a, b) => a - b);
    const pct = (p: number) => Math.round(sorted[Math.floor((sorted.length - 1) * p)]! * 10) / 10;
    perf.scroll10k = {
      frames: frames.length,
      pixelsPerFrame: 240,
      meanFrameMs: Math.round((frames.reduce((a, b) => a + b, 0) / frames.length) * 10) / 10,
      p50FrameMs: pct(0.5),
      p95FrameMs: pct(0.95),
      maxFrameMs: pct(1),
      framesOver50ms: frames.filter((f) => f > 50).length,
    };
    await shot('10-10k-runs-scrolled');
    // Loose bounds (a shared 2-core machine): the figures are the point, see web-perf.json.
    expect(firstScreenMs).toBeLessThan(3000);
    expect(pct(0.5)).toBeLessThan(50);
  }, 300_000);

  it('renders a 1,000,000-point metric (downsampled by the server)', async () => {
    const experimentId = await createExperiment(`scale 1M ${Date.now()}`);
    const runId = await seedRun(experimentId, { name: 'one-million-points' });
    const t0 = performance.now();
    const total = 1_000_000;
    const batch = 50_000;
    const base = Date.now() - total * 10;
    for (let start = 0; start < total; start += batch) {
      const metrics = Array.from({ length: batch }, (_, i) => {
        const step = start + i;
        return {
          key: 'loss',
          step,
          timestamp: base + step * 10,
          value: 1 / (1 + step / 1000) + Math.sin(step / 50) * 0.01,
        };
      });
      await gql(
        'mutation($id: String!, $m: [MetricInput!], $sync: Boolean) { logBatch(runId: $id, metrics: $m, sync: $sync) { id } }',
        { id: runId, m: metrics, sync: start + batch >= total },
      );
    }
    // sync: false batches are queryable shortly after: wait until the last point is.
    await expect
      .poll(
        async () => {
          const d = await gql<{ run: { latestMetrics: { step: number }[] } }>(
            'query($id: String!) { run(id: $id) { latestMetrics { step } } }',
            { id: runId },
          );
          return d.run.latestMetrics[0]?.step;
        },
        { timeout: 60_000, interval: 250 },
      )
      .toBe(total - 1);
    perf.seed1MPointsSeconds = Math.round((performance.now() - t0) / 100) / 10;
    const q0 = performance.now();
    const history = await gql<{ run: { metricHistory: unknown[] } }>(
      'query($id: String!) { run(id: $id) { metricHistory(key: "loss", maxPoints: 1500) { step } } }',
      { id: runId },
    );
    perf.server1MPointsDownsampleMs = Math.round(performance.now() - q0);
    expect(history.run.metricHistory.length).toBeLessThanOrEqual(1500);

    // The chart asks for about two points per pixel of its plot width.
    let askedMaxPoints = 0;
    let historiesMs = 0;
    const onRequest = (request: Request) => {
      const body = request.postData() ?? '';
      if (!body.includes('MetricHistories')) return;
      const vars = (JSON.parse(body) as { variables?: { maxPoints?: number } }).variables;
      askedMaxPoints = vars?.maxPoints ?? 0;
      const sent = performance.now();
      void request
        .response()
        .then((r) => r?.finished())
        .then(() => {
          historiesMs = Math.round(performance.now() - sent);
        });
    };
    page.on('request', onRequest);
    const started = Date.now();
    await open(`/run?id=${encodeURIComponent(runId)}`);
    await page.locator('[data-testid="chart-loss"] canvas').first().waitFor({ timeout: 60_000 });
    const renderMs = Date.now() - started;
    page.off('request', onRequest);
    perf.chart1MPointsMs = renderMs;
    perf.chart1MPointsHistoriesRequestMs = historiesMs;
    perf.chart1MPointsMaxPoints = askedMaxPoints;
    perf.chart1MPointsShown = await page
      .getByTestId('stats-loss')
      .locator('span')
      .nth(3)
      .textContent();
    await shot('11-1M-points');
    const shown = Number(/^(\d+) points shown$/u.exec(String(perf.chart1MPointsShown))?.[1]);
    expect(askedMaxPoints).toBeGreaterThanOrEqual(200);
    expect(askedMaxPoints).toBeLessThanOrEqual(5000);
    expect(shown).toBeGreaterThan(askedMaxPoints / 2);
    expect(shown).toBeLessThanOrEqual(askedMaxPoints);
    // The issue's target: the downsampled chart of 1M points within a second of opening the page
    // (server rollup + page load + two queries + drawing; measured ~0.3 s).
    perf.chart1MPointsBrowserMs = renderMs - historiesMs;
    expect(renderMs).toBeLessThan(1000);
  }, 300_000);
});
