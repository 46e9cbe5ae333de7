import type { Catalog } from "../app/use-cases.js";
import { parseBatchGetProducts } from "../domain/validation.js";
import type { Handler } from "./handler.js";
import { toProtoProduct } from "./mapping.js";

export function batchGetProducts(catalog: Catalog): Handler<"batchGetProducts"> {
  return async (req) => {
    const { products, missingIds } = await catalog.batchGetProducts(parseBatchGetProducts(req).ids);
    return { products: products.map(toProtoProduct), missingIds };
  };
}
