import { authVars, byName, type ConfigOf, env, loadConfig, serviceVars } from "@shopmesh/platform";

/** Environment of the order service, as data (for the README's table and the manifests). */
export const orderConfigSchema = byName({
  // Not "order": that is an SQL keyword.
  ...serviceVars("order", { schema: "orders" }),
  ...authVars(),
  CART_ADDR: env.address({ doc: "host:port of the cart service, whose GetUserCart says what an order contains" }),
  CATALOG_ADDR: env.address({ doc: "host:port of the catalog service, which prices the lines of a new order" }),
  ORDER_HOST: env.string({ doc: "Interface the order gRPC server listens on", default: "0.0.0.0" }),
  ORDER_PORT: env.port({ doc: "Port of the order gRPC server (0 picks a free one)", default: 50054 }),
  PAYMENT_ADDR: env.address({ doc: "host:port of the payment service, whose TokenizeCard turns a card number into a token" }),
});

export type OrderConfig = ConfigOf<typeof orderConfigSchema>;

/** Reads and validates the order service's environment; throws a ConfigError naming each bad variable. */
export function readOrderConfig(source: Record<string, string | undefined> = process.env): OrderConfig {
  return loadConfig(orderConfigSchema, source);
}
