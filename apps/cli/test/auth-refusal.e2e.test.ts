/**
 * The real `cairn server` binary refuses to serve a non-loopback address without authentication
 * (issue 20 acceptance: "`cairn server --host 0.0.0.0` without auth refuses to start with a
 * message naming the flag"), before it opens a database or a port.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repoRoot = path.resolve(import.meta.dirname, '../../..');
const cairnBin = path.join(repoRoot, 'apps/cli/bin/cairn.js');

let home: string;

beforeAll(async () => {
  home = await mkdtemp(path.join(tmpdir(), 'cairn-auth-refusal-'));
});

afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const proc = spawn(process.execPath, [cairnBin, ...args, '--home', home], {
    cwd: repoRoot,
    env: {
      ...process.env,
      CAIRN_DATABASE_URL: '',
      CAIRN_AUTH: '',
      CAIRN_HOST: '',
      CAIRN_INSECURE_NO_AUTH: '',
      ...env,
    },
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

describe('cairn server without auth beyond loopback', () => {
  it('--host 0.0.0.0 exits non-zero naming --auth required and --insecure-no-auth', async () => {
    const { code, stdout, stderr } = await run(['server', '--host', '0.0.0.0', '--port', '0']);
    expect(code).not.toBe(0);
    expect(stderr).toContain('Refusing to serve 0.0.0.0 without authentication');
    expect(stderr).toContain('--auth required');
    expect(stderr).toContain('--insecure-no-auth');
    expect(stdout).not.toContain('Cairn is running');
    // Refused before anything was started: the home holds no database.
    expect(await readdir(home)).toEqual([]);
  }, 60_000);

  it('CAIRN_HOST=:: with CAIRN_AUTH=off is refused the same way (cairn api too)', async () => {
    const viaEnv = await run(['server', '--port', '0'], { CAIRN_HOST: '::', CAIRN_AUTH: 'off' });
    expect(viaEnv.code).not.toBe(0);
    expect(viaEnv.stderr).toContain('--insecure-no-auth');
    const api = await run([
      'api',
      '--host',
      '0.0.0.0',
      '--database-url',
      'postgresql://x@127.0.0.1:1/x',
    ]);
    expect(api.code).not.toBe(0);
    expect(api.stderr).toContain('--auth required');
  }, 60_000);
});
