import type { Catalog } from "../app/use-cases.js";
import { parseReleaseStock } from "../domain/validation.js";
import type { Handler } from "./handler.js";
import { toProtoStatus } from "./mapping.js";

export function releaseStock(catalog: Catalog): Handler<"releaseStock"> {
  return async (req) => {
    const { orderId, reason } = parseReleaseStock(req);
    const status = await catalog.releaseStock(orderId, reason);
    return { status: toProtoStatus(status) };
  };
}
