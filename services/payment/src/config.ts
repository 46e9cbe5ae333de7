import { authVars, byName, ConfigError, type ConfigOf, env, loadConfig, serviceVars, type VarSpec } from "@shopmesh/platform";

/** Environment of the payment service, as data (for the README's table and the manifests). */
export const paymentConfigSchema = byName({
  ...serviceVars("payment", { schema: "payment" }),
  ...authVars(),
  // Unlike the other verifiers, payment defaults to a local auth service rather than an injected verifier.
  AUTH_ADDR: env.address({ doc: "host:port of the auth service, whose GetJwks verifies access tokens", default: "127.0.0.1:50052" }),
  PAYMENT_FAILURE_RATE: {
    kind: "number",
    doc: "Share (0..1) of provider calls of the fake provider that fail transiently, to exercise retries",
    default: 0,
    required: false,
    parse(raw: string, name: string): number {
      const value = Number(raw.trim());
      if (raw.trim() === "" || !Number.isFinite(value) || value < 0 || value > 1) {
        throw new ConfigError(`invalid environment variable ${name}: expected a number from 0 to 1, got "${raw}"`);
      }
      return value;
    },
  } satisfies VarSpec<number>,
  PAYMENT_HOST: env.string({ doc: "Interface the payment gRPC server listens on", default: "0.0.0.0" }),
  PAYMENT_PORT: env.port({ doc: "Port of the payment gRPC server (0 picks a free one)", default: 50055 }),
});

export type PaymentConfig = ConfigOf<typeof paymentConfigSchema>;

/** Reads and validates the payment service's environment; throws a ConfigError naming each bad variable. */
export function readPaymentConfig(source: Record<string, string | undefined> = process.env): PaymentConfig {
  return loadConfig(paymentConfigSchema, source);
}
