#!/usr/bin/env bash
# Stops a broker started by infra/kafka/start.sh: SIGTERM (controlled shutdown), then SIGKILL
# after KAFKA_STOP_TIMEOUT seconds (default 30). Keeps the data dir; delete it for a fresh cluster.
#
#   infra/kafka/stop.sh [--data-dir .cache/kafka]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
data_dir="${KAFKA_DATA_DIR:-$repo/.cache/kafka}"
timeout="${KAFKA_STOP_TIMEOUT:-30}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --data-dir) data_dir="$2"; shift 2 ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "kafka-stop: unknown argument $1" >&2; exit 2 ;;
  esac
done
pid_file="$data_dir/broker.pid"
log() { echo "kafka-stop: $*"; }

if [[ ! -f "$pid_file" ]]; then
  log "no pid file in $data_dir: not running"
  exit 0
fi
pid="$(cat "$pid_file")"
if ! kill -0 "$pid" 2>/dev/null; then
  log "pid $pid not running; removing stale pid file"
  rm -f "$pid_file"
  exit 0
fi
# Guard against a recycled pid: only signal a Kafka JVM.
if ! tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q 'kafka.Kafka'; then
  log "pid $pid is not a Kafka broker; removing stale pid file"
  rm -f "$pid_file"
  exit 0
fi

log "stopping broker (pid $pid)"
kill -TERM "$pid"
start=$SECONDS
while kill -0 "$pid" 2>/dev/null; do
  if (( SECONDS - start >= timeout )); then
    log "still running after $timeout s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    break
  fi
  sleep 0.2
done
rm -f "$pid_file"
log "stopped after $((SECONDS - start)) s"
