#!/usr/bin/env bash
# Starts a single-node Apache Kafka broker+controller (KRaft) from the jars in infra/kafka/lib,
# in the background, and waits until it is ready. No Docker needed: Java 17+ only.
#
#   infra/kafka/start.sh [--port 9092] [--controller-port <port+1>] [--data-dir .cache/kafka]
#
# Environment (flags win):
#   KAFKA_PORT             client (PLAINTEXT) port on 127.0.0.1              default 9092
#   KAFKA_CONTROLLER_PORT  KRaft controller port on 127.0.0.1                default port+1
#   KAFKA_DATA_DIR         config, log segments, broker.log, broker.pid      default <repo>/.cache/kafka
#   KAFKA_HEAP_OPTS        JVM heap                                          default -Xms128m -Xmx384m
#   KAFKA_JVM_OPTS         other JVM flags      default -XX:+UseSerialGC -XX:TieredStopAtLevel=1
#                          (fast start; for throughput use e.g. "-XX:+UseG1GC" and a bigger heap)
#   KAFKA_START_TIMEOUT    seconds to wait for "Kafka Server started"        default 90
#
# The first start formats the storage with a fresh cluster id; later starts on the same data dir
# keep the data. Stop with infra/kafka/stop.sh (same --data-dir). Fetches the jars if missing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
port="${KAFKA_PORT:-9092}"
controller_port="${KAFKA_CONTROLLER_PORT:-}"
data_dir="${KAFKA_DATA_DIR:-$repo/.cache/kafka}"
timeout="${KAFKA_START_TIMEOUT:-90}"
heap="${KAFKA_HEAP_OPTS:--Xms128m -Xmx384m}"
jvm_opts="${KAFKA_JVM_OPTS:--XX:+UseSerialGC -XX:TieredStopAtLevel=1}"

while [[ $# -gt 0 ]]; do
  case "$1" in
    --port) port="$2"; shift 2 ;;
    --controller-port) controller_port="$2"; shift 2 ;;
    --data-dir) data_dir="$2"; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "kafka-start: unknown argument $1" >&2; exit 2 ;;
  esac
done
controller_port="${controller_port:-$((port + 1))}"
log() { echo "kafka-start: $*"; }

"$here/fetch.sh"

mkdir -p "$data_dir"
data_dir="$(cd "$data_dir" && pwd)"
pid_file="$data_dir/broker.pid"
log_file="$data_dir/broker.log"
if [[ -f "$pid_file" ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
  log "already running (pid $(cat "$pid_file"), data dir $data_dir)"
  exit 0
fi

# Keep in sync with packages/testing/src/kafka-broker.ts (brokerProperties).
cat > "$data_dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$data_dir/kraft-logs
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# Single node: after a crash the restarted broker waits out its old session before it can
# re-register (default 9 s); heartbeats are local, so a short session is safe.
broker.heartbeat.interval.ms=500
broker.session.timeout.ms=3000
PROPS
cat > "$data_dir/log4j2.properties" <<'PROPS'
status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.apache.name = org.apache.kafka
logger.apache.level = INFO
PROPS

cp="$here/lib/*"
# shellcheck disable=SC2206 # word splitting of the option strings is intended
jvm=($heap $jvm_opts -Djava.awt.headless=true "-Dlog4j2.configurationFile=$data_dir/log4j2.properties")

if [[ ! -f "$data_dir/kraft-logs/meta.properties" ]]; then
  cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
  log "formatting storage in $data_dir/kraft-logs (cluster id $cluster_id)"
  # --cluster-id=<id>: an id that starts with "-" (one in 64) would be taken for an option.
  java "${jvm[@]}" -cp "$cp" kafka.tools.StorageTool format \
    --cluster-id="$cluster_id" -c "$data_dir/server.properties" >> "$log_file" 2>&1
fi

log "starting broker on 127.0.0.1:$port (controller $controller_port), log $log_file"
start=$SECONDS
offset=$(stat -c %s "$log_file" 2>/dev/null || echo 0)
nohup java "${jvm[@]}" -cp "$cp" kafka.Kafka "$data_dir/server.properties" >> "$log_file" 2>&1 &
pid=$!
echo "$pid" > "$pid_file"

while true; do
  if tail -c +"$((offset + 1))" "$log_file" | grep -q 'Kafka Server started'; then
    log "ready: 127.0.0.1:$port (pid $pid) after $((SECONDS - start)) s"
    exit 0
  fi
  if ! kill -0 "$pid" 2>/dev/null; then
    log "error: broker exited during startup; last log lines:" >&2
    tail -n 30 "$log_file" >&2
    rm -f "$pid_file"
    exit 1
  fi
  if (( SECONDS - start > timeout )); then
    log "error: not ready after $timeout s; stopping it. Last log lines:" >&2
    tail -n 30 "$log_file" >&2
    kill "$pid" 2>/dev/null || true
    rm -f "$pid_file"
    exit 1
  fi
  sleep 0.5
done
