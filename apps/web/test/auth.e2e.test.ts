/**
 * Browser test of the dashboard's sign-in and settings pages (docs/auth.md, "Dashboard") on a
 * real `cairn server --auth required` (its database a real PostgreSQL of the test run, users and
 * keys made with the real `cairn users create` / `cairn keys create`) and Debian's Chromium:
 * an unauthenticated visit lands on /login?next=…; a wrong password is said in the form; signing
 * in comes back to `next`; on the keys page a key is created, its secret shown once (gone after
 * "Done" and after a reload), it works as `Authorization: Bearer` on /graphql, a key made with
 * the CLI appears live, and after "Revoke" + confirm the key gets 401; the members page invites,
 * changes a role and removes; the workspaces page creates one; a viewer sees no write controls;
 * signing out ends the session. A second server with auth off shows the no-auth banner.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '@cairn/testing';
import {
  CHROMIUM_ARGS,
  chromiumPath,
  ensureWebBuilt,
  outDir,
  repoRoot,
  shotsDir,
  startCairn,
  stopCairn,
  type Cairn,
} from './browser-harness.ts';

const CLI = path.join(repoRoot, 'apps/cli/bin/cairn.js');
const suffix = Math.random().toString(36).slice(2, 8);
const admin = { email: `ada-${suffix}@example.com`, password: `correct horse ${suffix} staple` };
const viewer = { email: `vic-${suffix}@example.com`, password: `viewer pass ${suffix} long` };
const invitee = { email: `ivy-${suffix}@example.com`, password: `invitee pass ${suffix} long` };

let databaseUrl: string;
let dropDb: (() => Promise<void>) | undefined;
let cairn: Cairn;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const pageErrors: string[] = [];

/** The real CLI against the server's database (the server's projector applies its writes). */
function cli(args: string[], input?: string): string {
  return execFileSync(process.execPath, [CLI, ...args, '--database-url', databaseUrl], {
    cwd: repoRoot,
    input,
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
    timeout: 60_000,
  }).trim();
}

function createUser(user: { email: string; password: string }, role: string): string {
  return cli(
    [
      'users',
      'create',
      '--email',
      user.email,
      '--workspace',
      'default',
      '--role',
      role,
      '--password-stdin',
    ],
    user.password,
  );
}

/** `cairn server --auth required` on the test database; resolves with the URL it prints. */
async function startRequired(): Promise<Cairn> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-web-auth-'));
  const child = spawn(
    process.execPath,
    [
      CLI,
      'server',
      '--home',
      home,
      '--database-url',
      databaseUrl,
      '--port',
      '0',
      '--auth',
      'required',
    ],
    { cwd: repoRoot, env: { ...process.env, CAIRN_WEB_ROOT: outDir }, stdio: 'pipe' },
  );
  const log: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`cairn server did not start:\n${log.join('')}`)),
      120_000,
    );
    const onData = (chunk: Buffer) => {
      log.push(chunk.toString('utf8'));
      const m = /Cairn is running at (http:\/\/\S+?) /u.exec(log.join(''));
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`cairn server exited with ${code}:\n${log.join('')}`));
    });
  });
  return { url, process: child, home, log };
}

async function shot(target: Page, file: string): Promise<void> {
  await target.screenshot({ path: path.join(shotsDir, `${file}.png`), fullPage: true });
}

async function newPage(): Promise<{ context: BrowserContext; page: Page }> {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const p = await ctx.newPage();
  p.on('pageerror', (error) => {
    pageErrors.push(error.message);
    console.error('[page error]', error.message);
  });
  p.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy/iu.test(message.text()))
      pageErrors.push(message.text());
  });
  return { context: ctx, page: p };
}

async function signIn(target: Page, user: { email: string; password: string }): Promise<void> {
  await target.getByTestId('login-email').fill(user.email);
  await target.getByTestId('login-password').fill(user.password);
  await target.getByRole('button', { name: 'Sign in', exact: true }).click();
}

/** POST /graphql with a key as Bearer. */
async function withKey(key: string, query: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${cairn.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query }),
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

beforeAll(async () => {
  fs.mkdirSync(shotsDir, { recursive: true });
  ensureWebBuilt();
  const database = await createTestDatabase();
  databaseUrl = database.url;
  dropDb = database.drop;
  cairn = await startRequired();
  createUser(admin, 'owner');
  createUser(viewer, 'viewer');
  createUser(invitee, 'viewer');
  // A user of another workspace only: not a member here until invited.
  cli([
    'users',
    'create',
    '--email',
    `x-${suffix}@example.com`,
    '--workspace',
    'other',
    '--role',
    'member',
  ]);
  browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS });
  ({ context, page } = await newPage());
});

afterAll(async () => {
  await browser?.close();
  if (cairn) await stopCairn(cairn);
  await dropDb?.();
});

describe('sign-in', () => {
  it('sends an unauthenticated visit to /login with next, says a wrong password, comes back after signing in', async () => {
    await page.goto(`${cairn.url}/settings/keys`);
    await page.waitForURL(/\/login\?next=/u, { timeout: 30_000 });
    expect(new URL(page.url()).searchParams.get('next')).toBe('/settings/keys');

    await signIn(page, { email: admin.email, password: 'not the password' });
    const error = page.getByTestId('login-error');
    await error.waitFor({ timeout: 15_000 });
    expect(await error.textContent()).toContain('Invalid email or password');
    expect(new URL(page.url()).pathname).toBe('/login');

    await signIn(page, admin);
    await page.waitForURL((u) => u.pathname === '/settings/keys', { timeout: 30_000 });
    const who = page.getByTestId('signed-in');
    await expect.poll(() => who.textContent(), { timeout: 15_000 }).toContain(`ada-${suffix}`);
    expect(await who.textContent()).toContain('owner');
    expect(await page.getByTestId('no-auth-banner').count()).toBe(0);
  });

  it('says how long to wait when failed sign-ins back off (429 + Retry-After)', async () => {
    const email = `nobody-${suffix}@example.com`;
    const attempt = () =>
      fetch(`${cairn.url}/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password: 'wrong password' }),
      });
    // Five free failures, then the delay doubles with each failure: wait each one out until
    // the next wait is 8 s, long enough for the browser to see it.
    let failures = 0;
    while (failures < 8) {
      const res = await attempt();
      if (res.status === 429) {
        const wait = Number(res.headers.get('retry-after'));
        expect(wait).toBeGreaterThan(0);
        await new Promise((resolve) => setTimeout(resolve, wait * 1000));
      } else {
        expect(res.status).toBe(401);
        failures += 1;
      }
    }
    const { context: ctx, page: p } = await newPage();
    await p.goto(`${cairn.url}/login`);
    await signIn(p, { email, password: 'wrong password' });
    const error = p.getByTestId('login-error');
    await error.waitFor({ timeout: 15_000 });
    expect(await error.textContent()).toMatch(
      /Too many failed sign-ins\. Try again in \d+ seconds?\./u,
    );
    expect(await p.getByRole('button', { name: 'Sign in', exact: true }).isDisabled()).toBe(true);
    await shot(p, 'auth-login-backoff');
    await ctx.close();
  });

  it('ignores a next that leaves the dashboard', async () => {
    const { context: ctx, page: p } = await newPage();
    await p.goto(`${cairn.url}/login?next=${encodeURIComponent('//evil.example/x')}`);
    await signIn(p, viewer);
    await p.waitForURL((u) => u.pathname === '/' && u.host === new URL(cairn.url).host, {
      timeout: 30_000,
    });
    await ctx.close();
  });
});

describe('API keys page', () => {
  let secret = '';

  it('creates a key and shows its secret once', async () => {
    await page.goto(`${cairn.url}/settings/keys`);
    await page
      .getByTestId('keys-count')
      .filter({ hasText: /\d+ keys?/u })
      .waitFor();
    await page.getByTestId('key-name').fill(`ci-${suffix}`);
    await page.getByTestId('key-role').selectOption('member');
    await page.getByTestId('key-expiry').selectOption('30d');
    await page.getByRole('button', { name: 'Create key' }).click();
    const shown = page.getByTestId('new-key-secret');
    await shown.waitFor({ timeout: 15_000 });
    secret = (await shown.textContent())?.trim() ?? '';
    expect(secret).toMatch(/^cairn_[a-z2-7]{12}_[A-Za-z0-9]{32}$/u);
    expect(await page.getByTestId('new-key-panel').textContent()).toContain('shown only this once');
    const row = page.getByTestId(`key-row-ci-${suffix}`);
    await row.waitFor({ timeout: 15_000 });
    expect(await row.getByTestId('key-state').textContent()).toBe('active');
    expect(await row.locator('td').nth(2).textContent()).toBe('member');
    await shot(page, 'auth-key-created');

    await page.getByRole('button', { name: 'Done' }).click();
    expect(await page.getByTestId('new-key-secret').count()).toBe(0);
    expect(await page.content()).not.toContain(secret);
    await page.reload();
    await page.getByTestId(`key-row-ci-${suffix}`).waitFor({ timeout: 15_000 });
    expect(await page.content()).not.toContain(secret);
  });

  it('the key works as Bearer on /graphql', async () => {
    const res = await withKey(secret, '{ me { kind name role } }');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      data: { me: { kind: 'API_KEY', name: `ci-${suffix}`, role: 'member' } },
    });
    const list = await withKey(secret, '{ experiments(first: 1) { totalCount } }');
    expect(list.status).toBe(200);
  });

  it('lists a key created elsewhere without a reload', async () => {
    const cliKey = cli([
      'keys',
      'create',
      '--workspace',
      'default',
      '--role',
      'viewer',
      '--name',
      `cli-${suffix}`,
    ]);
    expect(cliKey).toMatch(/^cairn_/u);
    const row = page.getByTestId(`key-row-cli-${suffix}`);
    await row.waitFor({ timeout: 15_000 });
    expect(await row.locator('td').nth(2).textContent()).toBe('viewer');
  });

  it('revokes with a confirmation; the key then gets 401', async () => {
    const row = page.getByTestId(`key-row-ci-${suffix}`);
    await row.getByRole('button', { name: 'Revoke' }).click();
    await row.getByRole('button', { name: 'Cancel' }).click();
    expect(await row.getByTestId('key-state').textContent()).toBe('active');
    await row.getByRole('button', { name: 'Revoke' }).click();
    await row.getByRole('button', { name: 'Confirm revoke' }).click();
    await row.waitFor({ state: 'detached', timeout: 15_000 });
    await page.getByText('Show revoked keys').click();
    const revoked = page.getByTestId(`key-row-ci-${suffix}`);
    await revoked.waitFor({ timeout: 15_000 });
    expect(await revoked.getByTestId('key-state').textContent()).toBe('revoked');
    await expect
      .poll(async () => (await withKey(secret, '{ me { kind } }')).status, { timeout: 5_000 })
      .toBe(401);
    expect((await withKey(secret, '{ experiments(first: 1) { totalCount } }')).status).toBe(401);
  });
});

describe('members and workspaces pages', () => {
  it('invites a user, changes the role, removes the member', async () => {
    await page.goto(`${cairn.url}/settings/members`);
    await page.getByTestId(`member-row-${admin.email}`).waitFor({ timeout: 15_000 });
    const outsider = `x-${suffix}@example.com`;
    expect(await page.getByTestId(`member-row-${outsider}`).count()).toBe(0);
    await page.getByTestId('invite-email').fill('not-an-email');
    await page.getByRole('button', { name: 'Invite' }).click();
    expect(await page.getByRole('alert').first().textContent()).toContain('Enter an email address');

    await page.getByTestId('invite-email').fill(outsider);
    await page.getByTestId('invite-role').selectOption('member');
    await page.getByRole('button', { name: 'Invite' }).click();
    const row = page.getByTestId(`member-row-${outsider}`);
    await row.waitFor({ timeout: 15_000 });
    expect(await row.getByTestId('member-role').inputValue()).toBe('member');

    await row.getByTestId('member-role').selectOption('admin');
    // The row follows the re-read (its select shows the stored role, not the one clicked).
    await expect
      .poll(() => row.getByTestId('member-role').inputValue(), { timeout: 15_000 })
      .toBe('admin');
    await page.reload();
    await expect
      .poll(
        () => page.getByTestId(`member-row-${outsider}`).getByTestId('member-role').inputValue(),
        {
          timeout: 15_000,
        },
      )
      .toBe('admin');

    const again = page.getByTestId(`member-row-${outsider}`);
    await again.getByRole('button', { name: 'Remove' }).click();
    await again.getByRole('button', { name: 'Confirm remove' }).click();
    await again.waitFor({ state: 'detached', timeout: 15_000 });
    await shot(page, 'auth-members');
  });

  it('creates a workspace and lists it', async () => {
    await page.goto(`${cairn.url}/settings/workspaces`);
    await page.locator('tr[data-workspace="default"]').waitFor({ timeout: 15_000 });
    await page.getByTestId('new-workspace-id').fill('bad id!');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    expect(await page.getByRole('alert').first().textContent()).toContain('1–63 letters');
    await page.getByTestId('new-workspace-id').fill(`team-${suffix}`);
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    const row = page.locator(`tr[data-workspace="team-${suffix}"]`);
    await row.waitFor({ timeout: 15_000 });
    expect(await row.locator('td').nth(2).textContent()).toBe('owner');
  });
});

describe('roles and sign-out', () => {
  it('a viewer sees no write controls', async () => {
    const { context: ctx, page: p } = await newPage();
    await p.goto(`${cairn.url}/login?next=/settings/keys`);
    await signIn(p, viewer);
    await p.waitForURL((u) => u.pathname === '/settings/keys', { timeout: 30_000 });
    await p.getByTestId('keys-need-admin').waitFor({ timeout: 15_000 });
    expect(await p.getByRole('button', { name: 'Create key' }).count()).toBe(0);
    await p.goto(`${cairn.url}/settings/members`);
    await p.getByTestId(`member-row-${admin.email}`).waitFor({ timeout: 15_000 });
    await p.getByTestId('members-read-only').waitFor();
    expect(await p.getByRole('button', { name: 'Invite' }).count()).toBe(0);
    expect(await p.getByRole('button', { name: 'Remove' }).count()).toBe(0);
    await ctx.close();
  });

  it('signs out: the session ends and pages go to /login again', async () => {
    await page.goto(`${cairn.url}/`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL((u) => u.pathname === '/login', { timeout: 15_000 });
    const session = await context.request.get(`${cairn.url}/auth/session`);
    expect(session.status()).toBe(401);
    await page.goto(`${cairn.url}/models`);
    await page.waitForURL(/\/login\?next=%2Fmodels/u, { timeout: 30_000 });
    expect(pageErrors).toEqual([]);
  });
});

describe('auth off', () => {
  it('shows the no-auth banner', async () => {
    const off = await startCairn();
    try {
      const { context: ctx, page: p } = await newPage();
      await p.goto(`${off.url}/`);
      const banner = p.getByTestId('no-auth-banner');
      await banner.waitFor({ timeout: 30_000 });
      expect(await banner.textContent()).toContain('This server runs without authentication');
      expect(await p.getByTestId('signed-in').textContent()).toContain('Anonymous');
      await shot(p, 'auth-off-banner');
      await ctx.close();
    } finally {
      await stopCairn(off);
    }
  });
});
