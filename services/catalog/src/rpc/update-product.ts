import type { Catalog } from "../app/use-cases.js";
import { parseUpdateProduct } from "../domain/validation.js";
import type { Handler } from "./handler.js";
import { toProtoProduct } from "./mapping.js";

export function updateProduct(catalog: Catalog): Handler<"updateProduct"> {
  return async (req) => {
    const { id, expectedVersion, fields } = parseUpdateProduct(req);
    return { product: toProtoProduct(await catalog.updateProduct(id, expectedVersion, fields)) };
  };
}
