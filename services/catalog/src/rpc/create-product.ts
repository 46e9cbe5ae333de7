import type { Catalog } from "../app/use-cases.js";
import { parseCreateProduct } from "../domain/validation.js";
import type { Handler } from "./handler.js";
import { toProtoProduct } from "./mapping.js";

export function createProduct(catalog: Catalog): Handler<"createProduct"> {
  return async (req) => {
    const { id, fields, initialStock } = parseCreateProduct(req);
    return { product: toProtoProduct(await catalog.createProduct(id, fields, initialStock)) };
  };
}
