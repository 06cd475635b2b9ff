/**
 * Bootstrap through the real binary (issue 20): `cairn keys create` prints a key alone on
 * stdout, `cairn server --host 0.0.0.0 --auth required` starts (auth on, so a non-loopback
 * address is allowed) and serves that key and nothing without one, and `cairn keys revoke`
 * ends it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repoRoot = path.resolve(import.meta.dirname, '../../..');
const cairnBin = path.join(repoRoot, 'apps/cli/bin/cairn.js');
const env = {
  ...process.env,
  CAIRN_DATABASE_URL: '',
  CAIRN_AUTH: '',
  CAIRN_HOST: '',
  CAIRN_INSECURE_NO_AUTH: '',
};

let home: string;
let server: ChildProcess | null = null;

beforeAll(async () => {
  home = await mkdtemp(path.join(tmpdir(), 'cairn-keys-'));
  await chmod(home, 0o755);
});

afterAll(async () => {
  await stopServer();
  await rm(home, { recursive: true, force: true });
});

function run(args: string[]) {
  const proc = spawn(process.execPath, [cairnBin, ...args, '--home', home], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    proc.once('exit', (code) => resolve({ code, stdout, stderr })),
  );
}

async function startServer(): Promise<string> {
  const proc = spawn(
    process.execPath,
    [cairnBin, 'server', '--home', home, '--host', '0.0.0.0', '--port', '0', '--auth', 'required'],
    { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  server = proc;
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 60_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /Cairn is running at http:\/\/[^:]+:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(`http://127.0.0.1:${m[1]}`);
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`server exited ${code}: ${out}`)));
  });
}

async function stopServer(): Promise<void> {
  const proc = server;
  server = null;
  if (!proc || proc.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    proc.once('exit', () => resolve());
    proc.kill('SIGTERM');
  });
}

async function graphql(url: string, query: string, key?: string) {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(key ? { authorization: `Bearer ${key}` } : {}),
    },
    body: JSON.stringify({ query }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('cairn keys + cairn server --auth required', () => {
  it('creates a key, serves it beyond loopback, refuses the rest, and revokes it', async () => {
    const created = await run(['keys', 'create', '--workspace', 'team-a', '--role', 'owner']);
    expect(created.code, created.stderr).toBe(0);
    const lines = created.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const key = lines[0]!;
    expect(key).toMatch(/^cairn_[a-z2-7]{12}_[A-Za-z0-9]{32}$/);
    expect(created.stderr).toContain('shown only now');
    const keyId = key.split('_')[1]!;
    const bad = await run(['keys', 'create', '--workspace', 'team-a']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--role');

    let url = await startServer();
    const anonymous = await graphql(url, '{ experiments { totalCount } }');
    expect(JSON.stringify(anonymous.body)).toContain('UNAUTHENTICATED');
    const me = await graphql(url, '{ me { kind workspaceId role authMode } }', key);
    expect(me.body).toEqual({
      data: { me: { kind: 'API_KEY', workspaceId: 'team-a', role: 'owner', authMode: 'REQUIRED' } },
    });
    await stopServer();

    const listed = await run(['keys', 'list', '--workspace', 'team-a']);
    expect(listed.stdout).toContain(keyId);
    const revoked = await run(['keys', 'revoke', keyId, '--workspace', 'team-a']);
    expect(revoked.code, revoked.stderr).toBe(0);
    url = await startServer();
    expect((await graphql(url, '{ me { kind } }', key)).status).toBe(401);
    await stopServer();
  }, 180_000);
});
