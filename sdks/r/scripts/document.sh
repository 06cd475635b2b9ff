#!/usr/bin/env bash
# Regenerates the R package's NAMESPACE and man/*.Rd from the roxygen2 comments in R/*.R
# (commit the result). Needs R and r-cran-roxygen2 (Debian: apt-get install -y r-cran-roxygen2).
#
#   bash sdks/r/scripts/document.sh
set -euo pipefail
SDK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if ! command -v Rscript >/dev/null 2>&1; then
  echo "document.sh: Rscript is not on PATH (apt-get install -y r-base-core r-cran-roxygen2)" >&2
  exit 2
fi
cd "$SDK_DIR"
Rscript -e 'roxygen2::roxygenise(".")'
