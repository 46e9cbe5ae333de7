import type { Carts } from "../app/use-cases.js";
import { parseGetUserCart } from "../domain/validation.js";
import type { Handler } from "./handler.js";
import { toProtoCart } from "./mapping.js";

/** Internal (no edge rule): a trusted mesh peer names the user. */
export function getUserCart(carts: Carts): Handler<"getUserCart"> {
  return async (req) => ({ cart: toProtoCart(await carts.storedCart(parseGetUserCart(req).userId)) });
}
