import type { Carts } from "../app/use-cases.js";
import { callerId, type Handler } from "./handler.js";
import { toProtoCart } from "./mapping.js";

export function getCart(carts: Carts): Handler<"getCart"> {
  return async (_req, ctx) => ({ cart: toProtoCart(await carts.getCart(callerId(ctx))) });
}
