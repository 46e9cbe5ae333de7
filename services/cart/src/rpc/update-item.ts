import type { Carts } from "../app/use-cases.js";
import { parseUpdateItem } from "../domain/validation.js";
import { callerId, type Handler } from "./handler.js";
import { toProtoCart } from "./mapping.js";

export function updateItem(carts: Carts): Handler<"updateItem"> {
  return async (req, ctx) => {
    const userId = callerId(ctx);
    const { productId, qty } = parseUpdateItem(req);
    return { cart: toProtoCart(await carts.updateItem(userId, productId, qty)) };
  };
}
