/**
 * Browser test of time travel and live lineage (issue 17) on a real `cairn server` with Debian's
 * Chromium (playwright-core). The model page's time slider shows an alias where it was at an
 * earlier change (banner, `?asOf=` in the URL, writes disabled, live updates paused) and where it
 * is now; the /lineage page of a model version shows its run and dataset, gains a deployment node
 * live without a periodic re-fetch, walks to the run by a click and gains a new version live.
 * One server for the file.
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
const modelName = `churn-${suffix}`;
const datasetName = `customers-${suffix}`;
const promptName = `greeting-${suffix}`;
let runId = '';

const gql = <T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}) =>
  gqlAt<T>(cairn.url, query, variables);

const setAlias = (alias: string, version: number) =>
  gql(
    'mutation($n: String!, $a: String!, $v: Int!) { setModelAlias(name: $n, alias: $a, version: $v) { id } }',
    {
      n: modelName,
      a: alias,
      v: version,
    },
  );
const createVersion = () =>
  gql(
    'mutation($n: String!, $s: String!, $r: String) { createModelVersion(name: $n, source: $s, runId: $r) { version } }',
    { n: modelName, s: `runs:/${runId}/model`, r: runId },
  );

beforeAll(async () => {
  fs.mkdirSync(shotsDir, { recursive: true });
  ensureWebBuilt();
  cairn = await startCairn();
  browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  page = await context.newPage();
  page.on('pageerror', (error) => pageErrors.push(error.message));
  const { createExperiment } = await gql<{ createExperiment: { id: string } }>(
    'mutation($name: String!) { createExperiment(name: $name) { id } }',
    { name: `governance ${suffix}` },
  );
  const { createRun } = await gql<{ createRun: { id: string } }>(
    'mutation($e: String!) { createRun(experimentId: $e, name: "trainer") { id } }',
    { e: createExperiment.id },
  );
  runId = createRun.id;
  await gql(
    'mutation($r: String!, $d: [DatasetInputInput!]!) { logRunInputs(runId: $r, datasets: $d) { id } }',
    {
      r: runId,
      d: [
        {
          name: datasetName,
          digest: 'abc123',
          source: 's3://bucket/customers.csv',
          sourceType: 's3',
          context: 'training',
        },
      ],
    },
  );
  await gql('mutation($n: String!) { createRegisteredModel(name: $n) { id } }', { n: modelName });
  await createVersion();
  await createVersion();
  // History: created, v1, v2, @champion → v1, @champion → v2 (now).
  await setAlias('champion', 1);
  await setAlias('champion', 2);
  // A prompt: v1, v2, @production → v1, @production → v2 (now).
  for (const template of ['Hello {{name}}', 'Hi {{name}}!'])
    await gql(
      'mutation($n: String!, $t: String!) { createPromptVersion(name: $n, template: $t, createPromptIfMissing: true) { version } }',
      { n: promptName, t: template },
    );
  for (const version of [1, 2])
    await gql(
      'mutation($n: String!, $v: Int!) { setPromptAlias(name: $n, alias: "production", version: $v) { version } }',
      { n: promptName, v: version },
    );
}, 240_000);

afterAll(async () => {
  await browser?.close();
  if (cairn) await stopCairn(cairn);
});

/** POSTs to /graphql the page sends (subscriptions travel on the WebSocket, not here). */
function countGraphqlPosts(p: Page): { count: () => number; stop: () => void } {
  let n = 0;
  const onRequest = (request: { url(): string; method(): string }) => {
    if (request.method() === 'POST' && new URL(request.url()).pathname === '/graphql') n += 1;
  };
  p.on('request', onRequest);
  return { count: () => n, stop: () => p.off('request', onRequest) };
}

describe('time travel and live lineage', () => {
  it('shows an alias where it was at an earlier change and where it is now', async () => {
    await page.goto(`${cairn.url}/models/view?name=${encodeURIComponent(modelName)}`);
    const champion = page.getByTestId('alias-champion-version');
    await expect.poll(() => champion.textContent(), { timeout: 15_000 }).toBe('v2');
    const banner = page.getByTestId('as-of-banner');
    expect(await banner.count()).toBe(0);

    // The slider: each ← steps back one history entry (newest first: @champion → v2, → v1).
    const slider = page.getByRole('slider', { name: /Time slider/ });
    await slider.focus();
    await slider.press('ArrowLeft');
    await banner.waitFor();
    const firstStep = new URL(page.url()).searchParams.get('asOf');
    expect(firstStep).not.toBeNull();
    await slider.press('ArrowLeft');
    await expect.poll(() => new URL(page.url()).searchParams.get('asOf')).not.toBe(firstStep);
    await expect.poll(() => champion.textContent(), { timeout: 10_000 }).toBe('v1');
    expect(await banner.textContent()).toContain('Viewing the model as of');
    // Writes are disabled while viewing the past.
    const remove = page.getByRole('button', { name: 'Remove alias @champion' });
    expect(await remove.isDisabled()).toBe(true);
    expect(await page.getByRole('button', { name: 'Move @champion here (v2)' }).isDisabled()).toBe(
      true,
    );
    expect(
      await page.getByRole('button', { name: `Edit description of ${modelName}` }).isDisabled(),
    ).toBe(true);
    const shared = page.url();
    await page.screenshot({ path: path.join(shotsDir, 'model-as-of.png'), fullPage: true });

    // Live updates are paused: a change made now does not enter the past view.
    await setAlias('challenger', 1);
    await page.waitForTimeout(1_500);
    expect(await page.getByTestId('alias-challenger-version').count()).toBe(0);
    expect(await champion.textContent()).toBe('v1');

    // The URL is the view: opened fresh, it shows the same past.
    await page.goto(shared);
    await banner.waitFor({ timeout: 15_000 });
    await expect.poll(() => champion.textContent(), { timeout: 10_000 }).toBe('v1');
    expect(await page.getByTestId('alias-challenger-version').count()).toBe(0);

    // Back to now: the current aliases, writes enabled, live again.
    await page.getByRole('button', { name: 'Back to now' }).click();
    await expect.poll(() => champion.textContent(), { timeout: 10_000 }).toBe('v2');
    expect(await page.getByTestId('alias-challenger-version').textContent()).toBe('v1');
    expect(new URL(page.url()).searchParams.get('asOf')).toBeNull();
    expect(await banner.count()).toBe(0);
    expect(await remove.isDisabled()).toBe(false);
    await setAlias('champion', 1);
    await expect.poll(() => champion.textContent(), { timeout: 10_000 }).toBe('v1');
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it("shows a prompt's aliases and versions as they were", async () => {
    await page.goto(`${cairn.url}/prompts/view?name=${encodeURIComponent(promptName)}`);
    const production = page.getByTestId('alias-production-version');
    await expect.poll(() => production.textContent(), { timeout: 15_000 }).toBe('v2');
    const rows = page.getByRole('table', { name: 'Versions' }).locator('tbody tr');
    expect(await rows.count()).toBe(2);
    const slider = page.getByRole('slider', { name: /Time slider/ });
    await slider.focus();
    // ← twice: @production → v2, then → v1.
    for (let i = 0; i < 2; i++) {
      const before = new URL(page.url()).searchParams.get('asOf');
      await slider.press('ArrowLeft');
      await expect.poll(() => new URL(page.url()).searchParams.get('asOf')).not.toBe(before);
    }
    await expect.poll(() => production.textContent(), { timeout: 10_000 }).toBe('v1');
    await page.getByTestId('as-of-banner').waitFor();
    expect(await page.getByRole('button', { name: /as a new version/ }).isDisabled()).toBe(true);
    // ← twice more: before any alias, then only v1 existed.
    for (let i = 0; i < 2; i++) {
      const before = new URL(page.url()).searchParams.get('asOf');
      await slider.press('ArrowLeft');
      await expect.poll(() => new URL(page.url()).searchParams.get('asOf')).not.toBe(before);
    }
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(1);
    expect(await production.count()).toBe(0);
    // End: now again.
    await slider.press('End');
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(2);
    expect(await production.textContent()).toBe('v2');
    expect(await page.getByTestId('as-of-banner').count()).toBe(0);
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('draws a live lineage graph you can walk, without periodic re-fetches', async () => {
    await page.goto(
      `${cairn.url}/lineage?kind=MODEL_VERSION&name=${encodeURIComponent(modelName)}&version=1`,
    );
    const nodes = (kind: string) => page.locator(`g.lineage-node.kind-${kind}`);
    await nodes('run').first().waitFor({ timeout: 15_000 });
    expect(await nodes('run').getAttribute('data-node-id')).toContain(runId);
    expect(await nodes('dataset').textContent()).toContain(datasetName);
    expect(await page.locator('g.lineage-node.centre').textContent()).toContain(`${modelName} v1`);
    expect(await page.getByRole('button', { name: 'Refresh' }).count()).toBe(0);
    expect(await nodes('deployment').count()).toBe(0);

    // Quiet: nothing is re-fetched on a timer.
    await page.waitForLoadState('networkidle');
    const posts = countGraphqlPosts(page);
    await page.waitForTimeout(4_000);
    expect(posts.count()).toBe(0);

    // A deployment of v1 appears without a reload, after one burst of reads.
    await gql(
      'mutation($input: CreateDeploymentInput!) { createDeployment(input: $input) { id } }',
      {
        input: {
          name: `churn-api-${suffix}`,
          target: 'kubernetes',
          modelUri: `models:/${modelName}/1`,
          config: { image: 'registry.example/churn:1', replicas: 1 },
        },
      },
    );
    await nodes('deployment').first().waitFor({ timeout: 10_000 });
    expect(await nodes('deployment').textContent()).toContain(`churn-api-${suffix}`);
    expect(posts.count()).toBeGreaterThanOrEqual(1);
    expect(posts.count()).toBeLessThanOrEqual(3);
    posts.stop();
    await page.screenshot({ path: path.join(shotsDir, 'lineage-live.png'), fullPage: true });

    // Walk: a click on the run centres the graph on it (its versions downstream).
    await nodes('run').first().click();
    await expect.poll(() => new URL(page.url()).searchParams.get('kind')).toBe('RUN');
    expect(new URL(page.url()).searchParams.get('id')).toBe(runId);
    await expect
      .poll(() => page.locator('g.lineage-node.centre').getAttribute('data-node-id'), {
        timeout: 10_000,
      })
      .toContain(runId);
    await expect.poll(() => nodes('model_version').count(), { timeout: 10_000 }).toBe(2);

    // A new version registered from the run appears live on the run's graph.
    await createVersion();
    await expect.poll(() => nodes('model_version').count(), { timeout: 10_000 }).toBe(3);
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
