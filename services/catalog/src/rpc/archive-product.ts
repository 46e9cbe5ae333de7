import type { Catalog } from "../app/use-cases.js";
import { parseArchiveProduct } from "../domain/validation.js";
import type { Handler } from "./handler.js";
import { toProtoProduct } from "./mapping.js";

export function archiveProduct(catalog: Catalog): Handler<"archiveProduct"> {
  return async (req) => {
    const { id, expectedVersion, reason } = parseArchiveProduct(req);
    return { product: toProtoProduct(await catalog.archiveProduct(id, expectedVersion, reason)) };
  };
}
