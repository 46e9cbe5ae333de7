import { Code, ConnectError } from "@connectrpc/connect";
import type { CatalogService } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import type { ServiceHandlers } from "../grpc/service.js";

const unimplemented = async () => {
  throw new ConnectError("not used by this test", Code.Unimplemented);
};

/**
 * Handlers of the catalog contract for tests of the gRPC kit (any contract would do): the
 * given ones, UNIMPLEMENTED (or an empty stream) for the rest.
 */
export function catalogHandlers(overrides: Partial<ServiceHandlers<typeof CatalogService>> = {}): ServiceHandlers<typeof CatalogService> {
  return {
    listProducts: unimplemented,
    getProduct: unimplemented,
    batchGetProducts: unimplemented,
    reserveStock: unimplemented,
    releaseStock: unimplemented,
    adjustStock: unimplemented,
    createProduct: unimplemented,
    updateProduct: unimplemented,
    archiveProduct: unimplemented,
    listPriceChanges: unimplemented,
    listStockBooks: unimplemented,
    listReservations: unimplemented,
    listStockAdjustments: unimplemented,
    async *watchStock() {},
    async *streamStock() {},
    ...overrides,
  };
}
