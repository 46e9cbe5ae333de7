import type { ServiceHandlers } from "@shopmesh/platform";
import type { CartService } from "@shopmesh/proto/shop/cart/v1/cart_pb.js";
import type { Carts } from "../app/use-cases.js";
import { addItem } from "./add-item.js";
import { clearCart } from "./clear-cart.js";
import { getCart } from "./get-cart.js";
import { getUserCart } from "./get-user-cart.js";
import { removeItem } from "./remove-item.js";
import { updateItem } from "./update-item.js";

/** Every CartService RPC, bound to the cart use cases. */
export function cartHandlers(carts: Carts): ServiceHandlers<typeof CartService> {
  return {
    getCart: getCart(carts),
    addItem: addItem(carts),
    updateItem: updateItem(carts),
    removeItem: removeItem(carts),
    clearCart: clearCart(carts),
    getUserCart: getUserCart(carts),
  };
}
