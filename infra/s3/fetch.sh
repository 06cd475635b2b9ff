#!/usr/bin/env bash
# Builds the SeaweedFS server (`weed`), the real S3-compatible server the artifact tests run
# against, from the Go module proxy at the version pinned in infra/s3/go.mod, into
# .cache/seaweedfs/<version>/weed (git-ignored). Idempotent: does nothing when that binary is
# already there. Safe to run from parallel processes (a lock serialises builds).
#
#   infra/s3/fetch.sh            # build if missing; prints the binary's path last
#   infra/s3/fetch.sh --force    # build again
#
# Needs: Go (the version in go.mod or newer) and network access to the Go module proxy, or a
# warm module cache. A cold build takes about 4 minutes on 2 cores; later ones reuse Go's caches.
# CAIRN_CACHE_DIR overrides the cache directory (default <repo>/.cache).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
version="$(sed -n 's:^require github.com/seaweedfs/seaweedfs \(v[^ ]*\)$:\1:p' "$here/go.mod")"
[[ -n "$version" ]] || { echo "s3-fetch: no seaweedfs version in $here/go.mod" >&2; exit 1; }
cache="${CAIRN_CACHE_DIR:-$repo/.cache}/seaweedfs/$version"
bin="$cache/weed"
force=false
[[ "${1:-}" == "--force" ]] && force=true

log() { echo "s3-fetch: $*" >&2; }

if [[ "$force" == false && -x "$bin" ]]; then
  log "SeaweedFS $version already built: $bin"
  echo "$bin"
  exit 0
fi

command -v go >/dev/null || { log "error: go not found on PATH (Go $(sed -n 's/^go //p' "$here/go.mod")+ needed)"; exit 1; }

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [[ "$force" == false && -x "$bin" ]]; then
  log "SeaweedFS $version already built: $bin"
  echo "$bin"
  exit 0
fi

log "building github.com/seaweedfs/seaweedfs/weed $version with $(go version | cut -d' ' -f3) (a cold build takes minutes)..."
start=$SECONDS
tmp="$cache/weed.tmp.$$"
trap 'rm -f "$tmp"' EXIT
(cd "$here" && GOFLAGS=-mod=readonly CGO_ENABLED=0 go build -trimpath -o "$tmp" github.com/seaweedfs/seaweedfs/weed)
chmod 755 "$tmp"
mv "$tmp" "$bin"
trap - EXIT
log "done: $bin ($(du -h "$bin" | cut -f1)) after $((SECONDS - start)) s"
echo "$bin"
