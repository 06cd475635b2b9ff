#!/usr/bin/env bash
# Validates Kubernetes manifests against the Kubernetes OpenAPI schemas, offline:
# kubernetes-validate from PyPI (pinned below) carries the schemas of every Kubernetes release
# inside its wheel, so validation needs no network (no schema download, no cluster).
#
#   bash infra/k8s/validate.sh                 # every infra/k8s/*.yaml, strict (unknown fields fail)
#   bash infra/k8s/validate.sh FILE...         # the given manifests
#   bash infra/k8s/validate.sh --deps-only     # only create the venv (npm test's set-up step)
#
# The venv lives in .cache/k8s-validate-venv (git- and lint-ignored; K8S_VALIDATE_VENV to move
# it), created once and reinstalled when this script changes. Exit code: the validator's (non-zero
# when any resource fails its schema or a file is not YAML).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${K8S_VALIDATE_VENV:-$REPO_ROOT/.cache/k8s-validate-venv}"
PYTHON_BIN="${PYTHON:-python3}"
# The validator and the Kubernetes minor whose schemas the manifests must satisfy.
VALIDATOR_VERSION=1.37.0
KUBERNETES_VERSION=1.33

STAMP="$VENV/.cairn-deps-stamp"
WANT="$(sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1)"
# Serialised: the vitest test and npm test's set-up step may both get here first.
mkdir -p "$(dirname "$VENV")"
exec 9>"$VENV.lock"
flock 9
if [ ! -x "$VENV/bin/python" ] || [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
  echo "k8s/validate.sh: installing kubernetes-validate==$VALIDATOR_VERSION into $VENV" >&2
  rm -rf "$VENV"
  "$PYTHON_BIN" -m venv "$VENV"
  PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 \
    "$VENV/bin/python" -m pip install --quiet "kubernetes-validate==$VALIDATOR_VERSION" >&2
  echo "$WANT" >"$STAMP"
fi
flock -u 9
[ "${1:-}" = "--deps-only" ] && exit 0

if [ $# -eq 0 ]; then set -- "$REPO_ROOT"/infra/k8s/*.yaml; fi
exec "$VENV/bin/kubernetes-validate" --strict --quiet --kubernetes-version "$KUBERNETES_VERSION" "$@"
