import { type ConfigOf, env, loadConfig } from "@shopmesh/platform";

/** Settings of `npm run chaos`. Without CHAOS_URL it starts an embedded mesh of its own (in a temporary folder). */
export const chaosConfigSchema = {
  CHAOS_URL: env.optional(
    env.url({ doc: "base URL of the edge of a running mesh (its faults must be switchable: NODE_ENV not production)" }),
  ),
  CHAOS_OPERATOR_TOKEN: env.optional(
    env.string({ doc: "an operator's access token for CHAOS_URL (npm run operator, then POST /api/auth/login)" }),
  ),
  CHAOS_SHOPPERS: env.int({ doc: "shoppers checking out at once", default: 8, min: 1 }),
  CHAOS_CHECKOUTS: env.int({ doc: "checkouts per shopper", default: 10, min: 1 }),
  CHAOS_BROKER_AWAY_SECONDS: env.int({ doc: "how long order's broker is away once the load starts", default: 3, min: 0 }),
};

export type ChaosConfig = ConfigOf<typeof chaosConfigSchema>;

export function readChaosConfig(source: Record<string, string | undefined> = process.env): ChaosConfig {
  return loadConfig(chaosConfigSchema, source);
}
