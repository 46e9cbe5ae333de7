import type { Carts } from "../app/use-cases.js";
import { parseAddItem } from "../domain/validation.js";
import { callerId, type Handler } from "./handler.js";
import { toProtoCart } from "./mapping.js";

export function addItem(carts: Carts): Handler<"addItem"> {
  return async (req, ctx) => {
    const userId = callerId(ctx);
    const { productId, qty } = parseAddItem(req);
    return { cart: toProtoCart(await carts.addItem(userId, productId, qty)) };
  };
}
