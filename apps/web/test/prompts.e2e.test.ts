/**
 * Browser test of the prompt registry pages on a real `cairn server` with Debian's Chromium
 * (playwright-core): a prompt created through the API is searched for in the list and stays live
 * there (a version added through the API shows without a reload); on its page it is edited and
 * saved as a new version (variables previewed, the API's error shown as it says it), the two
 * versions are diffed side by side (template and model configuration), the production alias is
 * moved with one click and the move is in the alias history; a trace sent over OTLP that links to
 * the new version is listed on the prompt page (live) and opens the trace page.
 */
import { randomBytes } from 'node:crypto';
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
const name = `support-reply-${suffix}`;
const other = `release-notes-${suffix}`;

async function shot(file: string): Promise<void> {
  await page.screenshot({ path: path.join(shotsDir, `${file}.png`), fullPage: true });
}

const gql = <T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}) =>
  gqlAt<T>(cairn.url, query, variables);

const CREATE_VERSION = `
  mutation ($name: String!, $template: String, $modelConfig: JSON, $commitMessage: String) {
    createPromptVersion(name: $name, template: $template, modelConfig: $modelConfig,
        commitMessage: $commitMessage, createPromptIfMissing: true) { version }
  }`;

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

async function sendTrace(traceId: string, traceName: string, promptUri: string): Promise<void> {
  const t0 = BigInt(Date.now()) * 1_000_000n;
  const body = {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'support-bot' } }] },
        scopeSpans: [
          {
            scope: { name: 'e2e', version: '1' },
            spans: [
              {
                traceId,
                spanId: hex(8),
                name: traceName,
                kind: 1,
                startTimeUnixNano: t0.toString(),
                endTimeUnixNano: (t0 + 250_000_000n).toString(),
                status: { code: 1 },
                attributes: [
                  { key: 'cairn.span.type', value: { stringValue: 'CHAIN' } },
                  {
                    key: 'cairn.trace.prompt_versions',
                    value: { stringValue: JSON.stringify([promptUri]) },
                  },
                ],
              },
            ],
          },
        ],
      },
    ],
  };
  const res = await fetch(`${cairn.url}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status, await res.text()).toBe(200);
}

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
});

afterAll(async () => {
  await browser?.close();
  if (cairn) await stopCairn(cairn);
});

describe('prompt registry pages', () => {
  it('lists prompts created through the API, searches them, and shows a bad filter’s error', async () => {
    await gql(
      `mutation ($n: String!) { createPrompt(name: $n, description: "Replies to support tickets") { id } }`,
      {
        n: name,
      },
    );
    expect(
      await gql<{ createPromptVersion: { version: number } }>(CREATE_VERSION, {
        name,
        template: 'Hello {{name}}, answer this: {{question}}\nBe brief.',
        modelConfig: { provider: 'openai', model: 'gpt-4o-mini', temperature: 0.2 },
        commitMessage: 'first draft',
      }),
    ).toEqual({ createPromptVersion: { version: 1 } });
    await gql(
      `mutation ($n: String!) { setPromptAlias(name: $n, alias: "production", version: 1) { version } }`,
      {
        n: name,
      },
    );
    await gql(CREATE_VERSION, { name: other, template: 'Write notes for {{release}}.' });

    await page.goto(`${cairn.url}/prompts`);
    await page.getByRole('link', { name: 'Prompts', exact: true }).waitFor();
    expect(
      await page.getByRole('link', { name: 'Prompts', exact: true }).getAttribute('aria-current'),
    ).toBe('page');
    await expect
      .poll(() => page.getByTestId('prompts-count').textContent(), { timeout: 15_000 })
      .toBe('2 prompts');
    const row = page.locator(`tr[data-prompt="${name}"]`);
    expect(await row.textContent()).toContain('@production → v1');
    expect(await page.getByTestId(`latest-${name}`).textContent()).toContain('v1');

    const box = page.getByRole('search', { name: 'Filter prompts' }).getByRole('searchbox');
    await box.fill(`name = '${name}'`);
    await box.press('Enter');
    await expect.poll(() => page.getByTestId('prompts-count').textContent()).toBe('1 prompt');
    expect(await page.locator(`tr[data-prompt="${other}"]`).count()).toBe(0);
    expect(new URL(page.url()).searchParams.get('filter')).toBe(`name = '${name}'`);

    await box.fill('name = ');
    await box.press('Enter');
    // Shown under the box (the API's message, the position marked), the list emptied.
    const error = page.getByRole('search', { name: 'Filter prompts' }).getByRole('alert');
    await error.waitFor({ timeout: 10_000 });
    console.log('[filter error]', await error.textContent());
    expect(await error.textContent()).toMatch(/position|expected|filter/iu);
    expect(await error.locator('mark').count()).toBe(1);
    await shot('40-prompts-filter-error');

    await box.fill(`name LIKE '${name.slice(0, 10)}%'`);
    await box.press('Enter');
    await expect.poll(() => page.getByTestId('prompts-count').textContent()).toBe('1 prompt');
    await error.waitFor({ state: 'detached' });
  });

  it('keeps a listed prompt live: a version added through the API shows without a reload or polling', async () => {
    await expect
      .poll(() => page.locator('.live-indicator').getAttribute('data-status'), { timeout: 15_000 })
      .toBe('live');
    // Give the row's subscription a moment to be established on the server.
    await page.waitForTimeout(500);
    await page.evaluate('window.__noReload = 1');
    const listReads: string[] = [];
    page.on('request', (request) => {
      if (request.url().endsWith('/graphql') && request.method() === 'POST') {
        const body = request.postData() ?? '';
        if (body.includes('query Prompts')) listReads.push(body);
      }
    });
    await gql(CREATE_VERSION, {
      name,
      template: 'Hello {{name}}, answer this kindly: {{question}}\nBe brief.',
      modelConfig: { provider: 'openai', model: 'gpt-4o-mini', temperature: 0.2 },
      commitMessage: 'kinder tone',
    });
    await expect
      .poll(() => page.getByTestId(`latest-${name}`).textContent(), { timeout: 15_000 })
      .toContain('v2');
    expect(await page.getByTestId(`latest-${name}`).textContent()).toContain('kinder tone');
    expect(await page.evaluate('window.__noReload')).toBe(1);
    expect(listReads).toEqual([]);
    await shot('41-prompts-list-live');
  });

  it('opens the prompt, edits it and saves a new version, showing the API’s error first', async () => {
    await page.getByRole('link', { name, exact: true }).click();
    await page.waitForURL(/\/prompts\/view\?/u);
    expect(new URL(page.url()).searchParams.get('name')).toBe(name);
    await page.getByRole('heading', { level: 1, name }).waitFor({ timeout: 15_000 });
    expect(await page.locator('table.prompt-versions tbody tr').count()).toBe(2);
    expect(await page.getByTestId('alias-production-version').textContent()).toBe('v1');

    await page.getByRole('button', { name: 'Edit v2 as a new version' }).click();
    const editor = page.getByTestId('prompt-editor');
    const template = editor.getByTestId('template-input');
    expect(await template.inputValue()).toBe(
      'Hello {{name}}, answer this kindly: {{question}}\nBe brief.',
    );
    expect(await editor.getByTestId('variables-preview').textContent()).toContain('namequestion');

    // A chat template with a role the API refuses: its error is shown as it says it.
    await editor.getByRole('button', { name: 'Chat' }).click();
    await editor.getByLabel('Role of message 1').fill('not a role!');
    await editor.getByRole('button', { name: 'Save as new version' }).click();
    const apiError = editor.getByRole('alert');
    await apiError.waitFor({ timeout: 10_000 });
    expect(await apiError.textContent()).toContain('messages[0].role "not a role!" is invalid');

    // Bad JSON is caught before anything is sent.
    await editor.getByRole('button', { name: 'Text' }).click();
    await template.fill(
      'Hello {{ name }}, answer this kindly: {{question}}\nUse a {{tone}} tone.\nBe brief.',
    );
    await expect
      .poll(() =>
        editor.getByTestId('variables-preview').locator('.prompt-variable').allTextContents(),
      )
      .toEqual(['name', 'question', 'tone']);
    await editor.getByTestId('model-config-input').fill('{ "temperature": ');
    await editor.getByRole('button', { name: 'Save as new version' }).click();
    await expect
      .poll(() => editor.getByRole('alert').textContent())
      .toContain('Model configuration is not valid JSON');

    await editor
      .getByTestId('model-config-input')
      .fill(
        JSON.stringify({ provider: 'openai', model: 'gpt-4o-mini', temperature: 0.7 }, null, 2),
      );
    await editor.getByTestId('commit-message-input').fill('tone as a variable, warmer');
    await shot('42-prompt-editor');
    await editor.getByRole('button', { name: 'Save as new version' }).click();
    await expect
      .poll(() => page.getByTestId('saved-version').textContent(), { timeout: 15_000 })
      .toBe('Saved as v3.');
    await expect.poll(() => page.locator('table.prompt-versions tbody tr').count()).toBe(3);
    const v3 = page.locator('table.prompt-versions tr[data-version="3"]');
    expect(await v3.textContent()).toContain('tone as a variable, warmer');
    expect(await v3.textContent()).toContain('name, question, tone');
    const url = new URL(page.url());
    expect([
      url.searchParams.get('v'),
      url.searchParams.get('from'),
      url.searchParams.get('to'),
    ]).toEqual(['3', '2', '3']);
    const panel = page.getByTestId('version-panel');
    expect(await panel.getAttribute('data-version')).toBe('3');
    expect(await panel.getByTestId('version-template').textContent()).toBe(
      'Hello {{ name }}, answer this kindly: {{question}}\nUse a {{tone}} tone.\nBe brief.',
    );
  });

  it('shows the diff of the two versions side by side: template, variables, model configuration', async () => {
    const diff = page.getByTestId('prompt-diff');
    const table = diff.getByTestId('template-diff');
    await table.waitFor({ timeout: 15_000 });
    const cells = async (op: string) =>
      table.locator(`td[data-op="${op}"]`).evaluateAll((els) => els.map((e) => e.textContent));
    await expect
      .poll(() => cells('REMOVED'))
      .toEqual(['removed: Hello {{name}}, answer this kindly: {{question}}']);
    expect(await cells('ADDED')).toEqual([
      'added: Hello {{ name }}, answer this kindly: {{question}}',
      'added: Use a {{tone}} tone.',
    ]);
    // "Be brief." is equal on both sides, on line 2 of v2 and line 3 of v3.
    const equalRow = table.locator('tr', { hasText: 'Be brief.' });
    expect(await equalRow.locator('td.diff-num').allTextContents()).toEqual(['2', '3']);
    expect(await diff.getByTestId('variables-diff').textContent()).toContain('+tone');
    const config = diff.getByTestId('model-config-diff');
    expect(await config.locator('tbody tr').allTextContents()).toEqual(['/temperature0.20.7']);
    await shot('43-prompt-diff');

    // Any two versions: v1 → v3.
    await diff.getByLabel('From').selectOption('1');
    await expect
      .poll(() => cells('REMOVED'))
      .toEqual(['removed: Hello {{name}}, answer this: {{question}}']);
    expect(new URL(page.url()).searchParams.get('from')).toBe('1');
  });

  it('moves the production alias with one click and shows the move in the history', async () => {
    const history = page.getByTestId('alias-history');
    expect(await history.locator('li').allTextContents()).toHaveLength(1);
    expect(await history.textContent()).toContain('@production set to v1');
    await page.getByRole('button', { name: 'Move @production to v3' }).click();
    await expect
      .poll(() => page.getByTestId('alias-production-version').textContent(), { timeout: 15_000 })
      .toBe('v3');
    await expect.poll(() => history.locator('li').count()).toBe(2);
    expect(await history.locator('li').first().textContent()).toContain(
      '@production moved from v1 to v3',
    );
    expect(await page.getByTestId('aliases-v3').textContent()).toBe('@production');
    expect(await page.getByTestId('aliases-v1').textContent()).toBe('');
    // Read back through the API: the move is real.
    const back = await gql<{ resolvePromptUri: { version: number } }>(
      `query ($u: String!) { resolvePromptUri(uri: $u) { version } }`,
      { u: `prompts:/${name}@production` },
    );
    expect(back.resolvePromptUri.version).toBe(3);
    await shot('44-prompt-alias-moved');
  });

  it('lists a trace produced with v3 on the prompt page (live) and links to its trace page', async () => {
    const panel = page.getByTestId('version-panel');
    await expect.poll(() => panel.getByTestId('version-traces-count').textContent()).toBe('(0)');
    const traceId = hex(16);
    const traceName = `reply-ticket-${suffix}`;
    await sendTrace(traceId, traceName, `prompts:/${name}/3`);
    // A trace of another version is not listed under v3.
    await sendTrace(hex(16), `other-version-${suffix}`, `prompts:/${name}/1`);
    const row = panel.locator(`tr[data-trace-id="${traceId}"]`);
    await row.waitFor({ timeout: 20_000 });
    expect(await panel.getByTestId('version-traces-count').textContent()).toBe('(1)');
    expect(await panel.locator('tr[data-trace-id]').count()).toBe(1);
    await shot('45-prompt-version-traces');
    await row.getByRole('link', { name: traceName }).click();
    await page.waitForURL(/\/trace\?id=/u);
    expect(new URL(page.url()).searchParams.get('id')).toBe(traceId);
    await page.getByRole('tree', { name: 'Spans' }).waitFor({ timeout: 15_000 });
  });

  it('keeps the prompt page live: a version created elsewhere appears without a reload', async () => {
    await page.goto(`${cairn.url}/prompts/view?name=${encodeURIComponent(name)}`);
    await expect
      .poll(() => page.locator('table.prompt-versions tbody tr').count(), { timeout: 15_000 })
      .toBe(3);
    await expect
      .poll(() => page.locator('.live-indicator').getAttribute('data-status'), { timeout: 15_000 })
      .toBe('live');
    await page.waitForTimeout(500);
    await page.evaluate('window.__noReload = 1');
    await gql(CREATE_VERSION, {
      name,
      template: 'Dear {{name}}: {{question}}',
      commitMessage: 'from the SDK',
    });
    await expect
      .poll(() => page.locator('table.prompt-versions tbody tr').count(), { timeout: 15_000 })
      .toBe(4);
    expect(
      await page.locator('table.prompt-versions tr[data-version="4"]').textContent(),
    ).toContain('from the SDK');
    expect(await page.evaluate('window.__noReload')).toBe(1);
  });

  it('saves a chat template as a new version and diffs it against the text one', async () => {
    await page.getByRole('button', { name: 'Edit v4 as a new version' }).click();
    const editor = page.getByTestId('prompt-editor');
    await editor.getByRole('button', { name: 'Chat' }).click();
    expect(await editor.getByLabel('Content of message 1').inputValue()).toBe(
      'Dear {{name}}: {{question}}',
    );
    await editor.getByRole('button', { name: 'Add a message' }).click();
    await editor.getByLabel('Role of message 2').fill('system');
    await editor.getByLabel('Content of message 2').fill('You answer as {{persona}}.');
    await editor.getByRole('button', { name: 'Move message 2 up' }).click();
    expect(await editor.getByLabel('Role of message 1').inputValue()).toBe('system');
    await expect
      .poll(() =>
        editor.getByTestId('variables-preview').locator('.prompt-variable').allTextContents(),
      )
      .toEqual(['persona', 'name', 'question']);
    await editor.getByTestId('commit-message-input').fill('as a chat');
    await editor.getByRole('button', { name: 'Save as new version' }).click();
    await expect
      .poll(() => page.getByTestId('saved-version').textContent(), { timeout: 15_000 })
      .toBe('Saved as v5.');
    const panel = page.getByTestId('version-panel');
    await expect.poll(() => panel.getAttribute('data-version')).toBe('5');
    expect(await panel.getByTestId('version-template').locator('li').allTextContents()).toEqual([
      'systemYou answer as {{persona}}.',
      'userDear {{name}}: {{question}}',
    ]);
    const diff = page.getByTestId('prompt-diff');
    await expect
      .poll(() => diff.getByRole('note').textContent(), { timeout: 15_000 })
      .toContain('v4 is text, v5 is chat');
    expect(
      await diff
        .getByTestId('template-diff')
        .locator('td[data-op="ADDED"]')
        .evaluateAll((els) => els.map((e) => e.textContent)),
    ).toContain('added: ### system');
    await shot('46-prompt-chat-diff');
    expect(pageErrors).toEqual([]);
  });

  it('pages through versions and alias history, and a live push keeps the loaded pages', async () => {
    const many = `many-versions-${suffix}`;
    for (let i = 1; i <= 52; i++) {
      await gql(CREATE_VERSION, { name: many, template: `Version ${i}: {{x}}` });
      await gql(
        `mutation ($n: String!, $v: Int!) { setPromptAlias(name: $n, alias: "staging", version: $v) { version } }`,
        { n: many, v: i },
      );
    }
    await page.goto(`${cairn.url}/prompts/view?name=${encodeURIComponent(many)}`);
    const rows = page.locator('table.prompt-versions tbody tr');
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(50);
    expect(await page.locator('#versions-heading').textContent()).toBe('Versions (52)');
    expect(await rows.first().getAttribute('data-version')).toBe('52');
    await page.getByRole('button', { name: 'Load older versions' }).click();
    await expect.poll(() => rows.count()).toBe(52);
    expect(await rows.last().getAttribute('data-version')).toBe('1');
    expect(await page.getByRole('button', { name: 'Load older versions' }).count()).toBe(0);

    const history = page.getByTestId('alias-history').locator('li');
    expect(await history.count()).toBe(50);
    await page.getByRole('button', { name: 'Load older changes' }).click();
    await expect.poll(() => history.count()).toBe(52);
    expect(await history.last().textContent()).toContain('@staging set to v1');
    expect(await history.first().textContent()).toContain('@staging moved from v51 to v52');

    await expect
      .poll(() => page.locator('.live-indicator').getAttribute('data-status'), { timeout: 15_000 })
      .toBe('live');
    await page.waitForTimeout(500);
    await gql(CREATE_VERSION, { name: many, template: 'Version 53: {{x}}' });
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(53);
    expect(await rows.first().getAttribute('data-version')).toBe('53');
    expect(await history.count()).toBe(52);
  });
});
