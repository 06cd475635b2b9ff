/**
 * Browser test of annotation queues (issue 14, "Human review") on a real `cairn server` with
 * Debian's Chromium (playwright-core). Traces go in over OTLP/HTTP JSON. A queue is created in
 * the dashboard with a label schema (a required yes/no label and a 1–5 score); one trace is added
 * from its trace page ("Add to queue"), another through the API. The review view hands out the
 * first item, refuses to submit without the required label, then "Submit & next" stores the
 * labels and moves on; "Skip" skips the last one. A second tab on the queue page follows the
 * progress live, and the label shows on the trace page as HUMAN feedback.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
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
let context: BrowserContext;
let page: Page;
const pageErrors: string[] = [];
const suffix = Math.random().toString(36).slice(2, 8);

const gql = <T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}) =>
  gqlAt<T>(cairn.url, query, variables);

async function shot(p: Page, file: string): Promise<void> {
  await p.screenshot({ path: path.join(shotsDir, `${file}.png`), fullPage: true });
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/** One OTLP request with a root span per trace id; returns once they are queryable. */
async function sendTraces(traces: { traceId: string; name: string }[]): Promise<void> {
  const t0 = BigInt(Date.now()) * 1_000_000n;
  const body = {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'qa-bot' } }] },
        scopeSpans: [
          {
            scope: { name: 'e2e', version: '1' },
            spans: traces.map((t, i) => ({
              traceId: t.traceId,
              spanId: hex(8),
              name: t.name,
              kind: 1,
              startTimeUnixNano: (t0 + BigInt(i) * 1_000_000n).toString(),
              endTimeUnixNano: (t0 + BigInt(i) * 1_000_000n + 120_000_000n).toString(),
              status: { code: 1 },
              attributes: [{ key: 'cairn.span.type', value: { stringValue: 'CHAIN' } }],
            })),
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
  const deadline = Date.now() + 20_000;
  for (const t of traces) {
    for (;;) {
      const { trace } = await gql<{ trace: { id: string } | null }>(
        'query($id: ID!) { trace(id: $id) { id } }',
        { id: t.traceId },
      );
      if (trace) break;
      if (Date.now() > deadline) throw new Error(`trace ${t.traceId} not projected`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

const first = hex(16);
const second = hex(16);
const queueName = `support-review-${suffix}`;

beforeAll(async () => {
  fs.mkdirSync(shotsDir, { recursive: true });
  ensureWebBuilt();
  cairn = await startCairn();
  browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS });
  context = await browser.newContext({
    viewport: { width: 1400, height: 900 },
    colorScheme: 'light',
  });
  page = await context.newPage();
  const watch = (p: Page) => {
    p.on('pageerror', (error) => {
      pageErrors.push(error.message);
      console.error('[page error]', error.message);
    });
  };
  watch(page);
  context.on('page', watch);
  await sendTraces([
    { traceId: first, name: `question one ${suffix}` },
    { traceId: second, name: `question two ${suffix}` },
  ]);
});

afterAll(async () => {
  await browser?.close();
  if (cairn) await stopCairn(cairn);
});

describe('annotation queues', () => {
  it('creates a queue, adds traces, reviews them with labels, and the label is on the trace', async () => {
    // Create the queue with its label schema.
    await page.goto(`${cairn.url}/evaluations/queues`);
    const form = page.getByRole('form', { name: 'Create annotation queue' });
    await form.waitFor({ timeout: 15_000 });
    await form.getByLabel('Name', { exact: true }).fill(queueName);
    await form.getByLabel('Label name').nth(0).fill('correct');
    await form.getByLabel('Instructions').nth(0).fill('Is the answer right?');
    await form.getByRole('button', { name: 'Add label' }).click();
    await form.getByLabel('Label name').nth(1).fill('quality');
    await form.getByLabel('Kind').nth(1).selectOption('SCORE');
    await form.getByLabel('Min').fill('1');
    await form.getByLabel('Max').fill('5');
    await form.getByLabel('Required').nth(1).uncheck();
    await form.getByRole('button', { name: 'Create queue' }).click();
    const row = page.locator(`tr[data-queue="${queueName}"]`);
    await row.waitFor({ timeout: 15_000 });
    expect(await row.textContent()).toContain('correct*');
    expect(await row.textContent()).toContain('0 pending of 0');
    // A bad schema is refused with the server's typed error.
    await form.getByLabel('Name', { exact: true }).fill(queueName);
    await form.getByLabel('Label name').nth(0).fill('x');
    await form.getByRole('button', { name: 'Create queue' }).click();
    await expect
      .poll(() => form.locator('.typed-error').getAttribute('data-code'), { timeout: 10_000 })
      .toBe('ALREADY_EXISTS');
    await shot(page, '70-annotation-queues');

    // Add the first trace from its trace page; the second through the API.
    await page.goto(`${cairn.url}/trace?id=${first}`);
    await page.getByRole('button', { name: 'Add to queue' }).click();
    const adder = page.getByRole('region', { name: 'Add to annotation queue' });
    const select = adder.getByLabel('Annotation queue');
    await expect.poll(() => select.locator('option').allTextContents()).toContain(queueName);
    await select.selectOption({ label: queueName });
    await adder.getByRole('button', { name: 'Add', exact: true }).click();
    await expect
      .poll(() => adder.getByRole('status').textContent())
      .toContain(`Added to ${queueName}`);
    const { annotationQueues } = await gql<{
      annotationQueues: { nodes: { id: string; name: string }[] };
    }>('{ annotationQueues(first: 50) { nodes { id name } } }');
    const queueId = annotationQueues.nodes.find((q) => q.name === queueName)!.id;
    await gql(
      `mutation($input: AddTracesToAnnotationQueueInput!) {
        addTracesToAnnotationQueue(input: $input) { added } }`,
      { input: { queueId, traceIds: [second] } },
    );

    // The queue page lists both, pending; a second tab keeps it open to watch the progress.
    await adder.getByRole('link', { name: queueName }).click();
    await page.waitForURL(/\/evaluations\/queues\/view\?/u);
    const items = page.locator('table[aria-label="Queue items"] tbody tr');
    await expect.poll(() => items.count(), { timeout: 15_000 }).toBe(2);
    expect(
      await items.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-trace'))),
    ).toEqual([first, second]);
    expect(
      await items.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-status'))),
    ).toEqual(['PENDING', 'PENDING']);
    const watcher = await context.newPage();
    await watcher.goto(page.url());
    await watcher.locator('table[aria-label="Queue items"] tbody tr').nth(1).waitFor();
    await watcher.evaluate('window.__noReload = 1');

    // Review: the first item is handed out; submitting without the required label is refused.
    await page.getByRole('button', { name: 'Start reviewing' }).click();
    await page.waitForURL(new RegExp(`/evaluations/queues/review\\?.*id=${first}`, 'u'));
    const labels = page.getByRole('form', { name: 'Labels' });
    await labels.waitFor({ timeout: 15_000 });
    expect(await labels.textContent()).toContain('Is the answer right?');
    // The trace itself is shown below the form (the trace page's view).
    await page.getByText(`question one ${suffix}`).first().waitFor({ timeout: 15_000 });
    await labels.getByRole('button', { name: 'Submit & next' }).click();
    expect(await labels.getByRole('alert').textContent()).toContain('correct: required');
    await labels.locator('[data-label="quality"] input').fill('9');
    await labels.getByRole('button', { name: 'Submit & next' }).click();
    await expect
      .poll(() => labels.getByRole('alert').allTextContents())
      .toContain('quality: at most 5');
    await labels.locator('[data-label="correct"]').getByLabel('Yes').check();
    await labels.locator('[data-label="quality"] input').fill('4');
    await shot(page, '71-annotation-review');
    await labels.getByRole('button', { name: 'Submit & next' }).click();
    await page.waitForURL(new RegExp(`id=${second}`, 'u'), { timeout: 15_000 });
    await expect
      .poll(() => page.getByTestId('queue-progress').textContent(), { timeout: 15_000 })
      .toContain('1 completed');

    // Skip the second: nothing is left.
    await page.getByRole('form', { name: 'Labels' }).getByRole('button', { name: 'Skip' }).click();
    await page.getByTestId('review-done').waitFor({ timeout: 15_000 });
    await expect
      .poll(() => page.getByTestId('queue-progress').textContent(), { timeout: 15_000 })
      .toContain('100%');

    // The watching tab followed without a reload.
    const watched = watcher.locator('table[aria-label="Queue items"] tbody tr');
    await expect
      .poll(() => watched.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-status'))), {
        timeout: 15_000,
      })
      .toEqual(['COMPLETED', 'SKIPPED']);
    expect(await watcher.evaluate('window.__noReload')).toBe(1);
    expect(await watched.nth(0).textContent()).toContain('correct: true');
    await shot(watcher, '72-annotation-queue-done');

    // The labels are feedback on the trace page, from a human.
    await page.goto(`${cairn.url}/trace?id=${first}`);
    const section = page.getByTestId('trace-assessments');
    await section.waitFor({ timeout: 15_000 });
    const correct = section.locator('li[data-name="correct"]');
    await correct.waitFor({ timeout: 15_000 });
    expect(await correct.textContent()).toMatch(/human/iu);
    expect(await section.locator('li[data-name="quality"]').textContent()).toContain('4');
    expect(pageErrors).toEqual([]);
  });
});
