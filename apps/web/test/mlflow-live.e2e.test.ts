/**
 * Browser test of issue 15's "runs logged by the mlflow client appear live in Cairn's dashboard":
 * the real `mlflow` client (the pinned 3.x of scripts/mlflow-compat-test.sh, unmodified, in its
 * venv .cache/mlflow-compat-venv) logs to a real `cairn server` over MLflow's REST API while
 * Debian's Chromium (playwright-core) has the dashboard open. Without a reload: the experiment
 * appears in the experiments list (which re-reads every 3 s), the parent run and its nested child
 * appear in the runs table with a param and the last metric value (runsChanged), and the run
 * page's chart and values follow the steps logged afterwards and the run's end (metricsLogged,
 * runChanged). The Python script waits on stdin between phases, so each step is seen live.
 * Screenshots go to test-results/screenshots/.
 */
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHROMIUM_ARGS,
  chromiumPath,
  ensureWebBuilt,
  repoRoot,
  shotsDir,
  startCairn,
  stopCairn,
  type Cairn,
} from './browser-harness.ts';

const venv = process.env.MLFLOW_COMPAT_VENV ?? path.join(repoRoot, '.cache/mlflow-compat-venv');
const python = path.join(venv, 'bin/python');

/**
 * Logs in phases; before each next phase it prints a line and waits for `go` on stdin. Plain
 * mlflow calls, as a user's training script makes them.
 */
const SCRIPT = String.raw`
import sys
import mlflow

def wait(line):
    print(line, flush=True)
    if sys.stdin.readline().strip() != "go":
        sys.exit(3)

experiment = mlflow.set_experiment("mlflow-live")
wait(f"experiment {experiment.experiment_id}")
with mlflow.start_run(run_name="mlflow-live-parent") as parent:
    mlflow.log_param("lr", "0.01")
    with mlflow.start_run(run_name="mlflow-live-child", nested=True) as child:
        mlflow.log_param("lr", "0.005")
        for step, loss in enumerate([0.9, 0.7, 0.5]):
            mlflow.log_metric("loss", loss, step=step)
        wait(f"runs {parent.info.run_id} {child.info.run_id}")
        for step, loss in [(3, 0.4), (4, 0.3), (5, 0.25)]:
            mlflow.log_metric("loss", loss, step=step)
        wait("logged")
print("done", flush=True)
`;

/** The running script: its stdout lines, awaited one prefix at a time. */
class Script {
  readonly child: ChildProcessWithoutNullStreams;
  readonly stderr: string[] = [];
  private readonly lines: string[] = [];
  private waiter: (() => void) | null = null;
  readonly exited: Promise<number | null>;

  constructor(file: string, trackingUri: string) {
    this.child = spawn(python, [file], {
      cwd: repoRoot,
      env: {
        ...process.env,
        MLFLOW_TRACKING_URI: trackingUri,
        MLFLOW_DISABLE_TELEMETRY: 'true',
        DO_NOT_TRACK: 'true',
        MLFLOW_HTTP_REQUEST_MAX_RETRIES: '0',
        PYTHONDONTWRITEBYTECODE: '1',
        PYTHONUNBUFFERED: '1',
      },
      stdio: 'pipe',
    });
    readline.createInterface({ input: this.child.stdout }).on('line', (line) => {
      this.lines.push(line);
      this.waiter?.();
    });
    this.child.stderr.on('data', (chunk: Buffer) => this.stderr.push(chunk.toString('utf8')));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    void this.exited.then(() => this.waiter?.());
  }

  /** The next stdout line starting with `prefix` (split on spaces). */
  async line(prefix: string, timeoutMs = 120_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const at = this.lines.findIndex((l) => l.startsWith(prefix));
      if (at >= 0) return this.lines.splice(0, at + 1)[at]!.split(' ');
      if (this.child.exitCode !== null || Date.now() > deadline)
        throw new Error(
          `mlflow script: no "${prefix}" line (exit ${this.child.exitCode}); stdout:\n` +
            `${this.lines.join('\n')}\nstderr:\n${this.stderr.join('')}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = null;
    }
  }

  go(): void {
    this.child.stdin.write('go\n');
  }
}

let cairn: Cairn;
let browser: Browser;
let page: Page;
let script: Script | null = null;
let scriptDir = '';
const pageErrors: string[] = [];

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(shotsDir, `${name}.png`), fullPage: false });
}

beforeAll(async () => {
  fs.mkdirSync(shotsDir, { recursive: true });
  // Creates (first time: minutes of pip install) or reuses the compat venv; `--version` only
  // prints pytest's version.
  execFileSync('bash', [path.join(repoRoot, 'scripts/mlflow-compat-test.sh'), '--version'], {
    cwd: repoRoot,
    stdio: 'inherit',
    timeout: 900_000,
  });
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
  scriptDir = fs.mkdtempSync(path.join(cairn.home, 'mlflow-script-'));
}, 1_100_000);

afterAll(async () => {
  if (script && script.child.exitCode === null) script.child.kill('SIGKILL');
  await browser?.close();
  if (cairn) await stopCairn(cairn);
});

describe('runs logged by the mlflow client', () => {
  let experimentId = '';
  let parentId = '';
  let childId = '';
  const runRow = (id: string) => page.locator(`tr.run-row[data-run-id="${id}"]`);

  async function waitLive(): Promise<void> {
    await expect
      .poll(() => page.locator('.live-indicator').getAttribute('data-status'), {
        timeout: 15_000,
      })
      .toBe('live');
  }

  it('set_experiment: the experiment appears in the open experiments list', async () => {
    await page.goto(`${cairn.url}/`);
    await page.getByRole('table', { name: 'Experiments' }).waitFor({ timeout: 15_000 });
    const link = page.getByRole('link', { name: 'mlflow-live', exact: true });
    expect(await link.count()).toBe(0);
    await page.evaluate('window.__noReload = 1');

    const file = path.join(scriptDir, 'log_runs.py');
    fs.writeFileSync(file, SCRIPT);
    script = new Script(file, cairn.url);
    experimentId = (await script.line('experiment '))[1] ?? '';
    expect(experimentId).toMatch(/^\S+$/u);

    await link.waitFor({ timeout: 15_000 });
    expect(await link.getAttribute('href')).toBe(
      `/experiment?id=${encodeURIComponent(experimentId)}`,
    );
    expect(await page.evaluate('window.__noReload')).toBe(1);
    await shot('60-mlflow-live-experiment');
  });

  it('start_run with a nested run, log_param, log_metric: rows appear in the open runs table', async () => {
    // The lr param and loss metric as columns (the defaults are fixed from the first runs seen,
    // and these runs arrive before their params).
    await page.goto(
      `${cairn.url}/experiment?id=${encodeURIComponent(experimentId)}&cols=params.lr,metrics.loss`,
    );
    await expect
      .poll(() => page.getByTestId('runs-count').textContent(), { timeout: 15_000 })
      .toBe('0 runs');
    await waitLive();
    await page.evaluate('window.__noReload = 2');

    script!.go();
    const ids = await script!.line('runs ');
    [parentId, childId] = [ids[1] ?? '', ids[2] ?? ''];
    expect(parentId).not.toBe('');
    expect(childId).not.toBe('');
    const parent = runRow(parentId);
    const child = runRow(childId);
    await expect
      .poll(() => parent.locator('a.run-link').textContent(), { timeout: 15_000 })
      .toBe('mlflow-live-parent');
    await expect
      .poll(() => child.locator('a.run-link').textContent(), { timeout: 15_000 })
      .toBe('mlflow-live-child');
    await expect.poll(() => page.getByTestId('runs-count').textContent()).toBe('2 runs');
    // The child sits right under its parent, which can fold it.
    await expect
      .poll(() =>
        page.locator('tr.run-row').evaluateAll((rows) => rows.map((r) => r.dataset.runId)),
      )
      .toEqual([parentId, childId]);
    expect(
      await parent.getByRole('button', { name: 'Hide 1 child runs of mlflow-live-parent' }).count(),
    ).toBe(1);
    // Param and metric cells: [lr, loss] after the five fixed columns.
    const cells = (row: typeof parent) =>
      row.locator('td').evaluateAll((tds) => tds.slice(5).map((td) => td.textContent));
    await expect.poll(() => cells(parent), { timeout: 15_000 }).toEqual(['0.01', '']);
    await expect.poll(() => cells(child), { timeout: 15_000 }).toEqual(['0.005', '0.5']);
    for (const row of [parent, child])
      expect(await row.locator('.badge').textContent()).toBe('running');
    expect(await page.evaluate('window.__noReload')).toBe(2);
    await shot('61-mlflow-live-runs');
  });

  it("the run page's chart and values follow the steps logged next, then the run's end", async () => {
    await runRow(childId).locator('a.run-link').click();
    await page.waitForURL(/\/run\?id=/u);
    expect(new URL(page.url()).searchParams.get('id')).toBe(childId);
    await page.locator('[data-testid="chart-loss"] canvas').first().waitFor({ timeout: 15_000 });
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toContain(
      'mlflow-live-child',
    );
    expect(await page.locator('section[aria-label="Parameters"]').textContent()).toContain('0.005');
    await expect
      .poll(() => page.getByTestId('last-loss').textContent(), { timeout: 15_000 })
      .toBe('0.5');
    expect(await page.getByTestId('stats-loss').textContent()).toContain('3 points shown');
    await waitLive();
    await page.evaluate('window.__noReload = 3');
    await shot('62-mlflow-live-run-3-steps');

    script!.go();
    await script!.line('logged');
    await expect
      .poll(() => page.getByTestId('last-loss').textContent(), { timeout: 15_000 })
      .toBe('0.25');
    await expect
      .poll(() => page.getByTestId('stats-loss').textContent(), { timeout: 15_000 })
      .toContain('6 points shown');
    expect(await page.getByTestId('stats-loss').textContent()).toContain('min 0.25');
    expect(await page.getByTestId('stats-loss').textContent()).toContain('max 0.9');
    expect(await page.getByRole('heading', { level: 1 }).locator('.badge').textContent()).toBe(
      'running',
    );
    await shot('63-mlflow-live-run-6-steps');

    // Leaving the `with` blocks ends both runs: the status follows live.
    script!.go();
    await script!.line('done');
    expect(await script!.exited).toBe(0);
    await expect
      .poll(() => page.getByRole('heading', { level: 1 }).locator('.badge').first().textContent(), {
        timeout: 15_000,
      })
      .toBe('finished');
    expect(await page.evaluate('window.__noReload')).toBe(3);
    expect(pageErrors).toEqual([]);
  });
});
