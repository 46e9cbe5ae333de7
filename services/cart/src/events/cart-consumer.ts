import { createEventRegistry, type EventBus, type Logger, type Subscription, subscribeInbox } from "@shopmesh/platform";
import { ProductPriceChangedSchema } from "@shopmesh/proto/shop/catalog/v1/events_pb.js";
import { OrderPlacedSchema } from "@shopmesh/proto/shop/order/v1/events_pb.js";
import type { Kysely, Transaction } from "kysely";
import type { Carts } from "../app/use-cases.js";
import type { CartDb } from "../db/tables.js";

const registry = createEventRegistry([OrderPlacedSchema, ProductPriceChangedSchema]);
export const CART_GROUP = "cart";
/** The event types the cart service consumes. */
export const CART_EVENT_TYPES: readonly string[] = registry.types;

/**
 * Each event once (inbox), in the same transaction as the inbox record:
 * - OrderPlaced: the ordered units leave the orderer's cart; what the shopper added meanwhile
 *   stays, and the lines left lose their price-change notice.
 * - ProductPriceChanged: the product's lines take the new price, with the old one as a notice.
 */
export function subscribeCartEvents(bus: EventBus, db: Kysely<CartDb>, carts: Carts, logger: Logger): Subscription {
  return subscribeInbox({
    bus,
    group: CART_GROUP,
    events: registry,
    db,
    logger,
    claimed: async (conn, event) => {
      const trx = conn as Transaction<CartDb>;
      if (event.type === ProductPriceChangedSchema.typeName) {
        const changed = registry.decodeAs(ProductPriceChangedSchema, event);
        if (!changed.productId) throw new Error(`${event.type} without a product id`);
        return carts.applyPriceChange(trx, event, {
          productId: changed.productId,
          priceCents: changed.newPriceCents,
          currency: changed.currency,
          version: changed.version,
        });
      }
      const placed = registry.decodeAs(OrderPlacedSchema, event);
      if (!placed.userId) throw new Error(`${event.type} ${placed.orderId} without a user id`);
      return carts.removeOrdered(
        trx,
        event,
        placed.userId,
        placed.items.map((i) => ({ productId: i.productId, quantity: i.quantity })),
      );
    },
  });
}
