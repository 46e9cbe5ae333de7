#!/usr/bin/env bash
# Creates shopmesh's Kafka topics: one per domain (shop.<domain>.v1, keyed by aggregate id) and
# its dead-letter topic (<topic>.dlq). The services never create topics on a real cluster; run
# this once per cluster (docker-compose.yml and the Helm chart do) with Kafka's own CLI:
#
#   KAFKA_BOOTSTRAP=kafka:9092 PARTITIONS=6 REPLICATION=3 deploy/kafka/create-topics.sh
#
# KAFKA_TOPICS_CMD is the kafka-topics script (default: kafka-topics.sh on PATH, else the
# apache/kafka image's /opt/kafka/bin/kafka-topics.sh). Idempotent (--if-not-exists).
set -euo pipefail

BOOTSTRAP="${KAFKA_BOOTSTRAP:?set KAFKA_BOOTSTRAP to host:port of a broker}"
PARTITIONS="${PARTITIONS:-6}"
REPLICATION="${REPLICATION:-1}"
if [[ -n "${KAFKA_TOPICS_CMD:-}" ]]; then
  cmd="$KAFKA_TOPICS_CMD"
elif command -v kafka-topics.sh >/dev/null; then
  cmd=kafka-topics.sh
else
  cmd=/opt/kafka/bin/kafka-topics.sh
fi

# The domains whose events go through Kafka: shop.<domain>.v1.<Event> → topic shop.<domain>.v1.
DOMAINS=(auth catalog order payment)

for domain in "${DOMAINS[@]}"; do
  for topic in "shop.${domain}.v1" "shop.${domain}.v1.dlq"; do
    "$cmd" --bootstrap-server "$BOOTSTRAP" --create --if-not-exists \
      --topic "$topic" --partitions "$PARTITIONS" --replication-factor "$REPLICATION"
  done
done
"$cmd" --bootstrap-server "$BOOTSTRAP" --list
