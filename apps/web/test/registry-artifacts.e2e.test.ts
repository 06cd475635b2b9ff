/**
 * Browser tests of the artifact browser (run page → Artifacts tab) and the model registry pages,
 * on a real `cairn server` with Debian's Chromium (playwright-core). Artifacts are uploaded with
 * the HTTP PUT route and registry data is written with GraphQL, as the SDK does. Screenshots go
 * to test-results/screenshots/.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
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
import fs from 'node:fs';

let cairn: Cairn;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
const suffix = Math.random().toString(36).slice(2, 8);

const gql = <T = Record<string, unknown>>(
  query: string,
  variables: Record<string, unknown> = {},
  workspace?: string,
) => gqlAt<T>(cairn.url, query, variables, workspace);

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(shotsDir, `${name}.png`), fullPage: false });
}

/** PUT /api/runs/{runId}/artifacts/{path}: the response's size and sha256. */
async function putArtifact(
  runId: string,
  artifactPath: string,
  body: Buffer,
  workspace?: string,
): Promise<{ path: string; size: number; sha256: string }> {
  const url = `${cairn.url}/api/runs/${encodeURIComponent(runId)}/artifacts/${artifactPath
    .split('/')
    .map(encodeURIComponent)
    .join('/')}`;
  const res = await fetch(url, {
    method: 'PUT',
    headers: {
      'content-type': 'application/octet-stream',
      ...(workspace ? { 'x-cairn-workspace': workspace } : {}),
    },
    body: new Uint8Array(body),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`PUT ${artifactPath}: ${res.status} ${text}`);
  return JSON.parse(text) as { path: string; size: number; sha256: string };
}

async function createRun(name: string, workspace?: string): Promise<string> {
  const { createExperiment } = await gql<{ createExperiment: { id: string } }>(
    'mutation($name: String!) { createExperiment(name: $name) { id } }',
    { name: `artifacts ${name} ${suffix}` },
    workspace,
  );
  const { createRun: run } = await gql<{ createRun: { id: string } }>(
    'mutation($e: String!, $name: String) { createRun(experimentId: $e, name: $name) { id } }',
    { e: createExperiment.id, name },
    workspace,
  );
  return run.id;
}

/** A small RGB PNG (a gradient), built here so the test needs no fixture file. */
function gradientPng(width: number, height: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc32 = (buf: Buffer) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const typed = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(typed));
    return Buffer.concat([len, typed, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // RGB
  const rows: Buffer[] = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 3);
    for (let x = 0; x < width; x++) {
      row[1 + x * 3] = Math.round((255 * x) / (width - 1));
      row[2 + x * 3] = Math.round((255 * y) / (height - 1));
      row[3 + x * 3] = 160;
    }
    rows.push(row);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  fs.mkdirSync(shotsDir, { recursive: true });
  ensureWebBuilt();
  cairn = await startCairn();
  browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS });
  const context = await browser.newContext({
    viewport: { width: 1400, height: 900 },
    colorScheme: 'light',
    acceptDownloads: true,
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
  if (cairn) await stopCairn(cairn);
});

describe('artifact browser', () => {
  const readme = Buffer.from(
    `Training notes ${suffix}\nlr = 0.01, batch 64\n<script>window.__xss = 1</script>\n`,
  );
  const summary = Buffer.from(JSON.stringify({ accuracy: 0.93, classes: ['cat', 'dog'] }));
  const csv = Buffer.from('id,label,score\n1,cat,0.9\n2,"dog, big",0.8\n3,cat,0.7\n');
  const png = gradientPng(96, 64);
  let runId = '';

  it('browses the tree lazily and previews text, JSON, a table and an image', async () => {
    runId = await createRun('with artifacts');
    const put = await putArtifact(runId, 'notes/readme.txt', readme);
    expect(put.sha256).toBe(sha256(readme));
    await putArtifact(runId, 'metrics/summary.json', summary);
    await putArtifact(runId, 'data/sample.csv', csv);
    await putArtifact(runId, 'plots/gradient.png', png);
    await putArtifact(runId, 'model/model.pkl', Buffer.from([0x80, 0x04, 0x95, 0, 1, 2, 3]));

    await page.goto(`${cairn.url}/run?id=${encodeURIComponent(runId)}`);
    await page.getByRole('tab', { name: 'Artifacts' }).click();
    const tree = page.getByRole('tree', { name: 'Artifacts' });
    await tree.waitFor({ timeout: 15_000 });
    expect(new URL(page.url()).searchParams.get('tab')).toBe('artifacts');
    // Directories first, by name; nothing below them is loaded yet.
    expect(await tree.getByRole('treeitem').allTextContents()).toEqual([
      expect.stringContaining('data'),
      expect.stringContaining('metrics'),
      expect.stringContaining('model'),
      expect.stringContaining('notes'),
      expect.stringContaining('plots'),
    ]);

    // Text: expand the folder, open the file.
    await tree.getByRole('treeitem', { name: 'notes (folder)' }).click();
    await tree.getByRole('treeitem', { name: 'readme.txt' }).click();
    const text = page.getByTestId('artifact-text');
    await text.waitFor({ timeout: 15_000 });
    expect(await text.textContent()).toBe(readme.toString('utf8'));
    expect(await page.getByTestId('artifact-sha256').textContent()).toBe(sha256(readme));
    expect(await page.getByTestId('artifact-size').getAttribute('title')).toBe(
      `${readme.length} bytes`,
    );
    expect(new URL(page.url()).searchParams.get('artifact')).toBe('notes/readme.txt');
    expect(await page.evaluate('window.__xss')).toBeUndefined();
    await shot('20-artifacts-text');

    // JSON, pretty-printed.
    await tree.getByRole('treeitem', { name: 'metrics (folder)' }).click();
    await tree.getByRole('treeitem', { name: 'summary.json' }).click();
    await expect
      .poll(() => page.getByTestId('artifact-json').textContent(), { timeout: 15_000 })
      .toBe(JSON.stringify(JSON.parse(summary.toString('utf8')), null, 2));
    // … or as a collapsible tree.
    await page
      .getByRole('group', { name: 'JSON view' })
      .getByRole('button', { name: 'Tree' })
      .click();
    const jsonTree = page.getByTestId('artifact-json-tree');
    await jsonTree.waitFor();
    expect(await jsonTree.textContent()).toContain('accuracy: 0.93');
    expect(await jsonTree.textContent()).toContain('classes: [ 2 items ]');

    // CSV as a table (quoted comma kept in its cell).
    await tree.getByRole('treeitem', { name: 'data (folder)' }).click();
    await tree.getByRole('treeitem', { name: 'sample.csv' }).click();
    const table = page.getByTestId('artifact-table');
    await table.waitFor({ timeout: 15_000 });
    expect(await table.locator('thead th').allTextContents()).toEqual(['id', 'label', 'score']);
    expect(await table.locator('tbody tr').count()).toBe(3);
    expect(await table.locator('tbody tr').nth(1).locator('td').nth(1).textContent()).toBe(
      'dog, big',
    );

    // Image: decoded by the browser at its real size.
    await tree.getByRole('treeitem', { name: 'plots (folder)' }).click();
    await tree.getByRole('treeitem', { name: 'gradient.png' }).click();
    const img = page.getByTestId('artifact-image');
    await img.waitFor({ timeout: 15_000 });
    await expect
      .poll(() => img.evaluate((el) => (el as HTMLImageElement).naturalWidth), { timeout: 15_000 })
      .toBe(96);
    expect(await page.getByTestId('artifact-sha256').textContent()).toBe(sha256(png));
    await shot('21-artifacts-image');

    // A binary file: facts and download, no preview.
    await tree.getByRole('treeitem', { name: 'model (folder)' }).click();
    await tree.getByRole('treeitem', { name: 'model.pkl' }).click();
    await page.getByText('No preview for this kind of file').waitFor();

    // Download a file through its link: the bytes are the uploaded ones.
    await tree.getByRole('treeitem', { name: 'readme.txt' }).click();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download readme.txt' }).click(),
    ]);
    const saved = await download.path();
    expect(sha256(fs.readFileSync(saved))).toBe(sha256(readme));

    // A folder downloads as .tar.gz holding its files.
    await tree.getByRole('treeitem', { name: 'data (folder)' }).click();
    const [archive] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download folder data as .tar.gz' }).click(),
    ]);
    const listing = execFileSync('tar', ['-tzf', await archive.path()], { encoding: 'utf8' });
    expect(
      listing
        .split('\n')
        .filter(Boolean)
        .map((p) => p.replace(/^\.\//u, '')),
    ).toContain('sample.csv');
    expect(pageErrors).toEqual([]);
  });

  it('is keyboard usable (arrows move, → expands, Enter opens) and shows new files live', async () => {
    await page.goto(`${cairn.url}/run?id=${encodeURIComponent(runId)}&tab=artifacts`);
    const tree = page.getByRole('tree', { name: 'Artifacts' });
    await tree.waitFor({ timeout: 15_000 });
    await tree.getByRole('treeitem').first().focus();
    // data → metrics → (expand) → summary.json → Enter
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowRight');
    await tree.getByRole('treeitem', { name: 'summary.json' }).waitFor({ timeout: 15_000 });
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Enter');
    await page.getByTestId('artifact-json').waitFor({ timeout: 15_000 });
    expect(new URL(page.url()).searchParams.get('artifact')).toBe('metrics/summary.json');
    // A shared URL opens the same file, its folders expanded.
    await page.reload();
    await page.getByTestId('artifact-json').waitFor({ timeout: 15_000 });
    expect(
      await tree.getByRole('treeitem', { name: 'summary.json' }).getAttribute('aria-selected'),
    ).toBe('true');

    // The run is running: a file it logs now appears without a reload.
    await page.evaluate('window.__noReload = 1');
    await putArtifact(runId, 'metrics/late.txt', Buffer.from('logged later\n'));
    await tree.getByRole('treeitem', { name: 'late.txt' }).waitFor({ timeout: 15_000 });
    expect(await page.evaluate('window.__noReload')).toBe(1);
  });

  it('previews and downloads artifacts of a run in another workspace', async () => {
    const workspace = `art-${suffix}`;
    const otherRun = await createRun('in a workspace', workspace);
    const note = Buffer.from(`only in ${workspace}\n`);
    await putArtifact(otherRun, 'note.txt', note, workspace);
    await putArtifact(otherRun, 'pic.png', png, workspace);
    await page.goto(
      `${cairn.url}/run?id=${encodeURIComponent(otherRun)}&tab=artifacts&artifact=note.txt&ws=${workspace}`,
    );
    await expect
      .poll(() => page.getByTestId('artifact-text').textContent(), { timeout: 15_000 })
      .toBe(note.toString('utf8'));
    await page.getByRole('tree').getByRole('treeitem', { name: 'pic.png' }).click();
    await expect
      .poll(
        () =>
          page
            .getByTestId('artifact-image')
            .evaluate((el) => (el as HTMLImageElement).naturalWidth),
        { timeout: 15_000 },
      )
      .toBe(96);
    // Its download link carries the workspace (?ws=): a plain link, no header needed.
    await page.getByRole('tree').getByRole('treeitem', { name: 'note.txt' }).click();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download note.txt' }).click(),
    ]);
    expect(fs.readFileSync(await download.path()).toString('utf8')).toBe(note.toString('utf8'));
    // Back to the default workspace for the tests that follow.
    await page.goto(`${cairn.url}/?ws=default`);
    await page.getByRole('heading', { name: 'Experiments' }).waitFor();
    expect(pageErrors).toEqual([]);
  });
});

describe('model registry pages', () => {
  const modelName = `churn-${suffix}`;
  let runId = '';

  it('lists models with a filter (inline syntax errors), opens one with its versions', async () => {
    runId = await createRun('trains churn');
    await gql(
      'mutation($name: String!) { createRegisteredModel(name: $name, description: "Predicts churn") { id } }',
      { name: modelName },
    );
    await gql('mutation { createRegisteredModel(name: "other-model") { id } }');
    for (let i = 0; i < 3; i++) {
      await gql(
        'mutation($name: String!, $source: String!, $runId: String) { createModelVersion(name: $name, source: $source, runId: $runId) { version } }',
        { name: modelName, source: `runs:/${runId}/model`, runId },
      );
    }

    await page.goto(`${cairn.url}/`);
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Models' })
      .click();
    await page.waitForURL(/\/models/u);
    await page.getByRole('link', { name: modelName }).waitFor({ timeout: 15_000 });

    const filter = page.getByRole('searchbox', { name: 'Filter' });
    await filter.fill("name LIKE 'churn%'");
    await filter.press('Enter');
    await expect
      .poll(
        () => page.getByRole('table', { name: 'Registered models' }).locator('tbody tr').count(),
        {
          timeout: 15_000,
        },
      )
      .toBe(1);
    expect(new URL(page.url()).searchParams.get('filter')).toBe("name LIKE 'churn%'");

    await filter.fill('name LIKE ');
    await filter.press('Enter');
    const alert = page.locator('.filter-box [role="alert"]');
    await alert.waitFor({ timeout: 15_000 });
    expect(await filter.getAttribute('aria-invalid')).toBe('true');
    await shot('22-models-filter-error');
    await filter.fill("name LIKE 'churn%'");
    await filter.press('Enter');
    await page.getByRole('link', { name: modelName }).waitFor({ timeout: 15_000 });
    await shot('23-models');

    await page.getByRole('link', { name: modelName }).click();
    await page.waitForURL(/\/models\/view\?name=/u);
    const versions = page.getByRole('table', { name: 'Versions' });
    await versions.waitFor({ timeout: 15_000 });
    expect(await versions.locator('tbody tr').count()).toBe(3);
    // Newest first, each linked to its source run.
    expect(await versions.locator('tbody tr').first().getAttribute('data-version')).toBe('3');
    expect(await versions.getByRole('link', { name: 'trains churn' }).count()).toBe(3);
    expect(await page.getByText('Predicts churn').count()).toBe(1);
  });

  it('creates a model from the list page', async () => {
    await page.goto(`${cairn.url}/models`);
    const form = page.getByRole('form', { name: 'Create a model' });
    await form
      .getByRole('textbox', { name: 'New model', exact: true })
      .fill(`made-in-ui-${suffix}`);
    await form.getByRole('button', { name: 'Create' }).click();
    await page
      .getByRole('link', { name: `made-in-ui-${suffix}` })
      .first()
      .waitFor({ timeout: 15_000 });
    // The same name again: the server's ALREADY_EXISTS inline.
    await form
      .getByRole('textbox', { name: 'New model', exact: true })
      .fill(`made-in-ui-${suffix}`);
    await form.getByRole('button', { name: 'Create' }).click();
    await form.getByRole('alert').waitFor({ timeout: 15_000 });
    expect(await form.getByRole('alert').textContent()).toMatch(/exists/iu);
  });

  it('sets an alias, moves it in one click, rolls it back, and the history follows', async () => {
    await page.goto(`${cairn.url}/models/view?name=${encodeURIComponent(modelName)}`);
    await page.getByRole('table', { name: 'Versions' }).waitFor({ timeout: 15_000 });

    // champion on v2.
    const setAlias = page.getByRole('form', { name: 'Set an alias', exact: true });
    await setAlias.getByRole('textbox', { name: 'Alias' }).fill('champion');
    await setAlias.getByRole('combobox', { name: 'on' }).selectOption('2');
    await setAlias.getByRole('button', { name: 'Set alias' }).click();
    const championVersion = page.getByTestId('alias-champion-version');
    await expect.poll(() => championVersion.textContent(), { timeout: 15_000 }).toBe('v2');

    // One click on v3's row moves it.
    await page.getByRole('button', { name: 'Move @champion here (v3)' }).click();
    await expect.poll(() => championVersion.textContent(), { timeout: 15_000 }).toBe('v3');
    expect(await page.getByTestId('aliases-v3').textContent()).toContain('@champion');

    // Roll back: one click, back to v2, and the history says so.
    const rollback = page.getByRole('button', { name: 'Roll back to v2 (@champion)' });
    await rollback.waitFor({ timeout: 15_000 });
    await shot('24-model-before-rollback');
    await rollback.click();
    await expect.poll(() => championVersion.textContent(), { timeout: 15_000 }).toBe('v2');
    const history = page.getByTestId('history');
    await expect
      .poll(() => history.locator('li').first().textContent(), { timeout: 15_000 })
      .toContain('Alias champion moved from v3 to v2');
    expect(await history.textContent()).toContain('Alias champion moved from v2 to v3');
    expect(await history.textContent()).toContain('Alias champion set to v2');
    await shot('25-model-after-rollback');

    // The server agrees.
    const d = await gql<{ resolveModelUri: { version: number } }>(
      'query($uri: String!) { resolveModelUri(uri: $uri) { version } }',
      { uri: `models:/${modelName}@champion` },
    );
    expect(d.resolveModelUri.version).toBe(2);
  });

  it('transitions a stage (archiving the holder), edits description and tags', async () => {
    const versions = page.getByRole('table', { name: 'Versions' });
    await versions.getByRole('button', { name: 'v1: details' }).click();
    let panel = page.getByTestId('version-panel');
    await panel.waitFor();
    await panel.getByRole('combobox', { name: 'Move to stage' }).selectOption('PRODUCTION');
    await panel.getByRole('button', { name: 'Transition' }).click();
    await expect
      .poll(() => versions.locator('tr[data-version="1"] .badge').textContent(), {
        timeout: 15_000,
      })
      .toBe('Production');

    await versions.getByRole('button', { name: 'v3: details' }).click();
    panel = page.getByTestId('version-panel');
    await panel.getByRole('combobox', { name: 'Move to stage' }).selectOption('PRODUCTION');
    await panel.getByRole('checkbox', { name: /Archive the versions now in Production/u }).check();
    await panel.getByRole('button', { name: 'Transition' }).click();
    await expect
      .poll(() => versions.locator('tr[data-version="3"] .badge').textContent(), {
        timeout: 15_000,
      })
      .toBe('Production');
    await expect
      .poll(() => versions.locator('tr[data-version="1"] .badge').textContent(), {
        timeout: 15_000,
      })
      .toBe('Archived');
    expect(new URL(page.url()).searchParams.get('v')).toBe('3');
    await expect
      .poll(() => page.getByTestId('history').textContent(), { timeout: 15_000 })
      .toContain('v3: None → Production');

    // Model description and a tag.
    await page.getByRole('button', { name: `Edit description of ${modelName}` }).click();
    await page.getByRole('textbox', { name: `Description of ${modelName}` }).fill('Churn v2 model');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Churn v2 model').waitFor({ timeout: 15_000 });
    const addTag = page.getByRole('form', { name: `Add a tag to ${modelName}` });
    await addTag.getByRole('textbox', { name: `Tag key for ${modelName}` }).fill('team');
    await addTag.getByRole('textbox', { name: `Tag value for ${modelName}` }).fill('growth');
    await addTag.getByRole('button', { name: 'Set tag' }).click();
    await page
      .getByRole('region', { name: 'Tags', exact: true })
      .getByText('growth')
      .waitFor({ timeout: 15_000 });
    await shot('26-model-page');

    // The run page links the versions it produced.
    await page.goto(`${cairn.url}/run?id=${encodeURIComponent(runId)}`);
    await page.getByRole('link', { name: `${modelName} v3` }).waitFor({ timeout: 15_000 });

    // Dark theme.
    await page.goto(`${cairn.url}/models/view?name=${encodeURIComponent(modelName)}`);
    const toggle = page.getByRole('button', { name: /^Theme:/u });
    while (!(await toggle.textContent())?.includes('Dark')) await toggle.click();
    await page.getByRole('table', { name: 'Versions' }).waitFor({ timeout: 15_000 });
    await shot('27-model-page-dark');
    expect(pageErrors).toEqual([]);
  });

  /** POSTs to /graphql the page sends (subscriptions travel on the WebSocket, not here). */
  function countGraphqlPosts(): { count: () => number; stop: () => void } {
    let n = 0;
    const onRequest = (request: { url(): string; method(): string }) => {
      if (request.method() === 'POST' && new URL(request.url()).pathname === '/graphql') n += 1;
    };
    page.on('request', onRequest);
    return { count: () => n, stop: () => page.off('request', onRequest) };
  }
  /** Longer than the 3 s and 5 s the pages used to poll at. */
  const QUIET_MS = 6_000;

  it('updates the experiments list and a model page live, without polling', async () => {
    await page.goto(`${cairn.url}/`);
    await page.getByRole('heading', { name: 'Experiments' }).waitFor({ timeout: 15_000 });
    await page.waitForLoadState('networkidle');
    const posts = countGraphqlPosts();
    await page.waitForTimeout(QUIET_MS);
    expect(posts.count()).toBe(0);
    await gql('mutation($n: String!) { createExperiment(name: $n) { id } }', {
      n: `live-exp-${suffix}`,
    });
    await page.getByRole('link', { name: `live-exp-${suffix}` }).waitFor({ timeout: 10_000 });
    // The push caused the re-read: one burst of reads, not a timer.
    expect(posts.count()).toBeGreaterThanOrEqual(1);
    expect(posts.count()).toBeLessThanOrEqual(2);
    posts.stop();

    await page.goto(`${cairn.url}/models/view?name=${encodeURIComponent(modelName)}`);
    await page.getByRole('table', { name: 'Versions' }).waitFor({ timeout: 15_000 });
    await page.waitForLoadState('networkidle');
    const modelPosts = countGraphqlPosts();
    await page.waitForTimeout(QUIET_MS);
    expect(modelPosts.count()).toBe(0);
    await gql(
      'mutation($name: String!, $source: String!, $runId: String) { createModelVersion(name: $name, source: $source, runId: $runId) { version } }',
      { name: modelName, source: `runs:/${runId}/model`, runId },
    );
    await expect
      .poll(() => page.getByRole('table', { name: 'Versions' }).locator('tbody tr').count(), {
        timeout: 10_000,
      })
      .toBe(4);
    await gql(
      'mutation($name: String!) { updateRegisteredModel(name: $name, description: "Live description") { id } }',
      { name: modelName },
    );
    await page.getByText('Live description').waitFor({ timeout: 10_000 });
    modelPosts.stop();

    // The models list too: a model created elsewhere appears without reload.
    await page.goto(`${cairn.url}/models`);
    await page.getByRole('link', { name: modelName }).waitFor({ timeout: 15_000 });
    await gql('mutation($n: String!) { createRegisteredModel(name: $n) { id } }', {
      n: `live-model-${suffix}`,
    });
    await page.getByRole('link', { name: `live-model-${suffix}` }).waitFor({ timeout: 10_000 });
    expect(pageErrors).toEqual([]);
  });
});
