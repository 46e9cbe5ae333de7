import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type Cart, CartSchema } from "@shopmesh/proto/shop/cart/v1/cart_pb.js";
import type { PricedCart } from "../domain/cart.js";

export function toProtoCart(cart: PricedCart): Cart {
  return create(CartSchema, {
    userId: cart.userId,
    items: cart.items.map((i) => ({
      productId: i.productId,
      name: i.name,
      unitPriceCents: i.unitPriceCents,
      quantity: i.quantity,
      lineTotalCents: i.lineTotalCents,
      priceChangedFromCents: i.priceChangedFromCents,
      shownPriceCents: i.shownPriceCents,
    })),
    totalCents: cart.totalCents,
    currency: cart.currency,
    ...(cart.updatedAt ? { updatedAt: timestampFromDate(cart.updatedAt) } : {}),
  });
}
