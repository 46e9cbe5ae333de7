import type { Orders } from "../app/use-cases.js";
import { parseGetOrder } from "../domain/validation.js";
import { callerId, type Handler } from "./handler.js";
import { toProtoOrder } from "./mapping.js";

export function getOrder(orders: Orders): Handler<"getOrder"> {
  return async (req, ctx) => {
    const userId = callerId(ctx);
    const { id } = parseGetOrder(req);
    return { order: toProtoOrder(await orders.getOrder(userId, id)) };
  };
}
