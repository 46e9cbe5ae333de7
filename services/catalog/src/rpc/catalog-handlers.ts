import type { ServiceHandlers } from "@shopmesh/platform";
import type { CatalogService } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import type { Catalog } from "../app/use-cases.js";
import { adjustStock } from "./adjust-stock.js";
import { archiveProduct } from "./archive-product.js";
import { batchGetProducts } from "./batch-get-products.js";
import { createProduct } from "./create-product.js";
import { getProduct } from "./get-product.js";
import { listPriceChanges } from "./list-price-changes.js";
import { listProducts } from "./list-products.js";
import { listReservations } from "./list-reservations.js";
import { listStockAdjustments } from "./list-stock-adjustments.js";
import { listStockBooks } from "./list-stock-books.js";
import { releaseStock } from "./release-stock.js";
import { reserveStock } from "./reserve-stock.js";
import { streamStock } from "./stream-stock.js";
import { updateProduct } from "./update-product.js";
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
    createProduct: createProduct(catalog),
    updateProduct: updateProduct(catalog),
    archiveProduct: archiveProduct(catalog),
    listPriceChanges: listPriceChanges(catalog),
    listStockBooks: listStockBooks(catalog),
    listReservations: listReservations(catalog),
    listStockAdjustments: listStockAdjustments(catalog),
  };
}
