import type { ServiceHandlers } from "@shopmesh/platform";
import type { CatalogService } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import type { Catalog } from "../app/use-cases.js";
import { adjustStock } from "./adjust-stock.js";
import { batchGetProducts } from "./batch-get-products.js";
import { getProduct } from "./get-product.js";
import { listProducts } from "./list-products.js";
import { listReservations } from "./list-reservations.js";
import { listStockAdjustments } from "./list-stock-adjustments.js";
import { listStockBooks } from "./list-stock-books.js";
import { releaseStock } from "./release-stock.js";
import { reserveStock } from "./reserve-stock.js";
import { streamStock } from "./stream-stock.js";
import { watchStock } from "./watch-stock.js";

/** Every CatalogService RPC, bound to the catalog's use cases. */
export function catalogHandlers(catalog: Catalog): ServiceHandlers<typeof CatalogService> {
  return {
    listProducts: listProducts(catalog),
    getProduct: getProduct(catalog),
    batchGetProducts: batchGetProducts(catalog),
    watchStock: watchStock(catalog),
    streamStock: streamStock(catalog),
    reserveStock: reserveStock(catalog),
    releaseStock: releaseStock(catalog),
    adjustStock: adjustStock(catalog),
    listStockBooks: listStockBooks(catalog),
    listReservations: listReservations(catalog),
    listStockAdjustments: listStockAdjustments(catalog),
  };
}
