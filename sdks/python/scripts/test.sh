#!/usr/bin/env bash
# Runs the Python SDK's tests against a real Cairn server (started by the pytest fixture with
# apps/cli/bin/cairn.js: local mode, embedded PostgreSQL, temp home, free port).
#
#   bash sdks/python/scripts/test.sh [pytest args...]
#   bash sdks/python/scripts/test.sh --deps-only     (create/update the venv, run nothing)
#
# Creates (once) and reuses the venv sdks/python/.venv: the SDK in editable mode with its dev
# extras, plus scikit-learn, XGBoost, LightGBM and pandas from PyPI. Dependencies are installed
# again only when this script or pyproject.toml changes (a stamp file in the venv).
#
# torch, PyTorch Lightning and Keras (on its PyTorch backend) are installed too, for the PyTorch,
# Lightning and Keras tests. PyPI's Linux torch wheel is the CUDA build: it does not import
# without its NVIDIA libraries (torch preloads them), so they come along: ~4 GB on disk, about
# 2.5 minutes to install on 2 cores from a near package mirror (measured: 2 min 32 s), once per
# venv. CPU-only wheels are not on PyPI.
#
# XGBoost comes as "xgboost-cpu" (same project, same `import xgboost`), which leaves out the
# ~470 MB NVIDIA NCCL dependency of the default "xgboost" wheel.
#
# Exit code: pytest's (non-zero on any failure or error).
set -euo pipefail

SDK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_ROOT="$(cd "$SDK_DIR/../.." && pwd)"
VENV="$SDK_DIR/.venv"
PYTHON_BIN="${PYTHON:-python3}"
# Tracing tests: the real LLM client libraries and frameworks (against a local fake LLM server or
# their shipped mocks, no network), and the OpenTelemetry SDK/exporter and an OpenInference
# instrumentation (interop with /v1/traces). ONNX: onnx, onnxruntime and skl2onnx (tests/test_onnx.py
# converts a scikit-learn model and compares the TypeScript server with onnxruntime in Python).
TEST_DEPS=(scikit-learn lightgbm pandas pytest psutil
  openai anthropic langchain-core langchain-openai llama-index-core
  opentelemetry-sdk opentelemetry-exporter-otlp-proto-http openinference-instrumentation-openai
  onnx onnxruntime skl2onnx
  torch pytorch-lightning keras)

if ! command -v "$PYTHON_BIN" >/dev/null 2>&1; then
  echo "test.sh: $PYTHON_BIN not found (Python >= 3.9 is needed)" >&2
  exit 2
fi
if ! "$PYTHON_BIN" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)'; then
  echo "test.sh: Python >= 3.9 is needed, $PYTHON_BIN is $("$PYTHON_BIN" -V 2>&1)" >&2
  exit 2
fi
if ! command -v node >/dev/null 2>&1; then
  echo "test.sh: node is not on PATH; the tests start the Cairn server with apps/cli" >&2
  exit 2
fi
if [ ! -d "$REPO_ROOT/node_modules" ]; then
  echo "test.sh: $REPO_ROOT/node_modules is missing: run 'npm ci' at the repository root first" >&2
  exit 2
fi

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
  echo "test.sh: creating $VENV"
  rm -rf "$VENV"
  "$PYTHON_BIN" -m venv "$VENV"
fi

STAMP="$VENV/.cairn-deps-stamp"
WANT="$(cat "$SDK_DIR/pyproject.toml" "${BASH_SOURCE[0]}" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
  echo "test.sh: installing the SDK and test dependencies into $VENV"
  export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -e "$SDK_DIR[dev]" "${TEST_DEPS[@]}"
  if ! "$VENV/bin/python" -c 'import xgboost' >/dev/null 2>&1; then
    "$VENV/bin/python" -m pip install --quiet xgboost-cpu
  fi
  echo "$WANT" >"$STAMP"
fi

if [ "${1:-}" = "--deps-only" ]; then
  echo "test.sh: $VENV is ready"
  exit 0
fi

# Two cores are shared with other test runs: keep the numeric libraries single-threaded.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
export KERAS_BACKEND="${KERAS_BACKEND:-torch}"
export PYTHONDONTWRITEBYTECODE=1

cd "$SDK_DIR"
set +e
"$VENV/bin/python" -m pytest "$@"
status=$?
set -e
exit $status
