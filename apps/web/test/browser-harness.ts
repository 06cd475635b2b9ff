/**
 * Shared by the dashboard's browser tests: a real `cairn server` (embedded PostgreSQL in a temp
 * home), the static export of apps/web, Debian's Chromium driven by playwright-core (no browser
 * download), and a GraphQL helper that seeds data as an SDK would.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const repoRoot = path.resolve(import.meta.dirname, '../../..');
export const outDir = path.join(repoRoot, 'apps/web/out');
export const shotsDir = path.join(repoRoot, 'test-results/screenshots');

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function chromiumPath(): string {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  try {
    return execFileSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], {
      encoding: 'utf8',
    }).trim();
  } catch {
    throw new Error(
      'Chromium not found: install it (apt-get install -y chromium) or set CHROMIUM_PATH',
    );
  }
}

/** Builds apps/web when its static export is missing (CI builds it before the tests). */
export function ensureWebBuilt(): void {
  if (fs.existsSync(path.join(outDir, 'index.html'))) return;
  execFileSync('npm', ['run', 'build', '-w', '@cairn/web'], {
    cwd: repoRoot,
    stdio: 'inherit',
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
    timeout: 170_000,
  });
}

export interface Cairn {
  url: string;
  process: ChildProcess;
  home: string;
  log: string[];
}

/** `cairn server --port 0` in a temp home; resolves with the URL it prints. */
export async function startCairn(): Promise<Cairn> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-web-e2e-'));
  const child = spawn(
    process.execPath,
    [path.join(repoRoot, 'apps/cli/bin/cairn.js'), 'server', '--home', home, '--port', '0'],
    { cwd: repoRoot, env: { ...process.env, CAIRN_WEB_ROOT: outDir }, stdio: 'pipe' },
  );
  const log: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`cairn server did not start:\n${log.join('')}`)),
      120_000,
    );
    const onData = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      log.push(text);
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

export async function stopCairn(cairn: Cairn): Promise<void> {
  if (cairn.process.exitCode === null) {
    const exited = new Promise<void>((resolve) => cairn.process.once('exit', () => resolve()));
    cairn.process.kill('SIGTERM');
    const timeout = new Promise<'timeout'>((resolve) =>
      setTimeout(() => resolve('timeout'), 20_000),
    );
    if ((await Promise.race([exited, timeout])) === 'timeout') cairn.process.kill('SIGKILL');
  }
  fs.rmSync(cairn.home, { recursive: true, force: true });
}

interface GraphQLResponse<T> {
  data?: T;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

/** A GraphQL call to the server (in a workspace when given), throwing on errors. */
export async function gqlAt<T = Record<string, unknown>>(
  baseUrl: string,
  query: string,
  variables: Record<string, unknown> = {},
  workspace?: string,
): Promise<T> {
  const res = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(workspace ? { 'x-cairn-workspace': workspace } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as GraphQLResponse<T>;
  if (body.errors?.length || !body.data)
    throw new Error(`GraphQL error: ${JSON.stringify(body.errors)}`);
  return body.data;
}
