import type { Client } from "@shopmesh/platform";
import type { CatalogService } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import type { ProductInfo } from "../domain/cart.js";

/** Where carts get product names and prices: the catalog as it is now. */
export interface ProductCatalog {
  /** The products of `ids` the catalog knows, by id; one call whatever the number of ids. */
  products(ids: readonly string[]): Promise<Map<string, ProductInfo>>;
}

/** The catalog's BatchGetProducts over gRPC; its errors (UNAVAILABLE, …) reach the caller as they are. */
export function createGrpcProductCatalog(client: Client<typeof CatalogService>): ProductCatalog {
  return {
    async products(ids) {
      const found = new Map<string, ProductInfo>();
      if (ids.length === 0) return found;
      const { products } = await client.batchGetProducts({ ids: [...ids] });
      for (const p of products)
        found.set(p.id, {
          id: p.id,
          name: p.name,
          priceCents: p.priceCents,
          currency: p.currency,
          archived: p.archived,
          version: p.version,
        });
      return found;
    },
  };
}
