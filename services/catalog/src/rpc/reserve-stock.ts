import type { Catalog } from "../catalog/catalog.service.js";
import { parseOrderId, parseStockItems } from "../catalog/validation.js";
import type { Handler } from "./handler.js";
import { toProtoShortage, toProtoStatus } from "./mapping.js";

export function reserveStock(catalog: Catalog): Handler<"reserveStock"> {
  return async (req) => {
    const outcome = await catalog.reserveStock(parseOrderId(req.orderId), parseStockItems(req.items));
    return { status: toProtoStatus(outcome.status), shortages: outcome.shortages.map(toProtoShortage) };
  };
}
