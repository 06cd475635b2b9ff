import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../src/index.ts';
import { isAlive } from '../src/processes.ts';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../../..');
const isRoot = process.getuid?.() === 0;

const tempDirs: string[] = [];
const servers: EmbeddedPostgres[] = [];

/** A temp dir as mkdtemp makes it: 0700, owned by us (root: not searchable by the postgres user). */
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cairn-embedded-pg-test-'));
  tempDirs.push(dir);
  return dir;
}

/**
 * Two layouts: `reachable` (dataDir is the temp dir itself, handed to the server user) and, as root,
 * `behind-0700` (dataDir inside a root-only 0700 dir, like ~/.cairn under /root).
 */
async function dataDirFor(layout: 'reachable' | 'behind-0700'): Promise<string> {
  const dir = await tempDir();
  return layout === 'reachable' ? dir : join(dir, 'home', 'postgres');
}

async function start(dataDir: string, lines?: string[]): Promise<EmbeddedPostgres> {
  const server = await startEmbeddedPostgres({
    dataDir,
    ...(lines ? { log: (l: string) => lines.push(l) } : {}),
  });
  servers.push(server);
  return server;
}

async function query<R extends pg.QueryResultRow>(
  url: string,
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

async function notes(server: EmbeddedPostgres): Promise<string[]> {
  return (
    await query<{ body: string }>(server.connectionString(), 'SELECT body FROM notes ORDER BY body')
  ).map((r) => r.body);
}

async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await sleep(50);
  }
}

/** Starts the server in a child Node process (fixtures/hold-postgres.ts) that commits `note`. */
async function holdInChild(
  dataDir: string,
  note: string,
): Promise<{ childPid: number; pgPid: number }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(here, 'fixtures', 'hold-postgres.ts'), dataDir, note],
    {
      cwd: repoRoot,
      detached: true, // own process group, so the test can kill the child with everything in its group
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const ready = await new Promise<{ pid: number }>((resolveReady, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /READY (\{.*\})\n/.exec(out);
      if (m?.[1]) resolveReady(JSON.parse(m[1]) as { pid: number });
    });
    child.on('exit', (code) => reject(new Error(`child exited (${String(code)}): ${err}`)));
  });
  child.stdout.destroy();
  child.stderr.destroy();
  child.unref();
  return { childPid: child.pid ?? 0, pgPid: ready.pid };
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

afterAll(async () => {
  await Promise.all(tempDirs.map((d) => rm(d, { recursive: true, force: true })));
});

const layouts = isRoot ? (['reachable', 'behind-0700'] as const) : (['reachable'] as const);

describe.each(layouts)('startEmbeddedPostgres (%s data dir)', (layout) => {
  it('initialises once, keeps data across a clean restart, warm-starts in under 2 s', async () => {
    const dataDir = await dataDirFor(layout);
    const lines: string[] = [];
    const first = await start(dataDir, lines);
    expect(lines.some((l) => l.includes('initialising a new PostgreSQL 18 cluster'))).toBe(true);
    await first.ensureDatabase('cairn');
    await first.ensureDatabase('cairn'); // idempotent
    await query(first.connectionString('cairn'), 'CREATE TABLE notes (body text NOT NULL)');
    await query(first.connectionString('cairn'), `INSERT INTO notes VALUES ('kept')`);
    await first.stop();
    await first.stop(); // idempotent
    expect(await isAlive(first.pid)).toBe(false);
    await expect(stat(join(first.pgdata, 'postmaster.pid'))).rejects.toMatchObject({
      code: 'ENOENT',
    });

    const warmLines: string[] = [];
    const t0 = performance.now();
    const second = await start(dataDir, warmLines);
    const warmMs = performance.now() - t0;
    expect(warmMs).toBeLessThan(2_000);
    expect(warmLines.some((l) => l.includes('initialising'))).toBe(false);
    const rows = await query<{ body: string }>(
      second.connectionString('cairn'),
      'SELECT body FROM notes',
    );
    expect(rows).toEqual([{ body: 'kept' }]);
  });

  it('keeps committed rows when the postmaster is SIGKILLed (crash recovery on the next start)', async () => {
    const dataDir = await dataDirFor(layout);
    const first = await start(dataDir);
    await query(first.connectionString(), 'CREATE TABLE notes (body text NOT NULL)');
    await query(
      first.connectionString(),
      `INSERT INTO notes VALUES ('committed before the crash')`,
    );
    const lockPid = Number(
      (await readFile(join(first.pgdata, 'postmaster.pid'), 'utf8')).split('\n')[0],
    );
    expect(lockPid).toBe(first.pid);
    process.kill(lockPid, 'SIGKILL');
    await waitUntil('the postmaster to die', async () => !(await isAlive(lockPid)));
    // The lock file is stale now; server children may still be exiting.
    expect((await stat(join(first.pgdata, 'postmaster.pid'))).isFile()).toBe(true);

    const second = await start(dataDir);
    expect(second.pid).not.toBe(lockPid);
    expect(await notes(second)).toEqual(['committed before the crash']);
  });
});

describe('after a crash of the Node parent', () => {
  it('a server orphaned by kill -9 of the parent and its watchdog is shut down and the data is kept', async () => {
    const dataDir = await dataDirFor(isRoot ? 'behind-0700' : 'reachable');
    const { childPid, pgPid } = await holdInChild(dataDir, 'from the crashed parent');
    process.kill(-childPid, 'SIGKILL'); // the parent's whole process group: node and the watchdog
    await waitUntil('the parent to die', async () => !(await isAlive(childPid)));
    await sleep(300);
    expect(await isAlive(pgPid)).toBe(true); // orphaned: own session, nobody left to stop it

    const lines: string[] = [];
    const next = await start(dataDir, lines);
    expect(
      lines.some((l) => l.includes(`still running on this data directory (pid ${pgPid})`)),
    ).toBe(true);
    expect(await isAlive(pgPid)).toBe(false);
    expect(next.pid).not.toBe(pgPid);
    expect(await notes(next)).toEqual(['from the crashed parent']);
  });

  it('the watchdog stops the server when only the Node parent is killed', async () => {
    const dataDir = await dataDirFor('reachable');
    const { childPid, pgPid } = await holdInChild(dataDir, 'watched');
    process.kill(childPid, 'SIGKILL');
    await waitUntil(
      'the watchdog to stop the orphaned server',
      async () => !(await isAlive(pgPid)),
    );
    await expect(stat(join(dataDir, 'pgdata', 'postmaster.pid'))).rejects.toMatchObject({
      code: 'ENOENT',
    }); // clean shutdown

    const next = await start(dataDir);
    expect(await notes(next)).toEqual(['watched']);
  });
});

describe('data directory guards', () => {
  it('refuses a non-empty directory that is not its own', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'config.json'), '{}');
    await expect(startEmbeddedPostgres({ dataDir: dir })).rejects.toThrow(
      /not empty and not an embedded Postgres directory \(found config\.json\)/,
    );
  });

  it('refuses to take over a server that a live process still owns', async () => {
    const dataDir = await dataDirFor('reachable');
    const first = await start(dataDir);
    await expect(startEmbeddedPostgres({ dataDir })).rejects.toThrow(
      new RegExp(
        `already running on .* \\(pid ${first.pid}, port ${first.port}\\) for another live process`,
      ),
    );
    expect(await isAlive(first.pid)).toBe(true);
    expect(await query<{ one: number }>(first.connectionString(), 'SELECT 1 AS one')).toEqual([
      { one: 1 },
    ]);
  });

  it.runIf(isRoot)(
    'as root: gives only the data dir to the postgres user, never loosens its parents',
    async () => {
      const parent = await tempDir();
      await mkdir(join(parent, 'home'), { mode: 0o700 });
      const before = await stat(parent);
      const server = await start(join(parent, 'home', 'postgres'));
      const [who] = await query<{ usename: string }>(
        server.connectionString(),
        'SELECT current_user AS usename',
      );
      expect(who?.usename).toBe('postgres');
      const after = await stat(parent);
      expect(after.mode & 0o777).toBe(before.mode & 0o777);
      expect((await stat(join(parent, 'home'))).mode & 0o777).toBe(0o700);
      expect((await stat(join(parent, 'home'))).uid).toBe(0);
      const dataDir = await stat(join(parent, 'home', 'postgres'));
      expect(dataDir.uid).not.toBe(0);
      expect(dataDir.mode & 0o777).toBe(0o700);
      const status = await readFile(`/proc/${server.pid}/status`, 'utf8');
      expect(/^Uid:\s+(\d+)/m.exec(status)?.[1]).toBe(String(dataDir.uid));
    },
  );
});
