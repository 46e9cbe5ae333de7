import type { Carts } from "../app/use-cases.js";
import { callerId, type Handler } from "./handler.js";
import { toProtoCart } from "./mapping.js";

export function clearCart(carts: Carts): Handler<"clearCart"> {
  return async (_req, ctx) => ({ cart: toProtoCart(await carts.clearCart(callerId(ctx))) });
}
