import { authVars, byName, type ConfigOf, env, loadConfig, serviceVars } from "@shopmesh/platform";

/** Environment of the cart service, as data (for the README's table and the manifests). */
export const cartConfigSchema = byName({
  ...serviceVars("cart", { schema: "cart" }),
  ...authVars(),
  CART_HOST: env.string({ doc: "Interface the cart gRPC server listens on", default: "0.0.0.0" }),
  CART_PORT: env.port({ doc: "Port of the cart gRPC server (0 picks a free one)", default: 50053 }),
  CATALOG_ADDR: env.address({ doc: "host:port of the catalog service, which names and prices cart lines" }),
});

export type CartConfig = ConfigOf<typeof cartConfigSchema>;

/** Reads and validates the cart service's environment; throws a ConfigError naming each bad variable. */
export function readCartConfig(source: Record<string, string | undefined> = process.env): CartConfig {
  return loadConfig(cartConfigSchema, source);
}
