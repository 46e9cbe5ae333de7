import type { Catalog } from "../app/use-cases.js";
import { parseAdjustStock } from "../domain/validation.js";
import type { Handler } from "./handler.js";
import { toProtoLevel } from "./mapping.js";

export function adjustStock(catalog: Catalog): Handler<"adjustStock"> {
  return async (req) => {
    const { productId, delta, reason } = parseAdjustStock(req);
    return { level: toProtoLevel(await catalog.adjustStock(productId, delta, reason)) };
  };
}
