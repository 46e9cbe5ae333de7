#!/usr/bin/env bash
# Creates shopmesh's Kafka topics: one per domain (shop.<domain>.v1, keyed by aggregate id) and
# its dead-letter topic (<topic>.dlq). The services never create topics on a real cluster; run
# this once per cluster (docker-compose.yml and the Helm chart do) with Kafka's own CLI:
#
#   KAFKA_BOOTSTRAP=kafka:9092 PARTITIONS=6 REPLICATION=3 deploy/kafka/create-topics.sh
#
# KAFKA_TOPICS_CMD is the kafka-topics script (default: kafka-topics.sh on PATH, else the
# apache/kafka image's /opt/kafka/bin/kafka-topics.sh). Idempotent (--if-not-exists). On an
# authenticated cluster it connects as KAFKA_ADMIN_USERNAME, as create-acls.sh does (see there).
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

admin=()
if [[ -n "${KAFKA_ADMIN_USERNAME:-}" ]]; then
  props="$(mktemp)"
  trap 'rm -f "$props"' EXIT
  {
    if [[ "${KAFKA_ADMIN_TLS:-false}" == "true" ]]; then
      echo "security.protocol=SASL_SSL"
      if [[ -n "${KAFKA_ADMIN_CA_FILE:-}" ]]; then
        echo "ssl.truststore.type=PEM"
        echo "ssl.truststore.location=${KAFKA_ADMIN_CA_FILE}"
      fi
    else
      echo "security.protocol=SASL_PLAINTEXT"
    fi
    echo "sasl.mechanism=${KAFKA_ADMIN_MECHANISM:-SCRAM-SHA-512}"
    echo "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"${KAFKA_ADMIN_USERNAME}\" password=\"${KAFKA_ADMIN_PASSWORD:?set KAFKA_ADMIN_PASSWORD}\";"
  } >"$props"
  admin=(--command-config "$props")
fi

# The domains whose events go through Kafka: shop.<domain>.v1.<Event> → topic shop.<domain>.v1.
DOMAINS=(auth catalog order payment)

for domain in "${DOMAINS[@]}"; do
  for topic in "shop.${domain}.v1" "shop.${domain}.v1.dlq"; do
    "$cmd" --bootstrap-server "$BOOTSTRAP" "${admin[@]}" --create --if-not-exists \
      --topic "$topic" --partitions "$PARTITIONS" --replication-factor "$REPLICATION"
  done
done
"$cmd" --bootstrap-server "$BOOTSTRAP" "${admin[@]}" --list
