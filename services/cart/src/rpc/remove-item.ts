import type { Carts } from "../cart/cart.service.js";
import { parseProductId } from "../cart/validation.js";
import { callerId, type Handler } from "./handler.js";
import { toProtoCart } from "./mapping.js";

export function removeItem(carts: Carts): Handler<"removeItem"> {
  return async (req, ctx) => {
    const userId = callerId(ctx);
    const productId = parseProductId("product_id", req.productId);
    return { cart: toProtoCart(await carts.removeItem(userId, productId)) };
  };
}
