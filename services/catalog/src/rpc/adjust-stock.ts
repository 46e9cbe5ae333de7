import type { Catalog } from "../catalog/catalog.service.js";
import { parseDelta, parseProductId, parseReason } from "../catalog/validation.js";
import type { Handler } from "./handler.js";
import { toProtoLevel } from "./mapping.js";

export function adjustStock(catalog: Catalog): Handler<"adjustStock"> {
  return async (req) => {
    const level = await catalog.adjustStock(
      parseProductId("product_id", req.productId),
      parseDelta(req.delta),
      parseReason("reason", req.reason, "unspecified"),
    );
    return { level: toProtoLevel(level) };
  };
}
