/**
 * Browser test of the tracing pages on a real `cairn server` with Debian's Chromium
 * (playwright-core): a trace sent over OTLP/HTTP JSON appears in the open traces list without a
 * reload (and without periodic re-fetches), then its page shows the span tree, the waterfall and
 * the chat span's messages as a conversation. Then the trace's tags and metadata are edited (another
 * open tab on the trace and one on the list follow live), a model price is overridden and edited
 * (the trace's cost is recomputed, live in the other tabs), and traces are deleted from the trace
 * page and from the list. Screenshots go to test-results/screenshots/.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page, type Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHROMIUM_ARGS,
  chromiumPath,
  ensureWebBuilt,
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

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(shotsDir, `${name}.png`), fullPage: false });
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const str = (value: string) => ({ stringValue: value });
const int = (value: number) => ({ intValue: String(value) });

/** A root CHAIN span and a child CHAT_MODEL span, as an OTLP/HTTP JSON body. */
function chatTrace(traceId: string, rootId: string, chatId: string, name: string) {
  const t0 = BigInt(Date.now()) * 1_000_000n;
  const ns = (ms: number) => (t0 + BigInt(ms) * 1_000_000n).toString();
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: str('support-bot') }] },
        scopeSpans: [
          {
            scope: { name: 'e2e', version: '1' },
            spans: [
              {
                traceId,
                spanId: rootId,
                name,
                kind: 1,
                startTimeUnixNano: ns(0),
                endTimeUnixNano: ns(420),
                status: { code: 1 },
                attributes: [
                  { key: 'cairn.span.type', value: str('CHAIN') },
                  { key: 'cairn.trace.session_id', value: str(`session-${suffix}`) },
                  { key: 'cairn.trace.user_id', value: str('ana') },
                  {
                    key: 'cairn.trace.prompt_versions',
                    value: str(JSON.stringify([`prompts:/support-${suffix}/3`])),
                  },
                  {
                    key: 'cairn.span.inputs',
                    value: str(JSON.stringify({ question: 'How do I reset my password?' })),
                  },
                ],
              },
              {
                traceId,
                spanId: chatId,
                parentSpanId: rootId,
                name: 'openai.chat',
                kind: 3,
                startTimeUnixNano: ns(40),
                endTimeUnixNano: ns(380),
                status: { code: 0 },
                attributes: [
                  { key: 'cairn.span.type', value: str('CHAT_MODEL') },
                  {
                    key: 'cairn.span.inputs',
                    value: str(
                      JSON.stringify({
                        messages: [
                          { role: 'system', content: 'You are a support assistant.' },
                          { role: 'user', content: 'How do I reset my password?' },
                        ],
                      }),
                    ),
                  },
                  {
                    key: 'cairn.span.outputs',
                    value: str(
                      JSON.stringify({
                        choices: [
                          {
                            index: 0,
                            message: {
                              role: 'assistant',
                              content: 'Open Settings → Security and choose <b>Reset</b>.',
                            },
                          },
                        ],
                      }),
                    ),
                  },
                  { key: 'gen_ai.request.model', value: str('gpt-4o-mini') },
                  { key: 'gen_ai.usage.input_tokens', value: int(42) },
                  { key: 'gen_ai.usage.output_tokens', value: int(17) },
                ],
              },
            ],
          },
        ],
      },
    ],
  };
}

async function sendOtlp(body: unknown): Promise<unknown> {
  const res = await fetch(`${cairn.url}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`POST /v1/traces: ${res.status} ${text}`);
  return JSON.parse(text) as unknown;
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

describe('tracing pages', () => {
  const traceId = hex(16);
  const rootId = hex(8);
  const chatId = hex(8);
  const name = `answer-question-${suffix}`;

  it('shows the empty state, then a trace sent over OTLP live, without a reload or polling', async () => {
    await page.goto(`${cairn.url}/traces`);
    const empty = page.getByTestId('traces-empty');
    await empty.waitFor({ timeout: 15_000 });
    expect(await page.getByTestId('otlp-endpoint').textContent()).toBe(`${cairn.url}/v1/traces`);
    // The header's live indicator: the subscription is up before the trace is sent.
    await expect
      .poll(() => page.locator('.live-indicator').getAttribute('data-status'), {
        timeout: 15_000,
      })
      .toBe('live');
    await shot('30-traces-empty');

    const queries: string[] = [];
    const onRequest = (request: Request) => {
      if (request.url().endsWith('/graphql') && request.method() === 'POST')
        queries.push(request.postData() ?? '');
    };
    page.on('request', onRequest);
    await page.evaluate('window.__noReload = 1');
    expect(await sendOtlp(chatTrace(traceId, rootId, chatId, name))).toEqual({});

    const row = page.locator(`tr[data-trace-id="${traceId}"]`);
    await row.waitFor({ timeout: 15_000 });
    await expect.poll(() => row.locator('a.trace-link').textContent()).toBe(name);
    await expect.poll(() => row.textContent(), { timeout: 15_000 }).toContain('42 / 17 / 59');
    expect(await row.textContent()).toContain(`session-${suffix}`);
    expect(await row.textContent()).toContain('ana');
    expect(await page.evaluate('window.__noReload')).toBe(1);
    // Quiet for a few seconds: the list is fed by the subscription, nothing re-reads it.
    await page.waitForTimeout(3000);
    page.off('request', onRequest);
    expect(queries.filter((q) => q.includes('query Traces'))).toEqual([]);
    await shot('31-traces-live');
  });

  it('opens the trace: span tree, waterfall, the chat span as a conversation', async () => {
    await page.locator(`tr[data-trace-id="${traceId}"] a.trace-link`).click();
    await page.waitForURL(/\/trace\?id=/u);
    expect(new URL(page.url()).searchParams.get('id')).toBe(traceId);
    const tree = page.getByRole('tree', { name: 'Spans' });
    await tree.waitFor({ timeout: 15_000 });
    const items = tree.getByRole('treeitem');
    await expect.poll(() => items.count(), { timeout: 15_000 }).toBe(2);
    expect(await items.nth(0).getAttribute('aria-level')).toBe('1');
    expect(await items.nth(0).textContent()).toContain(name);
    expect(await items.nth(1).getAttribute('aria-level')).toBe('2');
    expect(await items.nth(1).textContent()).toContain('openai.chat');
    expect(await items.nth(1).textContent()).toContain('Chat');
    const bars = page.getByTestId('waterfall').getByTestId('wf-bar');
    expect(await bars.count()).toBe(2);
    // The chat bar starts after the root's (40 ms into 420 ms) and is narrower.
    const [rootBox, chatBox] = [await bars.nth(0).boundingBox(), await bars.nth(1).boundingBox()];
    expect(chatBox!.x).toBeGreaterThan(rootBox!.x);
    expect(chatBox!.width).toBeLessThan(rootBox!.width);
    // The prompt version it used links to the prompt's page at that version.
    const promptLink = page
      .getByTestId('trace-summary')
      .getByRole('link', { name: `support-${suffix}/3` });
    expect(await promptLink.getAttribute('href')).toBe(`/prompts/view?name=support-${suffix}&v=3`);
    await shot('32-trace-root');

    // Select the chat span in the waterfall.
    await bars.nth(1).click();
    await expect.poll(() => new URL(page.url()).searchParams.get('span')).toBe(chatId);
    expect(await items.nth(1).getAttribute('aria-selected')).toBe('true');
    const detail = page.getByTestId('span-detail');
    await expect.poll(() => detail.locator('h2').first().textContent()).toBe('openai.chat');
    const inputs = detail.getByRole('list', { name: 'Inputs' });
    await inputs.waitFor();
    expect(await inputs.getByTestId('message-role').allTextContents()).toEqual(['system', 'user']);
    expect(await inputs.getByTestId('message-content').allTextContents()).toEqual([
      'You are a support assistant.',
      'How do I reset my password?',
    ]);
    const outputs = detail.getByRole('list', { name: 'Outputs' });
    expect(await outputs.getByTestId('message-role').allTextContents()).toEqual(['assistant']);
    // Text only: the markup in the answer is shown as characters.
    expect(await outputs.getByTestId('message-content').textContent()).toBe(
      'Open Settings → Security and choose <b>Reset</b>.',
    );
    expect(await outputs.locator('b').count()).toBe(0);
    expect(await detail.getByTestId('span-tokens').textContent()).toContain('42 in · 17 out · 59');
    expect(await detail.getByRole('table', { name: 'Attributes' }).textContent()).toContain(
      'gen_ai.request.model',
    );
    await shot('33-trace-chat-span');

    // The keyboard: ↑ selects the root again.
    await items.nth(1).focus();
    await page.keyboard.press('ArrowUp');
    await expect.poll(() => new URL(page.url()).searchParams.get('span')).toBe(rootId);
  });

  it('lists the session and shows its conversation', async () => {
    await page.goto(`${cairn.url}/sessions`);
    const link = page.getByRole('link', { name: `session-${suffix}` });
    await link.waitFor({ timeout: 15_000 });
    await link.click();
    await page.waitForURL(/\/session\?id=/u);
    const turn = page.getByTestId('session-turn').first();
    await turn.waitFor({ timeout: 15_000 });
    expect(await turn.textContent()).toContain(name);
    await shot('34-session');
  });

  it('shows usage by model and the model price table', async () => {
    await page.goto(`${cairn.url}/traces/usage`);
    const byModel = page.getByRole('table', { name: 'Usage by model' });
    await byModel.waitFor({ timeout: 15_000 });
    await expect.poll(() => byModel.textContent(), { timeout: 15_000 }).toContain('gpt-4o-mini');
    expect(await page.getByTestId('usage-totals').textContent()).toContain('42 · 17 · 59');
    await page.locator('.chart-box canvas').first().waitFor({ timeout: 15_000 });
    // Rolled up by user too; a user's row links to their traces.
    const byUser = page.getByRole('table', { name: 'Usage by user' });
    const ana = byUser.locator('tr', { hasText: 'ana' });
    await expect.poll(() => ana.textContent(), { timeout: 15_000 }).toContain('$0.0000165');
    expect(await ana.getByRole('link', { name: 'ana' }).getAttribute('href')).toBe(
      `/traces?${new URLSearchParams({ filter: "user = 'ana'" }).toString()}`,
    );
    await shot('35-usage');

    await page.goto(`${cairn.url}/traces/prices`);
    const prices = page.getByRole('table', { name: 'Model prices' });
    await prices.waitFor({ timeout: 15_000 });
    // Built-in entries (when the API lists them) are marked; this test adds, edits and deletes
    // an own entry.
    const form = page.getByRole('form', { name: 'Add a model price' });
    await form.getByLabel('Model pattern (regex)').fill(`e2e-model-${suffix}`);
    await form.getByLabel('Input $/M', { exact: true }).fill('1.5');
    await form.getByLabel('Output $/M', { exact: true }).fill('6');
    await form.getByRole('button', { name: 'Add price' }).click();
    const own = prices.locator('tr', { hasText: `e2e-model-${suffix}` });
    await own.waitFor({ timeout: 15_000 });
    expect(await own.textContent()).toContain('own');
    await own.getByRole('button', { name: `Edit e2e-model-${suffix}` }).click();
    const edit = page.getByRole('form', { name: 'Edit a model price' });
    await edit.getByLabel('Output $/M', { exact: true }).fill('7.25');
    await edit.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => own.textContent(), { timeout: 15_000 }).toContain('7.25');
    expect(await own.count()).toBe(1);
    await shot('36-prices');
    page.once('dialog', (d) => void d.accept());
    await own.getByRole('button', { name: `Delete e2e-model-${suffix}` }).click();
    await expect.poll(() => own.count(), { timeout: 15_000 }).toBe(0);
    expect(pageErrors).toEqual([]);
  });

  /** Other tabs of the same browser, opened by the next test and kept open until the end. */
  let listTab: Page;
  let traceTab: Page;
  const costCard = (p: Page) =>
    p
      .getByTestId('trace-summary')
      .locator('.card', { has: p.locator('.label', { hasText: /^Cost$/u }) })
      .locator('.value');

  it("edits the trace's tags and metadata; open tabs on the list and the trace follow live", async () => {
    const context = page.context();
    listTab = await context.newPage();
    traceTab = await context.newPage();
    for (const tab of [listTab, traceTab])
      tab.on('pageerror', (error) => pageErrors.push(error.message));
    await listTab.goto(`${cairn.url}/traces`);
    const listRow = listTab.locator(`tr[data-trace-id="${traceId}"]`);
    await listRow.waitFor({ timeout: 15_000 });
    await traceTab.goto(`${cairn.url}/trace?id=${traceId}`);
    await traceTab.getByRole('tree', { name: 'Spans' }).waitFor({ timeout: 15_000 });
    for (const tab of [listTab, traceTab]) {
      await expect
        .poll(() => tab.locator('.live-indicator').getAttribute('data-status'), {
          timeout: 15_000,
        })
        .toBe('live');
      await tab.evaluate('window.__noReload = 1');
    }

    await page.goto(`${cairn.url}/trace?id=${traceId}`);
    const tags = page.getByTestId('trace-tag');
    await tags.waitFor({ timeout: 15_000 });
    const tagForm = page.getByRole('form', { name: 'Set a tag' });
    await tagForm.getByLabel('Tag key').fill('reviewed');
    await tagForm.getByLabel('Tag value').fill('yes');
    await tagForm.getByRole('button', { name: 'Set tag' }).click();
    await expect
      .poll(() => tags.locator('tr[data-key="reviewed"]').textContent(), { timeout: 15_000 })
      .toContain('yes');
    const metadata = page.getByTestId('trace-metadata');
    const metaForm = page.getByRole('form', { name: 'Set metadata' });
    await metaForm.getByLabel('Metadata key').fill('ticket');
    await metaForm.getByLabel('Metadata value').fill('SUP-123');
    await metaForm.getByRole('button', { name: 'Set metadata' }).click();
    await expect
      .poll(() => metadata.locator('tr[data-key="ticket"]').textContent(), { timeout: 15_000 })
      .toContain('SUP-123');

    // The other tabs, without a reload.
    const otherTags = traceTab.getByTestId('trace-tag');
    const otherMeta = traceTab.getByTestId('trace-metadata');
    await expect
      .poll(() => otherTags.locator('tr[data-key="reviewed"]').textContent(), { timeout: 15_000 })
      .toContain('yes');
    await expect
      .poll(() => otherMeta.locator('tr[data-key="ticket"]').textContent(), { timeout: 15_000 })
      .toContain('SUP-123');
    await expect.poll(() => listRow.textContent(), { timeout: 15_000 }).toContain('reviewed: yes');
    await shot('37-trace-tags');

    // Edit: the entry goes into the form, "Save" replaces it.
    await tags.getByRole('button', { name: 'Edit tag reviewed' }).click();
    expect(await tagForm.getByLabel('Tag key').inputValue()).toBe('reviewed');
    expect(await tagForm.getByLabel('Tag value').inputValue()).toBe('yes');
    await tagForm.getByLabel('Tag value').fill('no');
    await tagForm.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => listRow.textContent(), { timeout: 15_000 }).toContain('reviewed: no');
    await expect
      .poll(() => otherTags.locator('tr[data-key="reviewed"]').textContent(), { timeout: 15_000 })
      .toContain('no');
    await metadata.getByRole('button', { name: 'Edit metadata entry ticket' }).click();
    await metaForm.getByLabel('Metadata value').fill('SUP-124');
    await metaForm.getByRole('button', { name: 'Save' }).click();
    await expect
      .poll(() => otherMeta.locator('tr[data-key="ticket"]').textContent(), { timeout: 15_000 })
      .toContain('SUP-124');
    expect(await metadata.locator('tr').count()).toBe(1);

    // Remove the tag: gone here, on the other trace tab and in the list.
    await tags.getByRole('button', { name: 'Remove tag reviewed' }).click();
    await expect.poll(() => tags.locator('tr[data-key="reviewed"]').count()).toBe(0);
    await expect
      .poll(() => otherTags.locator('tr[data-key="reviewed"]').count(), { timeout: 15_000 })
      .toBe(0);
    await expect.poll(() => listRow.textContent(), { timeout: 15_000 }).not.toContain('reviewed');
    // Metadata is removed the same way.
    await metadata.getByRole('button', { name: 'Remove metadata entry ticket' }).click();
    await expect.poll(() => metadata.locator('tr[data-key="ticket"]').count()).toBe(0);
    await expect
      .poll(() => otherMeta.locator('tr[data-key="ticket"]').count(), { timeout: 15_000 })
      .toBe(0);

    // A key the API refuses: its typed error is shown, nothing changes.
    await tagForm.getByLabel('Tag key').fill('bad\u0007key');
    await tagForm.getByLabel('Tag value').fill('x');
    await tagForm.getByRole('button', { name: 'Set tag' }).click();
    await expect
      .poll(() => tags.getByRole('alert').textContent(), { timeout: 15_000 })
      .toContain('control characters');
    expect(await tags.locator('tr').count()).toBe(0);
    for (const tab of [listTab, traceTab]) expect(await tab.evaluate('window.__noReload')).toBe(1);
    expect(pageErrors).toEqual([]);
  });

  it("overrides and edits a model price: the trace's cost is recomputed, live in the other tabs", async () => {
    // gpt-4o-mini's built-in price: 42 × $0.15/M + 17 × $0.60/M.
    await expect.poll(() => costCard(traceTab).textContent()).toBe('$0.0000165');
    const listCost = listTab.locator(`tr[data-trace-id="${traceId}"] td.num`).last();
    expect(await listCost.textContent()).toBe('$0.0000165');

    await page.goto(`${cairn.url}/traces/prices`);
    const prices = page.getByRole('table', { name: 'Model prices' });
    await prices.waitFor({ timeout: 15_000 });
    // A second prices page follows every change live (modelPricesChanged), without a reload.
    const pricesTab = await page.context().newPage();
    await pricesTab.goto(`${cairn.url}/traces/prices`);
    await pricesTab.getByRole('table', { name: 'Model prices' }).waitFor({ timeout: 15_000 });
    await pricesTab.evaluate('window.__noReload = 1');
    const otherOwn = pricesTab
      .getByRole('table', { name: 'Model prices' })
      .locator('tr', { hasText: 'own' })
      .filter({ hasText: 'gpt-4o-mini' });
    await prices.getByRole('button', { name: /^Override gpt-4o-mini\(/u }).click();
    const form = page.getByRole('form', { name: 'Add a model price' });
    // The override starts when the built-in entry does, so past traces are re-priced.
    expect(await form.getByLabel('Effective from').inputValue()).toMatch(/^19(70-01-01|69-12-31)/u);
    await form.getByLabel('Input $/M', { exact: true }).fill('1000');
    await form.getByLabel('Output $/M', { exact: true }).fill('2000');
    await form.getByRole('button', { name: 'Add price' }).click();
    const own = prices.locator('tr', { hasText: 'own' }).filter({ hasText: 'gpt-4o-mini' });
    await own.waitFor({ timeout: 15_000 });
    // 42 × $1000/M + 17 × $2000/M
    await expect.poll(() => costCard(traceTab).textContent(), { timeout: 15_000 }).toBe('$0.076');
    await expect.poll(() => listCost.textContent(), { timeout: 15_000 }).toBe('$0.076');
    await otherOwn.waitFor({ timeout: 15_000 });
    expect(await otherOwn.textContent()).toMatch(/1,?000/u);

    // Edit the own entry: 17 × $4000/M for the output.
    await own.getByRole('button', { name: /^Edit gpt-4o-mini/u }).click();
    const edit = page.getByRole('form', { name: 'Edit a model price' });
    await edit.getByLabel('Output $/M', { exact: true }).fill('4000');
    await edit.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => costCard(traceTab).textContent(), { timeout: 15_000 }).toBe('$0.11');
    await expect.poll(() => listCost.textContent(), { timeout: 15_000 }).toBe('$0.11');
    await shot('38-price-repriced');

    // A price the API refuses (above $1,000,000 per million): its message, nothing saved.
    await own.getByRole('button', { name: /^Edit gpt-4o-mini/u }).click();
    await edit.getByLabel('Input $/M', { exact: true }).fill('2000000');
    await edit.getByRole('button', { name: 'Save' }).click();
    await edit.getByRole('alert').waitFor({ timeout: 15_000 });
    expect(await edit.getByRole('alert').textContent()).toMatch(/1,?000,?000|at most/iu);
    await edit.getByRole('button', { name: 'Cancel' }).click();
    expect(await costCard(traceTab).textContent()).toBe('$0.11');

    // Deleting the own entry brings the built-in price back.
    page.once('dialog', (d) => void d.accept());
    await own.getByRole('button', { name: /^Delete gpt-4o-mini/u }).click();
    await expect.poll(() => own.count(), { timeout: 15_000 }).toBe(0);
    await expect
      .poll(() => costCard(traceTab).textContent(), { timeout: 15_000 })
      .toBe('$0.0000165');
    await expect.poll(() => otherOwn.count(), { timeout: 15_000 }).toBe(0);
    expect(await pricesTab.evaluate('window.__noReload')).toBe(1);
    await pricesTab.close();
    expect(pageErrors).toEqual([]);
  });

  it('deletes a trace from its page and one from the list; its open page says so live', async () => {
    const other = hex(16);
    const otherName = `second-question-${suffix}`;
    expect(await sendOtlp(chatTrace(other, hex(8), hex(8), otherName))).toEqual({});
    await listTab.locator(`tr[data-trace-id="${other}"]`).waitFor({ timeout: 15_000 });

    await page.goto(`${cairn.url}/trace?id=${traceId}`);
    await page.getByRole('tree', { name: 'Spans' }).waitFor({ timeout: 15_000 });
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Delete trace' }).click();
    await page.waitForURL((url) => url.pathname.replace(/\/$/u, '') === '/traces');
    await page.locator(`tr[data-trace-id="${other}"]`).waitFor({ timeout: 15_000 });
    expect(await page.locator(`tr[data-trace-id="${traceId}"]`).count()).toBe(0);
    await expect.poll(() => page.getByTestId('traces-count').textContent()).toBe('1 trace');
    // The other tab on the list drops it live (tracesLeft), without a reload.
    await expect
      .poll(() => listTab.locator(`tr[data-trace-id="${traceId}"]`).count(), { timeout: 10_000 })
      .toBe(0);

    // The tab showing the deleted trace says so, live (tracesLeft), without a reload.
    await traceTab.getByRole('heading', { name: 'Trace not found' }).waitFor({ timeout: 15_000 });
    expect(await traceTab.evaluate('window.__noReload')).toBe(1);

    // From the list: select the other trace, delete it; the row goes at once.
    const row = page.locator(`tr[data-trace-id="${other}"]`);
    await row.getByRole('checkbox', { name: `Select trace ${otherName}` }).check();
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Delete 1 selected' }).click();
    await expect.poll(() => row.count(), { timeout: 15_000 }).toBe(0);
    expect(await page.getByRole('status').filter({ hasText: 'Deleted' }).textContent()).toBe(
      'Deleted 1 trace.',
    );
    expect(await page.getByTestId('traces-count').textContent()).toBe('0 traces');
    await expect
      .poll(() => listTab.locator(`tr[data-trace-id="${other}"]`).count(), { timeout: 10_000 })
      .toBe(0);
    expect(await listTab.evaluate('window.__noReload')).toBe(1);
    await shot('39-traces-deleted');
    // Deleted on the server: a fresh read has neither.
    await page.reload();
    await page.getByTestId('traces-empty').waitFor({ timeout: 15_000 });
    await traceTab.goto(`${cairn.url}/trace?id=${traceId}`);
    await traceTab.getByRole('heading', { name: 'Trace not found' }).waitFor({ timeout: 15_000 });
    expect(pageErrors).toEqual([]);
  });
});
