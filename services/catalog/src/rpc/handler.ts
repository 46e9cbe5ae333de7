import type { ServiceHandlers } from "@shopmesh/platform";
import type { CatalogService } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";

/** The typed handler of one CatalogService method, e.g. `Handler<"getProduct">`. */
export type Handler<K extends keyof ServiceHandlers<typeof CatalogService>> = ServiceHandlers<typeof CatalogService>[K];
