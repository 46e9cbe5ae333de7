import { defineService, type ServiceContext, type ServiceOptions, type ServiceServer, serviceRegistration } from "@shopmesh/platform";
import { CartService } from "@shopmesh/proto/shop/cart/v1/cart_pb.js";
import { CatalogService } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { type Carts, createCarts } from "./app/use-cases.js";
import { createGrpcProductCatalog } from "./clients/product-catalog.js";
import type { CartConfig } from "./config.js";
import { cartMigrations } from "./db/migrations/index.js";
import type { CartDb } from "./db/tables.js";
import { subscribeCartEvents } from "./events/cart-consumer.js";
import { cartHandlers } from "./rpc/cart-handlers.js";

/** Cart consumes OrderPlaced and ProductPriceChanged from the bus (group "cart"); without a bus, carts are emptied by ClearCart only and see price changes when read. */
export type CartServerOptions = ServiceOptions<CartConfig>;

export interface CartServer extends ServiceServer {
  /** The use cases behind the RPCs (for in-process callers and tests). */
  readonly carts: Carts;
}

/** The cart service: its gRPC server over its schema of `db`, pricing carts with the catalog. */
export const createCartServer: (opts: CartServerOptions) => CartServer = defineService({
  name: "cart",
  migrations: cartMigrations,
  listen: (config: CartConfig) => ({ host: config.CART_HOST, port: config.CART_PORT }),
  create({ config, db, logger, client, authVerifier }: ServiceContext<CartConfig, CartDb>) {
    const carts = createCarts({ db, catalog: createGrpcProductCatalog(client(CatalogService, config.CATALOG_ADDR)) });
    return {
      expose: { carts },
      rpc: serviceRegistration(CartService, cartHandlers(carts)),
      verifier: authVerifier(config),
      subscribe: (bus) => [subscribeCartEvents(bus, db, carts, logger)],
    };
  },
});
