#!/usr/bin/env bash
# Fetches the Apache Kafka broker jars (version pinned in pom.xml) from Maven Central into
# infra/kafka/lib (git-ignored). Idempotent: does nothing when the jars of that version are
# already there. Non-interactive (mvn -B), safe to run as root in CI and from parallel processes.
#
#   infra/kafka/fetch.sh            # fetch if missing
#   infra/kafka/fetch.sh --force    # fetch again
#
# Needs: Java 17+, Maven 3.6+ (network access to Maven Central, or a warm ~/.m2).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
lib="$here/lib"
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")"
marker="$lib/.fetched-kafka-$version"
force=false
[[ "${1:-}" == "--force" ]] && force=true

log() { echo "kafka-fetch: $*"; }

if [[ "$force" == false && -f "$marker" ]]; then
  log "Kafka $version jars already present in $lib"
  exit 0
fi

command -v mvn >/dev/null || { log "error: mvn (Maven) not found on PATH" >&2; exit 1; }
command -v java >/dev/null || { log "error: java not found on PATH (Java 17+ needed)" >&2; exit 1; }

# Serialise concurrent fetches (e.g. parallel test workers); the second one finds the marker.
exec 9>"${TMPDIR:-/tmp}/cairn-kafka-fetch.lock"
flock 9
if [[ "$force" == false && -f "$marker" ]]; then
  log "Kafka $version jars already present in $lib"
  exit 0
fi

tmp="$(mktemp -d "$here/.lib-tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
log "resolving org.apache.kafka:kafka_2.13:$version and runtime dependencies (mvn -B)..."
start=$SECONDS
mvn -B -q -ntp -Dstyle.color=never -f "$here/pom.xml" \
  org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
  -DincludeScope=runtime -DoutputDirectory="$tmp" 2>&1 | sed 's/\x1b\[[0-9;]*m//g'
chmod 755 "$tmp"
touch "$tmp/.fetched-kafka-$version"
rm -rf "$lib"
mv "$tmp" "$lib"
trap - EXIT
log "done: $(find "$lib" -name '*.jar' | wc -l) jars ($(du -sh "$lib" | cut -f1)) in $lib after $((SECONDS - start)) s"
