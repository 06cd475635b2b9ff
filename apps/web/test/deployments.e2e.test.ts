/**
 * Browser test of the deployments pages (issue 16) on a real `cairn server` with Debian's
 * Chromium (playwright-core): a model version deployed from its page (the `kubernetes` target,
 * which renders manifests and starts no process), listed live, metrics recorded over GraphQL
 * (as the serving process reports them) charted live, an alias move seen live in the history,
 * a rollback from the page, the traffic split edited, and a delete. One server for the file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHROMIUM_ARGS,
  chromiumPath,
  ensureWebBuilt,
  gqlAt,
  shotsDir,
  startCairn,
  stopCairn,
  type Cairn,
} from './browser-harness.ts';

let cairn: Cairn;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
const suffix = Math.random().toString(36).slice(2, 8);
const modelName = `dm-${suffix}`;
const deploymentName = `dm-${suffix}-prod`;
const IMAGE_CONFIG = '{"image": "registry.example/churn:1", "replicas": 2}';

const gql = <T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}) =>
  gqlAt<T>(cairn.url, query, variables);

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(shotsDir, `${name}.png`), fullPage: true });
}

const setAlias = (alias: string, version: number) =>
  gql(
    'mutation($name: String!, $alias: String!, $version: Int!) { setModelAlias(name: $name, alias: $alias, version: $version) { version } }',
    { name: modelName, alias, version },
  );

/** One metrics window as the serving process reports it. */
const recordWindow = (
  variants: { variant: string; version: string; requests: number; errors: number; ms: number }[],
  endMs: number,
) =>
  gql(
    'mutation($input: RecordDeploymentMetricsInput!) { recordDeploymentMetrics(input: $input) }',
    {
      input: {
        name: deploymentName,
        windowStart: new Date(endMs - 2000).toISOString(),
        windowEnd: new Date(endMs).toISOString(),
        variants: variants.map((v) => ({
          variant: v.variant,
          version: v.version,
          requests: v.requests,
          errors: v.errors,
          latencyMsSum: v.ms * v.requests,
        })),
      },
    },
  );

beforeAll(async () => {
  fs.mkdirSync(shotsDir, { recursive: true });
  ensureWebBuilt();
  cairn = await startCairn();
  browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS });
  const context = await browser.newContext({
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

  // A model with three versions (sources are runs' artifacts) and @champion on v2.
  const { createExperiment } = await gql<{ createExperiment: { id: string } }>(
    'mutation($name: String!) { createExperiment(name: $name) { id } }',
    { name: `deployments ${suffix}` },
  );
  const { createRun } = await gql<{ createRun: { id: string } }>(
    'mutation($e: String!) { createRun(experimentId: $e, name: "trains churn") { id } }',
    { e: createExperiment.id },
  );
  await gql('mutation($name: String!) { createRegisteredModel(name: $name) { id } }', {
    name: modelName,
  });
  for (let i = 0; i < 3; i++)
    await gql(
      'mutation($name: String!, $source: String!, $runId: String) { createModelVersion(name: $name, source: $source, runId: $runId) { version } }',
      { name: modelName, source: `runs:/${createRun.id}/model`, runId: createRun.id },
    );
  await setAlias('champion', 2);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  if (cairn) await stopCairn(cairn);
});

describe('deployments pages', () => {
  it('deploys a model version from its page: the server’s typed error inline, then the page', async () => {
    await page.goto(`${cairn.url}/models/view?name=${encodeURIComponent(modelName)}&v=2`);
    const panel = page.getByTestId('version-panel');
    await panel.waitFor({ timeout: 20_000 });
    await panel.getByRole('button', { name: 'Deploy v2…' }).click();
    const form = page.getByRole('form', { name: `Deploy ${modelName} v2` });
    await form.getByRole('textbox', { name: 'Deployment name' }).fill(deploymentName);
    await form.getByRole('combobox', { name: 'Target' }).selectOption('kubernetes');
    // Follows @champion (on this version) by default.
    expect(await form.getByRole('radio', { name: 'Follow alias' }).isChecked()).toBe(true);
    expect(await form.getByTestId('deploy-uri').textContent()).toBe(
      `models:/${modelName}@champion`,
    );
    await form.getByRole('checkbox', { name: 'Add a candidate variant' }).check();
    await form
      .getByRole('combobox', { name: 'Candidate serves' })
      .selectOption(`models:/${modelName}/1`);
    await form.getByRole('spinbutton', { name: 'Candidate weight' }).fill('10');

    await shot('59-deploy-form');
    // The kubernetes target needs an image: the server's INVALID_ARGUMENT, inline.
    await form.getByRole('button', { name: 'Deploy', exact: true }).click();
    const alert = form.getByRole('alert');
    await alert.waitFor({ timeout: 15_000 });
    expect(await alert.textContent()).toMatch(/image/u);
    expect(await form.getByTestId('error-code').textContent()).toBe('INVALID_ARGUMENT');
    // A form check before the server: not JSON.
    await form.getByRole('textbox', { name: /^Config/u }).fill('{image');
    await form.getByRole('button', { name: 'Deploy', exact: true }).click();
    await expect.poll(() => alert.textContent(), { timeout: 5_000 }).toMatch(/not valid JSON/u);

    await form.getByRole('textbox', { name: /^Config/u }).fill(IMAGE_CONFIG);
    await form.getByRole('button', { name: 'Deploy', exact: true }).click();
    await page.waitForURL(/\/deployments\/view\?name=/u, { timeout: 15_000 });
    expect(new URL(page.url()).searchParams.get('name')).toBe(deploymentName);
    await page.getByRole('heading', { name: deploymentName }).waitFor({ timeout: 15_000 });
    expect(await page.getByTestId('deployment-target').textContent()).toBe('kubernetes');
    const variants = page.getByRole('table', { name: 'Variants' });
    await expect
      .poll(() => variants.getByTestId('served-primary').textContent(), { timeout: 15_000 })
      .toBe('v2');
    expect(await variants.getByTestId('served-candidate').textContent()).toBe('v1');
    expect(await page.getByTestId('variant-weight-primary').textContent()).toBe('90 %');
    expect(await page.getByTestId('split-bar').getAttribute('aria-label')).toBe(
      'Traffic split: primary 90 % · candidate 10 %',
    );
    expect(await page.getByTestId('deployment-manifests').textContent()).toContain(
      'registry.example/churn:1',
    );
    await shot('60-deployment-created');
  });

  it('lists deployments and shows one created elsewhere without a reload', async () => {
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Deployments' })
      .click();
    await page.waitForURL(/\/deployments$/u);
    const table = page.getByRole('table', { name: 'Deployments' });
    const row = table.locator(`tr[data-deployment="${deploymentName}"]`);
    await row.waitFor({ timeout: 15_000 });
    expect(await row.getByTestId('served-primary').textContent()).toBe('v2');
    expect(await row.getByTestId('weight-candidate').textContent()).toBe('10 %');
    expect(await row.getByTestId('deployment-status').count()).toBe(1);

    const other = `${deploymentName}-b`;
    await gql(
      'mutation($input: CreateDeploymentInput!) { createDeployment(input: $input) { id } }',
      {
        input: {
          name: other,
          target: 'kubernetes',
          modelUri: `models:/${modelName}/3`,
          config: JSON.parse(IMAGE_CONFIG) as unknown,
        },
      },
    );
    const otherRow = table.locator(`tr[data-deployment="${other}"]`);
    await otherRow.waitFor({ timeout: 15_000 });
    expect(await otherRow.getByTestId('served-primary').textContent()).toBe('v3');
    // Name order: the new one sorts after the first.
    expect(
      await table.locator('tbody tr').evaluateAll((rs) => rs.map((r) => r.dataset.deployment)),
    ).toEqual([deploymentName, other]);
    await shot('61-deployments-list');

    // The target filter (in the URL): none on local.
    await page.getByRole('combobox', { name: 'Target' }).selectOption('local');
    await page.getByTestId('deployments-empty').waitFor({ timeout: 15_000 });
    expect(new URL(page.url()).searchParams.get('target')).toBe('local');
    await page.getByRole('combobox', { name: 'Target' }).selectOption('kubernetes');
    await otherRow.waitFor({ timeout: 15_000 });
  });

  it('charts metrics windows recorded over GraphQL as they arrive', async () => {
    await page.goto(`${cairn.url}/deployments/view?name=${encodeURIComponent(deploymentName)}`);
    await page.getByTestId('metrics-empty').waitFor({ timeout: 15_000 });
    const now = Date.now();
    await recordWindow(
      [
        { variant: 'primary', version: '2', requests: 90, errors: 9, ms: 3 },
        { variant: 'candidate', version: '1', requests: 10, errors: 0, ms: 5 },
      ],
      now - 60_000,
    );
    const primary = page.getByTestId('metrics-primary');
    await expect
      .poll(() => primary.getByTestId('counter-requests').textContent(), { timeout: 15_000 })
      .toBe('90');
    expect(await primary.getByTestId('counter-errors').textContent()).toBe('9');
    expect(await primary.getByTestId('counter-error-rate').textContent()).toBe('10.0 %');
    expect(await primary.getByTestId('counter-latency-mean').textContent()).toBe('3.00 ms');
    const candidate = page.getByTestId('metrics-candidate');
    expect(await candidate.getByTestId('counter-requests').textContent()).toBe('10');
    const charts = page.getByTestId('deployment-charts');
    expect(await charts.getAttribute('data-windows')).toBe('1');
    await page.locator('[data-testid="chart-Requests per window"] canvas').waitFor();

    // A window a minute later (the API sums windows into at most 120 points: 30 s over the
    // hour): counters and charts follow without a reload.
    await recordWindow(
      [
        { variant: 'primary', version: '2', requests: 45, errors: 0, ms: 4 },
        { variant: 'candidate', version: '1', requests: 5, errors: 1, ms: 6 },
      ],
      now,
    );
    await expect
      .poll(() => primary.getByTestId('counter-requests').textContent(), { timeout: 15_000 })
      .toBe('135');
    await expect.poll(() => charts.getAttribute('data-windows'), { timeout: 15_000 }).toBe('2');
    expect(await candidate.getByTestId('counter-errors').textContent()).toBe('1');
    await shot('62-deployment-metrics');
  });

  it('shows an alias move live in the history and rolls back from the page', async () => {
    const variants = page.getByRole('table', { name: 'Variants' });
    const history = page.getByRole('table', { name: 'Deployment history, newest first' });
    await setAlias('champion', 3);
    await expect
      .poll(() => variants.getByTestId('served-primary').textContent(), { timeout: 15_000 })
      .toBe('v3');
    await expect
      .poll(() => history.locator('tbody tr').first().getAttribute('data-kind'), {
        timeout: 15_000,
      })
      .toBe('VERSION_CHANGED');
    expect(await history.locator('tbody tr').first().textContent()).toContain('v2 → v3');

    await variants.getByRole('button', { name: 'Roll back primary' }).click();
    const dialog = page.getByRole('dialog', { name: 'Roll back primary?' });
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('goes back to v2');
    await shot('63-rollback-dialog');
    await dialog.getByRole('button', { name: 'Roll back' }).click();
    await expect
      .poll(() => variants.getByTestId('served-primary').textContent(), { timeout: 15_000 })
      .toBe('v2');
    await expect
      .poll(() => history.locator('tbody tr').first().textContent(), { timeout: 15_000 })
      .toContain('v3 → v2');
    // The alias moved back in the registry (one mutation, a registry event too).
    const r = await gql<{ resolveModelUri: { version: number } }>(
      'query($uri: String!) { resolveModelUri(uri: $uri) { version } }',
      { uri: `models:/${modelName}@champion` },
    );
    expect(r.resolveModelUri.version).toBe(2);
  });

  it('edits the traffic split, shows a typed error, and deletes', async () => {
    const split = page.getByRole('form', { name: 'Traffic split' });
    await split.getByRole('spinbutton', { name: 'Weight of primary' }).fill('70');
    expect(await split.getByRole('spinbutton', { name: 'Weight of candidate' }).inputValue()).toBe(
      '30',
    );
    await split.getByRole('button', { name: 'Save split' }).click();
    await expect
      .poll(() => page.getByTestId('variant-weight-candidate').textContent(), { timeout: 15_000 })
      .toBe('30 %');
    const d = await gql<{ deployment: { variants: { name: string; weight: number }[] } }>(
      'query($name: String!) { deployment(name: $name) { variants { name weight } } }',
      { name: deploymentName },
    );
    expect(d.deployment.variants).toEqual([
      { name: 'primary', weight: 70 },
      { name: 'candidate', weight: 30 },
    ]);

    // A fixed-version candidate at its first version: nothing to roll back to, said by the server.
    await page.getByRole('button', { name: 'Roll back candidate' }).click();
    await page
      .getByRole('dialog', { name: 'Roll back candidate?' })
      .getByRole('button', { name: 'Roll back' })
      .click();
    const variantsSection = page.getByRole('region', { name: /^Variants/u });
    await variantsSection.getByTestId('error-code').waitFor({ timeout: 15_000 });
    expect(await variantsSection.getByTestId('error-code').textContent()).toBe(
      'FAILED_PRECONDITION',
    );

    await page.getByRole('button', { name: 'Delete deployment' }).click();
    await page
      .getByRole('dialog', { name: `Delete ${deploymentName}?` })
      .getByRole('button', { name: 'Delete' })
      .click();
    await page.waitForURL(/\/deployments$/u, { timeout: 15_000 });
    const table = page.getByRole('table', { name: 'Deployments' });
    await table.locator(`tr[data-deployment="${deploymentName}-b"]`).waitFor({ timeout: 15_000 });
    expect(await table.locator(`tr[data-deployment="${deploymentName}"]`).count()).toBe(0);
    const gone = await gql<{ deployment: unknown }>(
      'query($name: String!) { deployment(name: $name) { id } }',
      { name: deploymentName },
    );
    expect(gone.deployment).toBeNull();
    expect(pageErrors).toEqual([]);
  });
});
