import type { Catalog } from "../catalog/catalog.service.js";
import { parseOrderId, parseReason } from "../catalog/validation.js";
import type { Handler } from "./handler.js";
import { toProtoStatus } from "./mapping.js";

export function releaseStock(catalog: Catalog): Handler<"releaseStock"> {
  return async (req) => {
    const status = await catalog.releaseStock(parseOrderId(req.orderId), parseReason("reason", req.reason, "unspecified"));
    return { status: toProtoStatus(status) };
  };
}
