#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (`npm test`; .ci/run calls this after `npm ci`):
#
#   1. typecheck       tsc -p tsconfig.json --noEmit (and apps/web/tsconfig.json)
#   2. lint            eslint . --max-warnings=0   (a warning fails)
#   3. format          prettier --check .
#   4. schema drift    npm run --if-present schema:check; npm run events:check (docs/events/catalogue.json)
#   5. set-up          Kafka jars, SeaweedFS (S3 test server), the Kubernetes schema validator, Chromium (as root, when missing), the dashboard's static build
#   6. SDK tests       sdks/python/scripts/test.sh (pytest), sdks/java/scripts/test.sh (JUnit 5),
#                      sdks/r/scripts/test.sh (testthat), against a real `cairn server`
#   7. tests           vitest run: unit, int (real PostgreSQL), e2e (real PostgreSQL, Kafka, Chromium)
#
# Vitest's summary is the last thing printed; the exit code is vitest's (or the first failed
# check's). Works on a fresh clone: installs npm packages when node_modules is missing, the
# Kafka jars when infra/kafka/lib is missing, and (as root on Debian) Chromium and R (for the R
# SDK's tests) when missing.
# Runs as root too (see "PostgreSQL as root" below).
#
# Environment: CAIRN_TEST_SKIP_CHECKS=1 skips steps 1-4. Extra arguments go to vitest and skip
# the SDK tests, e.g. `npm test -- --project unit`.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

started=$SECONDS
step() { printf '\n==> %s\n' "$*"; }

if [[ ! -d node_modules ]]; then
  step "npm ci (node_modules is missing)"
  npm ci --no-audit --no-fund
fi

# PostgreSQL as root: the tests' embedded PostgreSQL runs as the `postgres` OS user, which may
# not reach the binaries inside this checkout (a clone under /root, or in a 0700 `mktemp -d`
# directory). @cairn/embedded-pg handles that itself (a root-owned, world-readable copy of the
# binaries under /var/cache/cairn) without loosening any directory's permissions, so nothing is
# needed here; see packages/embedded-pg/src/binaries.ts.

# The Python SDK's venv (torch and its NVIDIA libraries are most of it: minutes of download and
# unpacking, little CPU) is prepared in the background while the checks below run; the Python
# step waits for it. Its output goes to .cache/python-venv.log, printed when it fails.
python_deps_pid=""
if [[ -f sdks/python/scripts/test.sh && $# -eq 0 ]]; then
  mkdir -p .cache
  bash sdks/python/scripts/test.sh --deps-only >.cache/python-venv.log 2>&1 &
  python_deps_pid=$!
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
  # Type-aware linting holds one TypeScript program per tsconfig.json (the apps' and packages'):
  # more than Node's default heap of ~4 GB since the layering packages came; 8 GB is ample.
  NODE_OPTIONS="--max-old-space-size=8192 ${NODE_OPTIONS:-}" npx eslint . --max-warnings=0
  echo "lint ok ($((SECONDS - t)) s)"

  step "format (prettier --check)"
  t=$SECONDS
  npx prettier --check . --log-level warn
  echo "format ok ($((SECONDS - t)) s)"

  step "GraphQL schema drift (npm run --if-present schema:check)"
  npm run --silent --if-present schema:check

  step "event catalogue drift (npm run events:check)"
  npm run --silent events:check
fi

step "Kafka jars (infra/kafka/fetch.sh)"
bash infra/kafka/fetch.sh

# The artifact tests' S3-compatible server (SeaweedFS), built from the Go module proxy once per
# pinned version into .cache/seaweedfs (a cold build takes a few minutes; later runs reuse it).
step "S3 test server (infra/s3/fetch.sh)"
t=$SECONDS
bash infra/s3/fetch.sh >/dev/null
echo "S3 test server ready ($((SECONDS - t)) s)"

# The Kubernetes manifests' validator (infra/k8s/validate.sh: kubernetes-validate from PyPI, its
# schemas inside the wheel, so the check itself is offline), for apps/cli/test/k8s-manifests.
step "Kubernetes schema validator (infra/k8s/validate.sh --deps-only)"
bash infra/k8s/validate.sh --deps-only

# The dashboard's browser tests drive Debian's Chromium through playwright-core (no browser
# download). As root on Debian it is installed when missing; elsewhere install it yourself or
# point CHROMIUM_PATH at a Chromium.
if [[ -f apps/web/package.json && -z "${CHROMIUM_PATH:-}" ]] &&
  ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    step "Chromium for the dashboard tests (apt-get install chromium)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium
  else
    echo "test-all: Chromium is missing: the dashboard tests need it (apt-get install -y chromium, or set CHROMIUM_PATH)" >&2
  fi
fi

# The dashboard is a static export (apps/web/out) that `cairn server` and the browser tests serve:
# build it from the current sources.
if [[ -f apps/web/package.json ]]; then
  step "dashboard build (npm run build -w @cairn/web)"
  t=$SECONDS
  npm run --silent --if-present build -w @cairn/web
  echo "dashboard built ($((SECONDS - t)) s)"
fi

# Other languages' SDKs run their own suites against a real `cairn server`, before vitest so that
# vitest's summary stays the last thing printed.
# MLflow wire compatibility: the real `mlflow` client from PyPI (pinned) against `cairn server`
# (docs/mlflow-compatibility.md).
if [[ -f scripts/mlflow-compat-test.sh && $# -eq 0 ]]; then
  step "MLflow compatibility tests (scripts/mlflow-compat-test.sh)"
  bash scripts/mlflow-compat-test.sh -q
fi
if [[ -n "$python_deps_pid" ]]; then
  if ! wait "$python_deps_pid"; then
    echo "test-all: preparing the Python SDK's venv failed; its output (.cache/python-venv.log):" >&2
    cat .cache/python-venv.log >&2
    exit 1
  fi
fi
if [[ -f sdks/python/scripts/test.sh && $# -eq 0 ]]; then
  step "Python SDK tests (sdks/python/scripts/test.sh)"
  bash sdks/python/scripts/test.sh -q
fi
if [[ -f sdks/java/scripts/test.sh && $# -eq 0 ]]; then
  step "Java SDK tests (sdks/java/scripts/test.sh)"
  bash sdks/java/scripts/test.sh
fi
# The R package's testthat suite; as root on Debian, R and its r-cran-* packages are installed
# with apt-get when missing (sdks/r/scripts/test.sh).
if [[ -f sdks/r/scripts/test.sh && $# -eq 0 ]]; then
  step "R SDK tests (sdks/r/scripts/test.sh)"
  bash sdks/r/scripts/test.sh
fi

step "tests (vitest run: unit, int, e2e), $((SECONDS - started)) s after the start"
exec npx vitest run "$@"
