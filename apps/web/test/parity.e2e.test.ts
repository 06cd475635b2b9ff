/**
 * Browser test of issue 19's dashboard parity: on a real `cairn server` with Chromium
 * (playwright-core), an experiment with 3 runs filtered to 2 shows, in the chart view, one curve
 * per filtered run in each metric panel, and a point logged afterwards reaches its curve without
 * a reload (metricsLogged); "Export CSV" downloads a header and one row per filtered run; the
 * compare page draws one parallel-coordinates line per run. Grouped by a param
 * (`groupBy=params.optimizer`), the table shows one row per value with its count and the mean of
 * each metric column (expandable to its runs) and the chart view one mean curve with a min–max
 * band per group, live; the chart view's parallel coordinates draw one line per filtered run.
 * One server, one browser.
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHROMIUM_ARGS,
  chromiumPath,
  ensureWebBuilt,
  gqlAt,
  startCairn,
  stopCairn,
  type Cairn,
} from './browser-harness.ts';

let cairn: Cairn;
let browser: Browser;
let page: Page;
let experimentId = '';
const runIds: string[] = [];

const gql = <T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}) =>
  gqlAt<T>(cairn.url, query, variables);

async function seedRun(name: string, lr: string, optimizer: string, losses: number[]) {
  const { createRun } = await gql<{ createRun: { id: string } }>(
    'mutation($e: String!, $name: String) { createRun(experimentId: $e, name: $name) { id } }',
    { e: experimentId, name },
  );
  await gql(
    `mutation($id: String!, $params: [KeyValueInput!], $metrics: [MetricInput!]) {
      logBatch(runId: $id, params: $params, metrics: $metrics) { id }
    }`,
    {
      id: createRun.id,
      params: [
        { key: 'lr', value: lr },
        { key: 'optimizer', value: optimizer },
      ],
      metrics: losses.flatMap((value, step) => [
        { key: 'loss', value, step, timestamp: Date.now() },
        { key: 'acc', value: 1 - value, step, timestamp: Date.now() },
      ]),
    },
  );
  return createRun.id;
}

beforeAll(async () => {
  ensureWebBuilt();
  cairn = await startCairn();
  const d = await gql<{ createExperiment: { id: string } }>(
    'mutation($name: String!) { createExperiment(name: $name) { id } }',
    { name: 'parity, "quoted"' },
  );
  experimentId = d.createExperiment.id;
  runIds.push(await seedRun('run-a', '0.01', 'adam', [0.9, 0.6, 0.4]));
  runIds.push(await seedRun('run-b', '0.1', 'sgd', [0.8, 0.7, 0.65]));
  runIds.push(await seedRun('run-c', '0.5', 'sgd', [1.2, 1.1, 1.0]));
  browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  page = await context.newPage();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  if (cairn) await stopCairn(cairn);
});

const curves = (key: string) => page.locator(`[data-testid="runs-chart-${key}"] path.run-curve`);

describe('dashboard parity (issue 19)', () => {
  it('chart view: one curve per filtered run per panel, live', async () => {
    const filter = encodeURIComponent("params.lr != '0.5'");
    await page.goto(
      `${cairn.url}/experiment?id=${experimentId}&filter=${filter}&cols=params.lr,params.optimizer,metrics.loss`,
    );
    await page.getByTestId('runs-count').filter({ hasText: '2 runs match' }).waitFor();
    await page.getByRole('button', { name: 'Charts', exact: true }).click();
    expect(new URL(page.url()).searchParams.get('view')).toBe('charts');
    await expect.poll(() => curves('loss').count(), { timeout: 10_000 }).toBe(2);
    expect(await curves('acc').count()).toBe(2);
    const shown = await curves('loss').evaluateAll((ps) =>
      ps.map((p) => p.getAttribute('data-run-id')),
    );
    expect(new Set(shown)).toEqual(new Set([runIds[0], runIds[1]]));
    const runA = page.locator(`[data-testid="runs-chart-loss"] path[data-run-id="${runIds[0]}"]`);
    expect(await runA.getAttribute('data-points')).toBe('3');
    // The curve's colour is the run's swatch colour in the table's order.
    const color = await runA.getAttribute('stroke');
    expect(color).toMatch(/^#[0-9a-f]{6}$/u);

    await gql(
      `mutation($id: String!, $metrics: [MetricInput!]) { logBatch(runId: $id, metrics: $metrics) { id } }`,
      { id: runIds[0], metrics: [{ key: 'loss', value: 0.2, step: 3, timestamp: Date.now() }] },
    );
    await expect.poll(() => runA.getAttribute('data-points'), { timeout: 10_000 }).toBe('4');

    await page.getByRole('button', { name: 'Table', exact: true }).click();
    const swatch = page.locator(`tr[data-run-id="${runIds[0]}"] .swatch`);
    expect(await swatch.getAttribute('data-color')).toBe(color);
  }, 30_000);

  it('CSV export: a header and one row per filtered run, with the chosen columns', async () => {
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export CSV' }).click();
    const file = await download;
    expect(file.suggestedFilename()).toMatch(/-runs\.csv$/u);
    const stream = await file.createReadStream();
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    const lines = Buffer.concat(chunks).toString('utf8').trimEnd().split('\r\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe(
      'run_id,name,status,start_time,end_time,duration_ms,params.lr,params.optimizer,metrics.loss',
    );
    const rows = lines.slice(1).map((l) => l.split(','));
    expect(new Set(rows.map((r) => r[0]))).toEqual(new Set([runIds[0], runIds[1]]));
    const a = rows.find((r) => r[0] === runIds[0])!;
    expect(a.slice(6)).toEqual(['0.01', 'adam', '0.2']);
  }, 20_000);

  it('compare page: parallel coordinates with one line per run', async () => {
    await page.goto(`${cairn.url}/compare?runs=${runIds.join(',')}&experiment=${experimentId}`);
    const lines = page.locator('[data-testid="parallel-coordinates"] path.parallel-line');
    await expect.poll(() => lines.count(), { timeout: 10_000 }).toBe(3);
    const ds = await lines.evaluateAll((ps) => ps.map((p) => p.getAttribute('d') ?? ''));
    // lr, optimizer and the metric: three points per line.
    for (const d of ds) expect(d.match(/[ML]/gu)).toHaveLength(3);
  }, 20_000);

  it('group by a param: group rows with count and means, expandable; one band per group, live', async () => {
    await page.goto(`${cairn.url}/experiment?id=${experimentId}&cols=params.lr,metrics.loss`);
    await page.getByTestId('runs-count').filter({ hasText: '3 runs' }).waitFor();
    await page.getByLabel('Group by').selectOption('params.optimizer');
    await expect
      .poll(() => new URL(page.url()).searchParams.get('groupBy'))
      .toBe('params.optimizer');
    const groupRows = page.locator('tr.group-row');
    await expect.poll(() => groupRows.count(), { timeout: 10_000 }).toBe(2);
    const adam = page.locator('tr.group-row[data-group="adam"]');
    const sgd = page.locator('tr.group-row[data-group="sgd"]');
    expect(await adam.getAttribute('data-count')).toBe('1');
    expect(await sgd.getAttribute('data-count')).toBe('2');
    // Latest losses: run-a 0.2 (logged live above); run-b 0.65 and run-c 1.0 → mean 0.825.
    expect(await adam.locator('td[data-column="metrics.loss"]').textContent()).toBe('0.2');
    expect(await sgd.locator('td[data-column="metrics.loss"]').textContent()).toBe('0.825');
    expect(await sgd.locator('td[data-column="params.lr"]').textContent()).toBe('2 values');
    const sgdColor = await sgd.locator('.swatch').getAttribute('data-color');
    expect(sgdColor).toMatch(/^#[0-9a-f]{6}$/u);
    expect(await page.locator('tr.run-row').count()).toBe(0);
    await page.getByRole('button', { name: 'Show the 2 runs of sgd' }).click();
    const runRows = page.locator('tr.run-row');
    await expect.poll(() => runRows.count()).toBe(2);
    const expandedIds = await runRows.evaluateAll((rs) =>
      rs.map((r) => r.getAttribute('data-run-id')),
    );
    expect(new Set(expandedIds)).toEqual(new Set([runIds[1], runIds[2]]));
    // Keyboard: from the group row, ArrowDown moves to its first run.
    await sgd.focus();
    await page.keyboard.press('ArrowDown');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-run-id'))).toBe(
      expandedIds[0],
    );

    await page.getByRole('button', { name: 'Charts', exact: true }).click();
    const bands = page.locator('[data-testid="runs-chart-loss"] path.group-band');
    await expect.poll(() => bands.count(), { timeout: 10_000 }).toBe(2);
    expect(await page.locator('[data-testid="runs-chart-loss"] path.run-curve').count()).toBe(0);
    const groupsDrawn = await bands.evaluateAll((ps) =>
      ps.map((p) => p.getAttribute('data-group')),
    );
    expect(groupsDrawn.sort()).toEqual(['adam', 'sgd']);
    const sgdCurve = page.locator(
      '[data-testid="runs-chart-loss"] path.group-curve[data-group="sgd"]',
    );
    expect(await sgdCurve.getAttribute('data-points')).toBe('3');
    const sgdBand = page.locator(
      '[data-testid="runs-chart-loss"] path.group-band[data-group="sgd"]',
    );
    // The band is the group's colour of the table.
    expect(await sgdBand.getAttribute('fill')).toBe(sgdColor);
    // A point of run-c at a new step widens the sgd group's curve live.
    await gql(
      `mutation($id: String!, $metrics: [MetricInput!]) { logBatch(runId: $id, metrics: $metrics) { id } }`,
      { id: runIds[2], metrics: [{ key: 'loss', value: 0.9, step: 3, timestamp: Date.now() }] },
    );
    await expect.poll(() => sgdCurve.getAttribute('data-points'), { timeout: 10_000 }).toBe('4');
  }, 30_000);

  it('chart view: parallel coordinates with one line per filtered run', async () => {
    const filter = encodeURIComponent("params.lr != '0.5'");
    await page.goto(`${cairn.url}/experiment?id=${experimentId}&filter=${filter}&view=charts`);
    const lines = page.locator('[data-testid="runs-parallel"] path.parallel-line');
    await expect.poll(() => lines.count(), { timeout: 10_000 }).toBe(2);
    const ids = await lines.evaluateAll((ps) => ps.map((p) => p.getAttribute('data-run-id')));
    expect(new Set(ids)).toEqual(new Set([runIds[0], runIds[1]]));
    await page.getByTestId('runs-parallel').getByLabel('Metric').selectOption('loss');
    await expect.poll(() => new URL(page.url()).searchParams.get('pm')).toBe('loss');
    // lr, optimizer and the metric: three points per line.
    for (const d of await lines.evaluateAll((ps) => ps.map((p) => p.getAttribute('d') ?? '')))
      expect(d.match(/[ML]/gu)).toHaveLength(3);
  }, 20_000);
});
