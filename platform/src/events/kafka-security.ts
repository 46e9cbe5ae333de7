import { readFileSync } from "node:fs";
import type { KafkaConfig } from "kafkajs";
import { ConfigError, type KafkaSecurity } from "../config.js";

/** kafkajs' TLS and SASL settings of a {@link KafkaSecurity}; a CA file that cannot be read is a ConfigError naming KAFKA_SSL_CA_FILE. */
export function kafkaClientSecurity(security: KafkaSecurity): Pick<KafkaConfig, "ssl" | "sasl"> {
  const out: Pick<KafkaConfig, "ssl" | "sasl"> = {};
  if (security.ssl) {
    const { caFile } = security.ssl;
    if (caFile === undefined) out.ssl = true;
    else {
      let pem: string;
      try {
        pem = readFileSync(caFile, "utf8");
      } catch (err) {
        throw new ConfigError(
          `invalid environment variable KAFKA_SSL_CA_FILE: cannot read ${caFile} (${(err as NodeJS.ErrnoException).code ?? "error"})`,
        );
      }
      if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
        throw new ConfigError(`invalid environment variable KAFKA_SSL_CA_FILE: ${caFile} holds no PEM certificate`);
      }
      out.ssl = { ca: [pem], rejectUnauthorized: true };
    }
  }
  if (security.sasl) {
    const { mechanism, username, password } = security.sasl;
    out.sasl = mechanism === "scram-sha-256" ? { mechanism, username, password } : { mechanism, username, password };
  }
  return out;
}
