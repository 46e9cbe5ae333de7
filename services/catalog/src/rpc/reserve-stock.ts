import type { Catalog } from "../app/use-cases.js";
import { parseReserveStock } from "../domain/validation.js";
import type { Handler } from "./handler.js";
import { toProtoShortage, toProtoStatus } from "./mapping.js";

export function reserveStock(catalog: Catalog): Handler<"reserveStock"> {
  return async (req) => {
    const { orderId, items } = parseReserveStock(req);
    const outcome = await catalog.reserveStock(orderId, items);
    return { status: toProtoStatus(outcome.status), shortages: outcome.shortages.map(toProtoShortage) };
  };
}
