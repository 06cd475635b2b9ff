#!/usr/bin/env bash
# Runs the R package's testthat tests against a real Cairn server (started once by
# tests/testthat/setup-server.R with apps/cli/bin/cairn.js: local mode, embedded PostgreSQL,
# temp home, free port; CAIRN_TEST_SERVER_URL uses a running server instead). Needs node and the
# repository's node_modules (npm ci), and R with Debian's r-cran packages: as root on Debian they
# are installed when missing (apt-get); otherwise the script says what to install and fails.
#
#   bash sdks/r/scripts/test.sh [filter]     # filter: a test file's name, e.g. "acceptance"
#
# The package is installed (R CMD INSTALL) into a temporary library first, so a broken
# DESCRIPTION or NAMESPACE fails here too. Exit code: non-zero on any failed test.
set -euo pipefail

SDK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_ROOT="$(cd "$SDK_DIR/../.." && pwd)"
R_PACKAGES=(r-base-core r-cran-httr2 r-cran-jsonlite r-cran-openssl r-cran-testthat r-cran-processx
  r-cran-withr r-cran-roxygen2)

r_ready() {
  command -v Rscript >/dev/null 2>&1 &&
    Rscript -e 'for (p in c("httr2", "jsonlite", "openssl", "testthat", "processx", "withr")) if (!requireNamespace(p, quietly = TRUE)) quit(status = 1)' >/dev/null 2>&1
}

if ! r_ready; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test.sh: installing R and its packages from Debian (apt-get install ${R_PACKAGES[*]})"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${R_PACKAGES[@]}" >/dev/null
  else
    echo "test.sh: R or one of its packages is missing; the R SDK tests need them." >&2
    echo "  On Debian/Ubuntu, as root: apt-get install -y ${R_PACKAGES[*]}" >&2
    exit 2
  fi
fi
for tool in node Rscript; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "test.sh: $tool is not on PATH" >&2
    exit 2
  fi
done
if [ ! -d "$REPO_ROOT/node_modules" ]; then
  echo "test.sh: $REPO_ROOT/node_modules is missing: run 'npm ci' at the repository root first" >&2
  exit 2
fi

LIB="$(mktemp -d "${TMPDIR:-/tmp}/cairn-r-lib-XXXXXX")"
# testthat leaves an empty tests/testthat/_snaps behind.
trap 'rm -rf "$LIB"; rmdir "$SDK_DIR/tests/testthat/_snaps" 2>/dev/null || true' EXIT
R CMD INSTALL --no-multiarch --no-test-load --library="$LIB" "$SDK_DIR" >"$LIB/install.log" 2>&1 || {
  cat "$LIB/install.log" >&2
  echo "test.sh: R CMD INSTALL of sdks/r failed" >&2
  exit 1
}

cd "$REPO_ROOT"
export CAIRN_REPO_ROOT="$REPO_ROOT"
CAIRN_R_LIB="$LIB" CAIRN_R_FILTER="${1:-}" Rscript -e '
  .libPaths(c(Sys.getenv("CAIRN_R_LIB"), .libPaths()))
  library(testthat)
  library(cairn)
  filter <- Sys.getenv("CAIRN_R_FILTER")
  started <- Sys.time()
  results <- testthat::test_dir(
    "sdks/r/tests/testthat", package = "cairn", load_package = "installed",
    filter = if (nzchar(filter)) filter else NULL, reporter = "summary", stop_on_failure = FALSE
  )
  df <- as.data.frame(results)
  failed <- sum(df$failed > 0 | df$error)
  skipped <- sum(df$skipped > 0)
  cat(sprintf("R: %d passed, %d failed, %d skipped (%.1f s)\n", nrow(df) - failed - skipped, failed,
              skipped, as.numeric(difftime(Sys.time(), started, units = "secs"))))
  quit(status = if (failed > 0 || skipped > 0) 1 else 0)
'
