/**
 * Browser test of the audit page and the per-object history (issue 17) on a real `cairn server`
 * with Debian's Chromium (playwright-core): a change made over the API appears on /audit and in
 * the run's History tab without a reload (auditLogAppended), the actor filter keeps only that
 * actor's entries (and lives in the URL), and a row expands to its data. One server for the file.
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
let runId = '';
let keySecret = '';
let keyActor = '';

const gql = <T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}) =>
  gqlAt<T>(cairn.url, query, variables);

/** A GraphQL call as the API key (its actor is `key:<id>`). */
async function asKey(query: string, variables: Record<string, unknown> = {}): Promise<void> {
  const res = await fetch(`${cairn.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${keySecret}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { errors?: unknown[] };
  if (body.errors?.length) throw new Error(JSON.stringify(body.errors));
}

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
    { name: `audit ${suffix}` },
  );
  const { createRun } = await gql<{ createRun: { id: string } }>(
    'mutation($e: String!) { createRun(experimentId: $e, name: "audited") { id } }',
    { e: createExperiment.id },
  );
  runId = createRun.id;
  const { createApiKey } = await gql<{ createApiKey: { secret: string; apiKey: { id: string } } }>(
    'mutation { createApiKey(input: { name: "auditor", role: "owner" }) { secret apiKey { id } } }',
  );
  keySecret = createApiKey.secret;
  keyActor = `key:${createApiKey.apiKey.id}`;
}, 240_000);

afterAll(async () => {
  await browser?.close();
  if (cairn) await stopCairn(cairn);
});

const rows = (p: Page, selector = '[data-testid="audit-table"] tbody tr[data-position]') =>
  p.locator(selector);

describe('audit page and object history', () => {
  it('shows changes live on /audit, filters by actor, expands a row', async () => {
    await page.goto(`${cairn.url}/audit`);
    await rows(page)
      .filter({ hasText: `run-${runId}` })
      .first()
      .waitFor();
    expect(await page.locator(`tr[data-type="RunStarted"]`).count()).toBeGreaterThan(0);

    // A change by the key appears without a reload.
    await asKey(
      'mutation($r: String!) { setTag(runId: $r, key: "reviewed", value: "yes") { id } }',
      { r: runId },
    );
    const keyRow = page.locator(`tr[data-type="RunTagsSet"][data-actor="${keyActor}"]`);
    await keyRow.waitFor({ timeout: 15_000 });
    expect(await keyRow.textContent()).toContain(`run-${runId}`);

    // Filter by that actor (click on it): only the key's entries stay; the URL says so.
    await keyRow.getByRole('button', { name: keyActor }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get('actor')).toBe(keyActor);
    await expect
      .poll(async () => page.locator('tr[data-actor="anonymous"]').count(), { timeout: 10_000 })
      .toBe(0);
    expect(await rows(page).count()).toBeGreaterThan(0);
    const actors = await rows(page).evaluateAll((trs) => trs.map((t) => t.dataset.actor));
    expect(new Set(actors)).toEqual(new Set([keyActor]));

    // A change by someone else does not enter the filtered view; one by the key does.
    await gql('mutation($r: String!) { setTag(runId: $r, key: "other", value: "1") { id } }', {
      r: runId,
    });
    await asKey('mutation($r: String!) { logParam(runId: $r, key: "lr", value: "0.1") { id } }', {
      r: runId,
    });
    await page.locator(`tr[data-type="RunParamsLogged"][data-actor="${keyActor}"]`).waitFor();
    expect(await page.locator('tr[data-actor="anonymous"]').count()).toBe(0);

    // Expanding a row shows its data.
    await page
      .locator('tr[data-type="RunParamsLogged"]')
      .getByRole('button', { name: /Show details/ })
      .click();
    await expect.poll(() => page.locator('tr[data-details]').first().textContent()).toContain('lr');
    await page.screenshot({ path: path.join(shotsDir, 'audit.png'), fullPage: true });
  }, 60_000);

  it("shows the run's history in its History tab, live", async () => {
    await page.goto(`${cairn.url}/run?id=${encodeURIComponent(runId)}&tab=history`);
    const history = page.locator('[data-testid="object-history"]');
    await history.locator('tr[data-type="RunStarted"]').waitFor();
    expect(await history.locator('tr[data-type="RunTagsSet"]').count()).toBe(2);
    await gql('mutation($r: String!) { updateRun(runId: $r, name: "renamed") { id } }', {
      r: runId,
    });
    await history.locator('tr[data-type="RunRenamed"]').waitFor({ timeout: 15_000 });
    // Only this run's stream.
    const streams = await history
      .locator('tr[data-position]')
      .evaluateAll((trs) => trs.map((t) => t.dataset.type));
    expect(streams).not.toContain('ExperimentCreated');
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
