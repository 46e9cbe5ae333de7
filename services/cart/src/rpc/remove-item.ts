import type { Carts } from "../app/use-cases.js";
import { parseRemoveItem } from "../domain/validation.js";
import { callerId, type Handler } from "./handler.js";
import { toProtoCart } from "./mapping.js";

export function removeItem(carts: Carts): Handler<"removeItem"> {
  return async (req, ctx) => {
    const userId = callerId(ctx);
    const { productId } = parseRemoveItem(req);
    return { cart: toProtoCart(await carts.removeItem(userId, productId)) };
  };
}
