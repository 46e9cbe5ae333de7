#!/usr/bin/env bash
# Grants each service's Kafka principal (User:<service>) what its code does and nothing else:
# write to its own events' topic and to the dead-letter topics of what it reads, read the topics
# it subscribes to as its own consumer group. The brokers deny everything else (no ACL, no
# access). With KAFKA_PASSWORD_<SERVICE> set (e.g. KAFKA_PASSWORD_ORDER), it also sets that
# principal's SCRAM credential. Run once per cluster, after create-topics.sh, with Kafka's own CLI:
#
#   KAFKA_BOOTSTRAP=kafka:9092 KAFKA_ADMIN_USERNAME=admin KAFKA_ADMIN_PASSWORD=… deploy/kafka/create-acls.sh
#
# The admin connection: KAFKA_ADMIN_USERNAME/KAFKA_ADMIN_PASSWORD over SASL (KAFKA_ADMIN_MECHANISM,
# default SCRAM-SHA-512), over TLS when KAFKA_ADMIN_TLS=true (KAFKA_ADMIN_CA_FILE: a PEM file of
# the brokers' CA); without a user, the listener at KAFKA_BOOTSTRAP must let it in as it is.
# SCRAM_MECHANISM (default SCRAM-SHA-512) is the mechanism of the credentials it sets.
# KAFKA_ACLS_CMD and KAFKA_CONFIGS_CMD are the kafka-acls and kafka-configs scripts (default: on
# PATH, else the apache/kafka image's /opt/kafka/bin). Idempotent.
set -euo pipefail

BOOTSTRAP="${KAFKA_BOOTSTRAP:?set KAFKA_BOOTSTRAP to host:port of a broker}"
SCRAM="${SCRAM_MECHANISM:-SCRAM-SHA-512}"
tool() {
  local override="$1" name="$2"
  if [[ -n "$override" ]]; then echo "$override"
  elif command -v "$name" >/dev/null; then echo "$name"
  else echo "/opt/kafka/bin/$name"; fi
}
acls_cmd="$(tool "${KAFKA_ACLS_CMD:-}" kafka-acls.sh)"
configs_cmd="$(tool "${KAFKA_CONFIGS_CMD:-}" kafka-configs.sh)"

# What each service may do: <principal>:<consumer group, or - >:<topics it writes>:<topics it reads>.
# launcher/src/system-tests/deployment/kafka-access.ts derives the same from the code; a test keeps the two equal.
ACCESS=(
  "auth:-:shop.auth.v1:"
  "catalog:catalog:shop.catalog.v1,shop.order.v1.dlq,shop.payment.v1.dlq:shop.order.v1,shop.payment.v1"
  "cart:cart:shop.catalog.v1.dlq,shop.order.v1.dlq:shop.catalog.v1,shop.order.v1"
  "order:order:shop.catalog.v1.dlq,shop.order.v1,shop.payment.v1.dlq:shop.catalog.v1,shop.payment.v1"
  "payment:payment:shop.catalog.v1.dlq,shop.order.v1.dlq,shop.payment.v1:shop.catalog.v1,shop.order.v1"
  "notification:notification:shop.auth.v1.dlq,shop.order.v1.dlq:shop.auth.v1,shop.order.v1"
)

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

allow() {
  "$acls_cmd" --bootstrap-server "$BOOTSTRAP" "${admin[@]}" --add --allow-principal "User:$1" "${@:2}" >/dev/null
}

for entry in "${ACCESS[@]}"; do
  IFS=: read -r principal group writes reads <<<"$entry"
  password_var="KAFKA_PASSWORD_${principal^^}"
  if [[ -n "${!password_var:-}" ]]; then
    "$configs_cmd" --bootstrap-server "$BOOTSTRAP" "${admin[@]}" --alter --entity-type users --entity-name "$principal" \
      --add-config "${SCRAM}=[iterations=8192,password=${!password_var}]"
  fi
  IFS=, read -ra topics <<<"$writes"
  for topic in "${topics[@]}"; do allow "$principal" --operation Write --operation Describe --topic "$topic"; done
  IFS=, read -ra topics <<<"$reads"
  for topic in "${topics[@]}"; do allow "$principal" --operation Read --operation Describe --topic "$topic"; done
  if [[ "$group" != "-" ]]; then allow "$principal" --operation Read --group "$group"; fi
  echo "User:$principal writes ${writes:-nothing}, reads ${reads:-nothing}"
done
