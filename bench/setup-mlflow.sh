#!/usr/bin/env bash
# Installs the pinned MLflow (the benchmark baseline) from PyPI into its own venv.
# Default location: <repo>/.cache/bench/mlflow-<version> (git- and lint-ignored); MLFLOW_VENV overrides.
set -euo pipefail
version=3.17.2
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${MLFLOW_VENV:-$repo/.cache/bench/mlflow-$version}"
if [[ -x "$venv/bin/mlflow" ]] && "$venv/bin/mlflow" --version | grep -q "$version"; then
  echo "MLflow $version already installed in $venv"; exit 0
fi
mkdir -p "$(dirname "$venv")"
python3 -m venv "$venv"
"$venv/bin/pip" install -q --disable-pip-version-check "mlflow==$version" psycopg2-binary
"$venv/bin/mlflow" --version
