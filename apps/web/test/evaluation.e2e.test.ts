/**
 * Browser test of the evaluation pages (issue 14) on a real `cairn server` with Debian's Chromium
 * (playwright-core). Data goes in through the API as the SDK sends it: traces over OTLP/HTTP JSON,
 * tracking runs with createRun, then registerEvaluationRun + recordEvaluationRows with judge-style
 * scores. The runs list shows both runs with their means; two are ticked and compared: the row
 * whose correctness went yes → no is marked regressed (red), the unchanged row is not, the
 * improved one is green, "Only changed rows" hides the unchanged row; the run page shows each
 * scorer's value, rationale and error and follows new rows live. On a trace page, feedback (thumbs
 * + comment) left in one tab appears in a second tab without a reload, and an edit keeps the old
 * value in its history. Bad input shows a typed error.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../lib/evaluation.ts';
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
const rowKey = (inputs: unknown) =>
  createHash('sha256').update(canonicalJson(inputs)).digest('hex');

/** One OTLP request with a root span per trace id. */
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
  // Queryable once projected (polled here: this runs in beforeAll too).
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

const QUESTIONS = [
  { question: 'What is the capital of France?' },
  { question: 'What is 2 + 2?' },
  { question: 'Who wrote Hamlet?' },
];
const EXPECTED = ['Paris', '4', 'Shakespeare'];

interface Score {
  correctness: 'yes' | 'no';
  rationale: string;
  length: number | null;
  lengthError?: string;
}

const JUDGE = { type: 'LLM_JUDGE', id: 'openai:/gpt-4o-mini' };
const CODE = { type: 'CODE', id: 'length' };

/** A tracking run registered as an evaluation run, with one row per question. */
async function evaluationRun(
  experimentId: string,
  name: string,
  outputs: string[],
  scores: Score[],
  dataset: { datasetId: string; datasetVersion: number } | null = null,
): Promise<{ runId: string; traceIds: string[] }> {
  const { createRun } = await gql<{ createRun: { id: string } }>(
    'mutation($e: String!, $n: String) { createRun(experimentId: $e, name: $n) { id } }',
    { e: experimentId, n: name },
  );
  const runId = createRun.id;
  await gql(
    `mutation($input: RegisterEvaluationRunInput!) {
      registerEvaluationRun(input: $input) { runId }
    }`,
    { input: { runId, scorers: ['correctness', 'length'], modelId: `${name}-model`, ...dataset } },
  );
  const traceIds = QUESTIONS.map(() => hex(16));
  await sendTraces(traceIds.map((traceId, i) => ({ traceId, name: `${name} row ${i}` })));
  const rows = QUESTIONS.map((inputs, i) => ({
    rowKey: rowKey(inputs),
    traceId: traceIds[i],
    inputs,
    outputs: { response: outputs[i] },
    expectations: { expected_response: EXPECTED[i] },
    scores: [
      {
        name: 'correctness',
        value: scores[i]!.correctness,
        rationale: scores[i]!.rationale,
        source: JUDGE,
      },
      scores[i]!.lengthError
        ? { name: 'length', value: null, error: scores[i]!.lengthError, source: CODE }
        : { name: 'length', value: scores[i]!.length, source: CODE },
    ],
  }));
  const recorded = await gql<{ recordEvaluationRows: number }>(
    'mutation($input: RecordEvaluationRowsInput!) { recordEvaluationRows(input: $input) }',
    { input: { runId, rows } },
  );
  expect(recorded.recordEvaluationRows).toBe(3);
  return { runId, traceIds };
}

let experimentId: string;
let base: { runId: string; traceIds: string[] };
let candidate: { runId: string; traceIds: string[] };
const baseName = `baseline-${suffix}`;
const candidateName = `candidate-${suffix}`;

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
    p.on('console', (message) => {
      if (message.type() === 'error' && /Content Security Policy/iu.test(message.text()))
        pageErrors.push(message.text());
    });
  };
  watch(page);
  context.on('page', watch);

  const { createExperiment } = await gql<{ createExperiment: { id: string } }>(
    'mutation($n: String!) { createExperiment(name: $n) { id } }',
    { n: `qa-eval-${suffix}` },
  );
  experimentId = createExperiment.id;
  base = await evaluationRun(
    experimentId,
    baseName,
    ['Paris', '4', 'Marlowe'],
    [
      { correctness: 'yes', rationale: 'Paris is the capital.', length: 5 },
      { correctness: 'yes', rationale: '2 + 2 = 4.', length: 1 },
      { correctness: 'no', rationale: 'Hamlet is by Shakespeare, not Marlowe.', length: 7 },
    ],
  );
  candidate = await evaluationRun(
    experimentId,
    candidateName,
    ['Lyon', '4', 'Shakespeare'],
    [
      {
        correctness: 'no',
        rationale: 'Lyon is not the capital of France.',
        length: null,
        lengthError: 'length scorer timed out',
      },
      { correctness: 'yes', rationale: '2 + 2 = 4.', length: 1 },
      { correctness: 'yes', rationale: 'Correct: Shakespeare.', length: 11 },
    ],
  );
});

afterAll(async () => {
  await browser?.close();
  if (cairn) await stopCairn(cairn);
});

const [capital, arithmetic, hamlet] = QUESTIONS.map(rowKey) as [string, string, string];

describe('evaluation pages', () => {
  it('lists evaluation runs with their scorers’ means, and compares two: the regressed row is red', async () => {
    await page.goto(`${cairn.url}/evaluations`);
    const nav = page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Evaluations' });
    expect(await nav.getAttribute('aria-current')).toBe('page');
    const baseRow = page.locator(`tr[data-run="${base.runId}"]`);
    const candRow = page.locator(`tr[data-run="${candidate.runId}"]`);
    await candRow.waitFor({ timeout: 15_000 });
    await baseRow.waitFor();
    // Newest first.
    const order = await page
      .locator('table[aria-label="Evaluation runs"] tbody tr')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-run')));
    expect(order.indexOf(candidate.runId)).toBeLessThan(order.indexOf(base.runId));
    expect(await baseRow.textContent()).toContain(baseName);
    expect(await baseRow.textContent()).toContain(`qa-eval-${suffix}`);
    expect(await page.getByTestId(`rows-${base.runId}`).textContent()).toBe('3');
    // Base: correctness 2 of 3 = 0.667, length (5 + 1 + 7) / 3 = 4.333.
    expect(await baseRow.locator('[data-scorer="correctness"] .mean').textContent()).toBe('0.667');
    expect(await baseRow.locator('[data-scorer="length"] .mean').textContent()).toBe('4.333');
    // Candidate: length errored on one row (mean of 1 and 11), shown as an error count.
    expect(await candRow.locator('[data-scorer="length"] .mean').textContent()).toBe('6');
    expect(await candRow.locator('[data-scorer="length"]').textContent()).toContain('1 err');
    await shot(page, '60-evaluation-runs');

    const compare = page.getByTestId('compare-selected');
    expect(await compare.isDisabled()).toBe(true);
    // Ticked newest first: the older run still becomes the base.
    await candRow.getByRole('checkbox').check();
    await baseRow.getByRole('checkbox').check();
    expect(await compare.isDisabled()).toBe(false);
    await compare.click();
    await page.waitForURL(/\/evaluations\/compare\?/u);
    const url = new URL(page.url());
    expect(url.searchParams.get('base')).toBe(base.runId);
    expect(url.searchParams.get('candidate')).toBe(candidate.runId);

    const row = (key: string) => page.locator(`tr[data-row-key="${key}"]`);
    await row(capital).waitFor({ timeout: 15_000 });
    // The acceptance point: the capital row regressed (yes → no) and is marked so, in red.
    expect(await row(capital).getAttribute('data-regressed')).toBe('true');
    expect(await row(capital).getAttribute('class')).toContain('row-regressed');
    expect(await row(capital).locator('.change-word').first().textContent()).toBe('regressed');
    const capitalScore = row(capital).locator('td[data-scorer="correctness"]');
    expect(await capitalScore.getAttribute('data-change')).toBe('REGRESSED');
    expect(await capitalScore.getAttribute('class')).toContain('tone-regressed');
    expect(await capitalScore.textContent()).toContain('yes → no');
    const red = await row(capital)
      .locator('td')
      .first()
      .evaluate((el) => getComputedStyle(el).backgroundColor);
    const plain = await row(arithmetic)
      .locator('td')
      .first()
      .evaluate((el) => getComputedStyle(el).backgroundColor);
    expect(red).not.toBe(plain);
    // The unchanged row is not.
    expect(await row(arithmetic).getAttribute('data-regressed')).toBe('false');
    expect(await row(arithmetic).getAttribute('data-tone')).toBe('unchanged');
    expect(
      await row(arithmetic).locator('td[data-scorer="correctness"]').getAttribute('data-change'),
    ).toBe('UNCHANGED');
    // Hamlet improved (no → yes), green.
    expect(await row(hamlet).getAttribute('data-improved')).toBe('true');
    expect(await row(hamlet).getAttribute('data-regressed')).toBe('false');
    expect(await row(hamlet).getAttribute('class')).toContain('row-improved');
    expect(
      await row(hamlet).locator('td[data-scorer="correctness"]').getAttribute('class'),
    ).toContain('tone-improved');
    // Per-scorer means and deltas: correctness 0.667 → 0.667 (±0), length 4.333 → 6 (+1.667).
    const scorers = page.getByTestId('scorer-comparison');
    const correctness = scorers.locator('tr[data-scorer="correctness"]');
    expect(await correctness.textContent()).toContain('0.667');
    expect(await page.getByTestId('delta-correctness').textContent()).toBe('±0');
    expect(await page.getByTestId('delta-length').textContent()).toBe('+1.667');
    expect(await scorers.locator('tr[data-scorer="length"]').getAttribute('data-tone')).toBe(
      'improved',
    );
    expect(await correctness.locator('td').nth(4).textContent()).toBe('1');
    expect(await correctness.locator('td').nth(5).textContent()).toBe('1');
    await shot(page, '61-evaluation-compare');

    // Only changed rows: the unchanged arithmetic row goes, the URL keeps the choice.
    await page.getByTestId('only-changed').check();
    await expect.poll(() => row(arithmetic).count(), { timeout: 15_000 }).toBe(0);
    expect(await row(capital).count()).toBe(1);
    expect(await row(hamlet).count()).toBe(1);
    expect(new URL(page.url()).searchParams.get('changed')).toBe('1');
    await page.getByTestId('only-changed').uncheck();
    await row(arithmetic).waitFor({ timeout: 15_000 });
  });

  it('shows a run’s rows: values, rationale, errors, trace links; new rows arrive live', async () => {
    await page.getByTestId('candidate-run').click();
    await page.waitForURL(/\/evaluations\/run\?/u);
    expect(new URL(page.url()).searchParams.get('id')).toBe(candidate.runId);
    const rows = page.getByRole('table', { name: 'Evaluation rows' });
    const capitalRow = rows.locator(`tr[data-row-key="${capital}"]`);
    await capitalRow.waitFor({ timeout: 15_000 });
    expect(await rows.locator('tbody tr').count()).toBe(3);
    expect(await capitalRow.textContent()).toContain('What is the capital of France?');
    expect(await capitalRow.textContent()).toContain('Lyon');
    expect(await capitalRow.textContent()).toContain('Paris');
    const verdict = capitalRow.locator('td[data-scorer="correctness"]');
    expect(await verdict.locator('.value').textContent()).toBe('no');
    // The rationale: on hover (title) and expanded.
    expect(await verdict.locator('summary').getAttribute('title')).toBe(
      'Lyon is not the capital of France.',
    );
    await verdict.locator('summary').click();
    await expect.poll(() => verdict.locator('.rationale').isVisible()).toBe(true);
    expect(await verdict.locator('.rationale').textContent()).toBe(
      'Lyon is not the capital of France.',
    );
    // The scorer error is shown, not hidden.
    const capitalLength = capitalRow.locator('td[data-scorer="length"]');
    expect(await capitalLength.getByTestId('score-error').textContent()).toContain(
      'length scorer timed out',
    );
    expect(await page.getByTestId('mean-length').textContent()).toBe('6');
    expect(
      await page.getByTestId('scorer-summary').locator('tr[data-scorer="length"]').textContent(),
    ).toContain('1');
    // The row links to its trace.
    const traceLink = capitalRow.getByRole('link');
    expect(await traceLink.getAttribute('href')).toBe(`/trace?id=${candidate.traceIds[0]}`);
    await shot(page, '62-evaluation-run');

    // A row recorded now appears without a reload (evaluationRunChanged).
    await expect
      .poll(() => page.locator('.live-indicator').getAttribute('data-status'), { timeout: 15_000 })
      .toBe('live');
    await page.waitForTimeout(500);
    await page.evaluate('window.__noReload = 1');
    const inputs = { question: `What is the tallest mountain? ${suffix}` };
    const traceId = hex(16);
    await sendTraces([{ traceId, name: 'late row' }]);
    await gql(
      'mutation($input: RecordEvaluationRowsInput!) { recordEvaluationRows(input: $input) }',
      {
        input: {
          runId: candidate.runId,
          rows: [
            {
              rowKey: rowKey(inputs),
              traceId,
              inputs,
              outputs: { response: 'Everest' },
              scores: [{ name: 'correctness', value: 'yes', source: JUDGE }],
            },
          ],
        },
      },
    );
    await rows.locator(`tr[data-row-key="${rowKey(inputs)}"]`).waitFor({ timeout: 15_000 });
    await expect.poll(() => page.getByTestId('evaluation-row-count').textContent()).toBe('4');
    expect(await page.evaluate('window.__noReload')).toBe(1);
  });

  it('keeps the runs list live: a run evaluated elsewhere appears on top without a reload', async () => {
    await page.goto(`${cairn.url}/evaluations`);
    await expect
      .poll(() => page.getByTestId('evaluation-runs-count').textContent(), { timeout: 15_000 })
      .toBe('2 evaluation runs');
    await expect
      .poll(() => page.locator('.live-indicator').getAttribute('data-status'), { timeout: 15_000 })
      .toBe('live');
    await page.waitForTimeout(500);
    await page.evaluate('window.__noReload = 1');
    const { createEvaluationDataset } = await gql<{ createEvaluationDataset: { id: string } }>(
      'mutation($input: CreateEvaluationDatasetInput!) { createEvaluationDataset(input: $input) { id } }',
      { input: { name: `qa-set-${suffix}`, experimentId } },
    );
    const { appendDatasetRecords } = await gql<{ appendDatasetRecords: { version: number } }>(
      'mutation($input: AppendDatasetRecordsInput!) { appendDatasetRecords(input: $input) { version } }',
      {
        input: {
          datasetId: createEvaluationDataset.id,
          records: QUESTIONS.map((inputs, i) => ({
            inputs,
            expectations: { expected_response: EXPECTED[i] },
          })),
        },
      },
    );
    const third = await evaluationRun(
      experimentId,
      `third-${suffix}`,
      ['Paris', '5', 'Shakespeare'],
      [
        { correctness: 'yes', rationale: 'Right.', length: 5 },
        { correctness: 'no', rationale: '2 + 2 is 4, not 5.', length: 1 },
        { correctness: 'yes', rationale: 'Right.', length: 11 },
      ],
      { datasetId: createEvaluationDataset.id, datasetVersion: appendDatasetRecords.version },
    );
    const row = page.locator(`tr[data-run="${third.runId}"]`);
    await row.waitFor({ timeout: 15_000 });
    await expect
      .poll(() => page.getByTestId('evaluation-runs-count').textContent())
      .toBe('3 evaluation runs');
    expect(
      await page
        .locator('table[aria-label="Evaluation runs"] tbody tr')
        .first()
        .getAttribute('data-run'),
    ).toBe(third.runId);
    await expect
      .poll(() => row.locator('[data-scorer="correctness"] .mean').textContent())
      .toBe('0.667');
    // Its dataset by name, at the version it evaluated.
    await expect
      .poll(() => page.getByTestId(`dataset-${third.runId}`).textContent())
      .toBe(`qa-set-${suffix} v${appendDatasetRecords.version}`);
    expect(await page.evaluate('window.__noReload')).toBe(1);
  });

  it('shows a typed error for a comparison of a run that does not exist', async () => {
    await page.goto(
      `${cairn.url}/evaluations/compare?base=${base.runId}&candidate=${'0'.repeat(32)}`,
    );
    const alert = page.locator('.typed-error').getByRole('alert');
    await alert.waitFor({ timeout: 15_000 });
    console.log('[compare error]', await alert.textContent());
    expect(await alert.textContent()).toMatch(/not found/iu);
    expect(await page.getByTestId('error-code').textContent()).toBe('NOT_FOUND');
    await shot(page, '63-evaluation-compare-error');
  });

  it('leaves feedback on a trace (thumbs + comment) and a second tab sees it live; edits keep history', async () => {
    const traceId = candidate.traceIds[0]!;
    const tab2 = await context.newPage();
    await tab2.goto(`${cairn.url}/trace?id=${traceId}`);
    await page.goto(`${cairn.url}/trace?id=${traceId}`);
    const section = (p: Page) => p.getByTestId('trace-assessments');
    await section(page).waitFor({ timeout: 15_000 });
    await section(tab2).waitFor({ timeout: 15_000 });
    // The evaluation's scores are this trace's feedback already, with their source.
    const judged = section(page).locator('li[data-name="correctness"]');
    await judged.waitFor();
    expect(await judged.textContent()).toContain('LLM judge · openai:/gpt-4o-mini');
    expect(await judged.textContent()).toContain('Lyon is not the capital of France.');
    for (const p of [page, tab2])
      await expect
        .poll(() => p.locator('.live-indicator').getAttribute('data-status'), { timeout: 15_000 })
        .toBe('live');
    await tab2.waitForTimeout(500);
    await tab2.evaluate('window.__noReload = 1');

    // Bad input first: a score that is not a number is refused with the field marked.
    const form = page.getByRole('form', { name: 'Leave feedback' });
    await form.getByLabel('Feedback name', { exact: true }).fill(`helpful-${suffix}`);
    await form.getByLabel('Feedback kind', { exact: true }).selectOption('score');
    await form.getByLabel('Score', { exact: true }).fill('very');
    await form.getByRole('button', { name: 'Send feedback' }).click();
    const formError = form.getByRole('alert');
    await formError.waitFor();
    expect(await formError.textContent()).toContain('must be a number');
    expect(await form.getByLabel('Score', { exact: true }).getAttribute('aria-invalid')).toBe(
      'true',
    );

    // Thumbs down + a comment (markup stays text).
    await form.getByLabel('Feedback kind', { exact: true }).selectOption('thumbs');
    await form.getByRole('button', { name: 'Thumbs down' }).click();
    const comment = 'Wrong city <b>again</b>';
    await form.getByLabel('Comment', { exact: true }).fill(comment);
    await form.getByRole('button', { name: 'Send feedback' }).click();
    await form.getByRole('status').waitFor({ timeout: 15_000 });
    expect(await form.getByRole('alert').count()).toBe(0);

    const mine = (p: Page) => section(p).locator(`li[data-name="helpful-${suffix}"]`);
    await mine(page).waitFor({ timeout: 15_000 });
    // The second tab: there without a reload.
    await mine(tab2).waitFor({ timeout: 15_000 });
    expect(await mine(tab2).getByTestId('assessment-value').textContent()).toBe('👎 down');
    expect(await mine(tab2).getByTestId('assessment-rationale').textContent()).toBe(comment);
    expect(await mine(tab2).locator('b').count()).toBe(0);
    expect(await mine(tab2).textContent()).toContain('human ·');
    expect(await tab2.evaluate('window.__noReload')).toBe(1);
    await shot(tab2, '64-trace-feedback-second-tab');

    // Edit: thumbs up now; the second tab follows and lists the earlier value.
    await mine(page)
      .getByRole('button', { name: `Edit feedback helpful-${suffix}` })
      .click();
    const edit = page.getByRole('form', { name: `Edit feedback helpful-${suffix}` });
    await edit.getByRole('button', { name: 'Thumbs up' }).click();
    await edit.getByLabel('Comment', { exact: true }).fill('Fixed after retry');
    await edit.getByRole('button', { name: 'Save change' }).click();
    await expect
      .poll(() => mine(tab2).getByTestId('assessment-value').textContent(), { timeout: 15_000 })
      .toBe('👍 up');
    expect(await mine(tab2).getByTestId('assessment-rationale').textContent()).toBe(
      'Fixed after retry',
    );
    const history = mine(tab2).locator('details');
    expect(await history.locator('summary').textContent()).toBe('1 earlier value');
    await history.locator('summary').click();
    expect(await history.locator('ol.history li').first().textContent()).toContain('👎 down');
    expect(await history.locator('ol.history li').first().textContent()).toContain(comment);
    expect(await tab2.evaluate('window.__noReload')).toBe(1);
    await shot(tab2, '65-trace-feedback-edited');
    await tab2.close();
    expect(pageErrors).toEqual([]);
  });

  it('creates an online rule in the form (the API’s typed error shown first) and charts its scores live', async () => {
    await page.goto(`${cairn.url}/evaluations/rules`);
    await expect
      .poll(() => page.getByTestId('rules-count').textContent(), { timeout: 15_000 })
      .toBe('0 rules');
    await expect
      .poll(() => page.locator('.live-indicator').getAttribute('data-status'), { timeout: 15_000 })
      .toBe('live');
    await page.getByText('New rule').click();
    const form = page.getByRole('form', { name: 'Create a rule' });
    const ruleName = `latency-${suffix}`;
    const probe = `rule-probe-${suffix}`;
    await form.getByLabel('Name', { exact: true }).fill(ruleName);
    await form.getByLabel('Trace filter').fill(`name = '${probe}'`);
    await form.getByLabel('Sampling rate').fill('150%');
    await form.getByLabel('Scorer 1 name').fill('fast');
    await form.getByLabel('Scorer 1 type').selectOption('latency_budget');
    await form.getByRole('button', { name: 'Create rule' }).click();
    // Checked here first: the rate is out of range.
    const alert = form.locator('.typed-error').getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toContain('between 0 and 1');
    // Then the API's own check: latency_budget needs maxMs.
    await form.getByLabel('Sampling rate').fill('100%');
    await form.getByRole('button', { name: 'Create rule' }).click();
    await expect.poll(() => alert.textContent(), { timeout: 15_000 }).toContain('maxMs');
    console.log('[rule error]', await alert.textContent());
    expect(await form.getByTestId('error-code').textContent()).toBe('INVALID_ARGUMENT');
    await form.getByLabel('Scorer 1 config (JSON)').fill('{"maxMs": 2000}');
    await form.getByRole('button', { name: 'Create rule' }).click();
    await form.getByRole('status').waitFor({ timeout: 15_000 });
    expect(await form.getByRole('status').textContent()).toBe(`Created ${ruleName}.`);
    const card = page.locator(`section[data-rule="${ruleName}"]`);
    await card.waitFor({ timeout: 15_000 });
    expect(await card.textContent()).toContain('samples 100 %');
    expect(await card.getByTestId(`scored-${ruleName}`).textContent()).toBe('0 traces scored');
    expect(await card.getByTestId('chart-fast').textContent()).toContain('No scores yet.');

    // A matching trace arrives: the consumer scores it and the page follows without a reload.
    await page.evaluate('window.__noReload = 1');
    await sendTraces([{ traceId: hex(16), name: probe }]);
    await expect
      .poll(() => card.getByTestId(`scored-${ruleName}`).textContent(), { timeout: 30_000 })
      .toBe('1 traces scored');
    await expect
      .poll(() => card.getByTestId('chart-fast').textContent(), { timeout: 15_000 })
      .toContain('1 score');
    expect(await card.getByTestId('chart-fast').textContent()).toContain('mean 1');
    expect(await card.locator('svg.rule-chart rect.bar').count()).toBe(1);
    expect(await page.evaluate('window.__noReload')).toBe(1);
    await shot(page, '66-evaluation-rules');

    await card.getByRole('button', { name: 'Pause' }).click();
    await expect
      .poll(() => card.locator('.badge').textContent(), { timeout: 15_000 })
      .toBe('paused');
    expect(pageErrors).toEqual([]);
  });
});
