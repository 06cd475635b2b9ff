#!/usr/bin/env bash
# Runs the Java SDK's JUnit 5 tests against a real Cairn server (started once by
# CairnServerExtension with apps/cli/bin/cairn.js: local mode, embedded PostgreSQL, temp home,
# free port). Needs Java 17+, Maven 3.6+, node and the repository's node_modules (npm ci).
# Dependencies (Jackson, JUnit, OpenTelemetry for the optional tracing setup) come from Maven
# Central into ~/.m2 on the first run.
#
#   bash sdks/java/scripts/test.sh [extra mvn args, e.g. -Dtest=AcceptanceTest]
#
# Exit code: Maven's (non-zero on any failure).
set -euo pipefail

SDK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_ROOT="$(cd "$SDK_DIR/../.." && pwd)"

for tool in java mvn node; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "test.sh: $tool is not on PATH (the Java SDK tests need Java 17+, Maven and node)" >&2
    exit 2
  fi
done
if [ ! -d "$REPO_ROOT/node_modules" ]; then
  echo "test.sh: $REPO_ROOT/node_modules is missing: run 'npm ci' at the repository root first" >&2
  exit 2
fi

cd "$REPO_ROOT"
rm -rf sdks/java/target/surefire-reports
set +e
mvn -B -q -f sdks/java/pom.xml test "$@"
status=$?
set -e
# Maven is quiet (-q): print Surefire's totals from its reports.
if compgen -G "sdks/java/target/surefire-reports/TEST-*.xml" >/dev/null; then
  cat sdks/java/target/surefire-reports/TEST-*.xml | grep -o '<testsuite [^>]*>' |
    sed -E 's/.* tests="([0-9]+)".* errors="([0-9]+)".* skipped="([0-9]+)".* failures="([0-9]+)".*/\1 \2 \3 \4/' |
    awk '{t+=$1; e+=$2; s+=$3; f+=$4} END {printf "Java: %d passed, %d failed, %d skipped\n", t-e-s-f, e+f, s}'
fi
exit $status
