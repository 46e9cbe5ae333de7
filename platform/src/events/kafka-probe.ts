import { type Admin, Kafka, type KafkaConfig, logLevel } from "kafkajs";

export interface KafkaProbe {
  /** Resolves when a broker answers a metadata request; rejects within about a second otherwise. */
  probe(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Asks the brokers for the cluster's metadata, on a connection of its own with short timeouts
 * and no retries: a readiness check of the broker, apart from the bus's producer and consumers
 * (which retry for longer, on their own terms).
 */
export function createKafkaProbe(
  brokers: readonly string[],
  clientId: string,
  security: Pick<KafkaConfig, "ssl" | "sasl"> = {},
): KafkaProbe {
  const kafka = new Kafka({
    ...security,
    brokers: [...brokers],
    clientId: `${clientId}-probe`,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    requestTimeout: 1_000,
    retry: { retries: 0 },
  });
  let admin: Admin | undefined;
  return {
    async probe() {
      admin ??= kafka.admin();
      try {
        await admin.connect();
        await admin.describeCluster();
      } catch (err) {
        const a = admin;
        admin = undefined;
        await a.disconnect().catch(() => undefined);
        throw err;
      }
    },
    async close() {
      await admin?.disconnect().catch(() => undefined);
      admin = undefined;
    },
  };
}
