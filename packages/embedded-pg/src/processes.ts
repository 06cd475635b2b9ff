import { execFileSync } from 'node:child_process';
import { readdir, readFile, readlink, realpath, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const isLinux = process.platform === 'linux';

/** `postmaster.pid`: line 1 pid, 2 data dir, 3 start time, 4 port, 5 socket dir, 6 listen address, 7 shmem key, 8 status. */
export interface LockFile {
  pid: number;
  port: number | undefined;
  status: string | undefined;
}

export async function readLockFile(pgdata: string): Promise<LockFile | undefined> {
  let text: string;
  try {
    text = await readFile(join(pgdata, 'postmaster.pid'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const lines = text.split('\n');
  const pid = Number(lines[0]?.trim());
  const port = Number(lines[3]?.trim());
  return {
    pid: Number.isInteger(pid) && pid > 0 ? pid : 0,
    port: Number.isInteger(port) && port > 0 ? port : undefined,
    status: lines[7]?.trim() || undefined,
  };
}

/**
 * Alive and not a zombie. An orphaned postmaster is re-parented to pid 1, and not every pid 1
 * reaps (containers, VM agents): `kill(pid, 0)` succeeds on a zombie, so check its state too.
 * (PostgreSQL's own stale-lock check does not, which is one reason we clean up before it runs.)
 */
export async function isAlive(pid: number): Promise<boolean> {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (!isLinux) return true;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!(await isAlive(pid))) return true;
    await sleep(25);
  }
  return !(await isAlive(pid));
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/**
 * Whether `pid` is a PostgreSQL process of the cluster in `pgdataReal`. Every server process
 * (postmaster, backends, checkpointer, ...) has the data directory as its working directory, which
 * identifies the cluster even when the pid of a stale lock file was reused by another program.
 */
async function belongsToCluster(pid: number, pgdataReal: string): Promise<boolean> {
  if (isLinux) {
    try {
      return (await readlink(`/proc/${pid}/cwd`)) === pgdataReal;
    } catch {
      return false;
    }
  }
  try {
    const cmd = execFileSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' });
    return /postgres/.test(cmd);
  } catch {
    return false;
  }
}

/** argv[0] of the watchdog shell (see embedded-postgres.ts); its last argument is the postmaster pid. */
export const WATCHDOG_NAME = 'cairn-embedded-pg-watchdog';

interface ClusterProcess {
  pid: number;
  /** For a watchdog: the postmaster it guards. */
  watches: number | undefined;
}

/** Live processes whose working directory is the cluster, watchdogs included (Linux only; elsewhere empty). */
async function clusterProcesses(pgdataReal: string): Promise<ClusterProcess[]> {
  if (!isLinux) return [];
  const pids = (await readdir('/proc')).filter((e) => /^\d+$/.test(e)).map(Number);
  const found = await Promise.all(
    pids.map(async (pid): Promise<ClusterProcess | undefined> => {
      if (
        pid === process.pid ||
        !(await belongsToCluster(pid, pgdataReal)) ||
        !(await isAlive(pid))
      )
        return undefined;
      const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => ''))
        .split('\0')
        .filter(Boolean);
      return { pid, watches: argv.includes(WATCHDOG_NAME) ? Number(argv.at(-1)) : undefined };
    }),
  );
  return found.filter((p): p is ClusterProcess => p !== undefined);
}

async function stopProcess(pid: number, steps: Array<[NodeJS.Signals, number]>): Promise<boolean> {
  for (const [sig, waitMs] of steps) {
    signal(pid, sig);
    if (await waitForExit(pid, waitMs)) return true;
  }
  return false;
}

/**
 * Makes the cluster in `pgdata` free to start after an unclean end of a previous run:
 *
 * - a postmaster that outlived its Node parent (kill -9 of the parent and its watchdog) is shut
 *   down like `pg_ctl stop -m fast` would (SIGINT; then SIGQUIT = immediate, then SIGKILL);
 *   one whose watchdog is alive still has a live owner: we refuse to start instead;
 * - server processes left behind by a postmaster that was itself SIGKILLed are sent SIGQUIT;
 * - a lock file whose pid is dead, a zombie or not ours is removed (once no process of the
 *   cluster is left), so PostgreSQL does not refuse to start because of a reused pid.
 *
 * Committed data is safe in every branch: a fast shutdown checkpoints; after SIGQUIT/SIGKILL the
 * next start replays the WAL (crash recovery).
 */
export async function cleanUpPreviousRun(
  pgdata: string,
  log: (line: string) => void,
): Promise<void> {
  const lock = await readLockFile(pgdata);
  if (!lock) return;
  const pgdataReal = await realpath(pgdata);
  if (lock.pid > 0 && (await isAlive(lock.pid)) && (await belongsToCluster(lock.pid, pgdataReal))) {
    // A live watchdog means a live Node process still owns this server: not an orphan.
    const owner = (await clusterProcesses(pgdataReal)).find((p) => p.watches === lock.pid);
    if (owner) {
      throw new Error(
        `PostgreSQL is already running on ${pgdata} (pid ${lock.pid}, port ${lock.port ?? '?'}) for another live process (its watchdog is pid ${owner.pid}). Stop that process first, or use another data directory.`,
      );
    }
    log(
      `a PostgreSQL server from a previous run is still running on this data directory (pid ${lock.pid}); shutting it down (fast)`,
    );
    const stopped = await stopProcess(lock.pid, [
      ['SIGINT', 30_000],
      ['SIGQUIT', 10_000],
      ['SIGKILL', 5_000],
    ]);
    if (!stopped)
      throw new Error(
        `The PostgreSQL server left from a previous run (pid ${lock.pid}) does not stop; stop it by hand.`,
      );
  }
  const leftovers = await clusterProcesses(pgdataReal);
  if (leftovers.length > 0) {
    const pids = leftovers.map((p) => p.pid).join(', ');
    log(`stopping ${leftovers.length} process(es) left by a previous server: ${pids}`);
    const results = await Promise.all(
      leftovers.map((p) =>
        // A watchdog whose postmaster is gone has nothing left to guard (and ignores SIGQUIT).
        stopProcess(
          p.pid,
          p.watches !== undefined
            ? [['SIGKILL', 5_000]]
            : [
                ['SIGQUIT', 5_000],
                ['SIGKILL', 5_000],
              ],
        ),
      ),
    );
    if (results.includes(false))
      throw new Error(
        `Processes of a previous PostgreSQL server (${pids}) do not stop; stop them by hand.`,
      );
  }
  if (isLinux && (await readLockFile(pgdata))) {
    // No process of this cluster is alive (checked above), so the lock file is stale.
    await unlink(join(pgdata, 'postmaster.pid')).catch(() => undefined);
  }
}
