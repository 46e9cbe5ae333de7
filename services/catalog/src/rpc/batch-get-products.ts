import type { Catalog } from "../catalog/catalog.service.js";
import { MAX_BATCH_IDS, parseProductIds } from "../catalog/validation.js";
import type { Handler } from "./handler.js";
import { toProtoProduct } from "./mapping.js";

export function batchGetProducts(catalog: Catalog): Handler<"batchGetProducts"> {
  return async (req) => {
    const { products, missingIds } = await catalog.batchGetProducts(parseProductIds("ids", req.ids, MAX_BATCH_IDS));
    return { products: products.map(toProtoProduct), missingIds };
  };
}
