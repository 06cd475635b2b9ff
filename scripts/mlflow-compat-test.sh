#!/usr/bin/env bash
# MLflow wire compatibility (docs/mlflow-compatibility.md): the real `mlflow` package from PyPI,
# unmodified, against a real `cairn server` (started by tests/mlflow-compat/conftest.py with
# apps/cli/bin/cairn.js: local mode, embedded PostgreSQL, temp home, free port).
#
#   bash scripts/mlflow-compat-test.sh [pytest args...]
#
# Creates (once) and reuses the venv .cache/mlflow-compat-venv with the pinned mlflow,
# scikit-learn, pandas, matplotlib (log_figure), openai (mlflow.openai.autolog) and pytest; installs again only when this script changes (a stamp in the venv).
# Exit code: pytest's.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MLFLOW_COMPAT_VENV:-$REPO_ROOT/.cache/mlflow-compat-venv}"
PYTHON_BIN="${PYTHON:-python3}"
# The tested client: the current MLflow 3.x on PyPI when this was pinned (keep the docs in step).
MLFLOW_VERSION=3.18.0
# mlflow-skinny is the `mlflow` client distribution (the same `mlflow` module, unmodified; the
# full "mlflow" wheel adds MLflow's own server and pins mlflow-tracing==$MLFLOW_VERSION, which the
# package index may not carry yet). skops: the sklearn flavour's default serialization (a
# dependency of the full "mlflow" wheel).
DEPS=("mlflow-skinny==$MLFLOW_VERSION" scikit-learn "skops<1" pandas matplotlib openai pytest)

if ! command -v "$PYTHON_BIN" >/dev/null 2>&1; then
  echo "mlflow-compat-test.sh: $PYTHON_BIN not found (Python >= 3.10 is needed)" >&2
  exit 2
fi
if ! command -v node >/dev/null 2>&1; then
  echo "mlflow-compat-test.sh: node is not on PATH; the tests start the Cairn server with apps/cli" >&2
  exit 2
fi
if [ ! -d "$REPO_ROOT/node_modules" ]; then
  echo "mlflow-compat-test.sh: node_modules is missing: run 'npm ci' at the repository root first" >&2
  exit 2
fi

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
  echo "mlflow-compat-test.sh: creating $VENV"
  rm -rf "$VENV"
  mkdir -p "$(dirname "$VENV")"
  "$PYTHON_BIN" -m venv "$VENV"
fi

STAMP="$VENV/.cairn-deps-stamp"
WANT="$(sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
  echo "mlflow-compat-test.sh: installing ${DEPS[*]} into $VENV"
  export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet "${DEPS[@]}"
  echo "$WANT" >"$STAMP"
fi

# Two cores are shared with other test runs: keep the numeric libraries single-threaded.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
export PYTHONDONTWRITEBYTECODE=1
# No telemetry or update checks from the client under test.
export MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true

cd "$REPO_ROOT/tests/mlflow-compat"
set +e
"$VENV/bin/python" -m pytest "$@"
status=$?
set -e
exit $status
