#!/usr/bin/env bash
# Makes sure scripts/kafka-test-broker.py can start a Kafka-protocol test broker (librdkafka's
# mock cluster) with Debian's /usr/bin/python3, installing Debian's `python3-confluent-kafka`
# (which brings librdkafka) when needed. Idempotent: where the broker already starts it only
# checks. Needs root for the install (CI runs as root). Logs to stderr; the caller starts the
# broker and exports KAFKA_BROKERS (see .ci/run).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${KAFKA_TEST_PYTHON:-/usr/bin/python3}"
BROKER_SCRIPT="$ROOT/scripts/kafka-test-broker.py"

log() { printf '[ensure-kafka] %s\n' "$*" >&2; }
die() { printf '[ensure-kafka] ERROR: %s\n' "$*" >&2; exit 1; }

can_start() {
  [[ -x "$PYTHON" ]] && "$PYTHON" "$BROKER_SCRIPT" --check 2>/dev/null
}

install_confluent_kafka() {
  log "installing Debian's python3-confluent-kafka (apt-get update && apt-get install -y python3-confluent-kafka)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q python3-confluent-kafka
}

if ! can_start; then
  install_confluent_kafka
  can_start || { "$PYTHON" "$BROKER_SCRIPT" --check || true; die "the mock broker still does not start with $PYTHON"; }
fi
log "$("$PYTHON" "$BROKER_SCRIPT" --check 2>&1)"
