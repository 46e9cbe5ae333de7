import { createEventRegistry, type EventBus, type Logger, type Subscription, subscribeInbox } from "@shopmesh/platform";
import { OrderPlacedSchema } from "@shopmesh/proto/shop/order/v1/events_pb.js";
import type { Kysely, Transaction } from "kysely";
import type { Carts } from "../app/use-cases.js";
import type { CartDb } from "../db/tables.js";

const registry = createEventRegistry([OrderPlacedSchema]);
export const CART_GROUP = "cart";
/** The event types the cart service consumes. */
export const CART_EVENT_TYPES: readonly string[] = registry.types;

/**
 * OrderPlaced: the ordered units leave the orderer's cart, once per event (inbox), in the
 * same transaction as the inbox record. What the shopper added meanwhile stays.
 */
export function subscribeOrderPlaced(bus: EventBus, db: Kysely<CartDb>, carts: Carts, logger: Logger): Subscription {
  return subscribeInbox({
    bus,
    group: CART_GROUP,
    events: registry,
    db,
    logger,
    claimed: async (trx, event) => {
      const placed = registry.decodeAs(OrderPlacedSchema, event);
      if (!placed.userId) throw new Error(`${event.type} ${placed.orderId} without a user id`);
      return carts.removeOrdered(
        trx as Transaction<CartDb>,
        event,
        placed.userId,
        placed.items.map((i) => ({ productId: i.productId, quantity: i.quantity })),
      );
    },
  });
}
