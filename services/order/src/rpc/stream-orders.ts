import type { Orders } from "../app/use-cases.js";
import { parseStreamOrders } from "../domain/validation.js";
import { OrderWatch } from "./status-watch.js";
import { callerId, type Handler } from "./handler.js";
import { toProtoUpdate } from "./mapping.js";

/**
 * Current statuses first, then every transition; ends normally once checkout is over for every
 * listed order (with `follow_refunds`: once every one is CANCELLED or REFUNDED), or when the client cancels or the server stops. NOT_FOUND (before anything is sent)
 * when an id is not the caller's; RESOURCE_EXHAUSTED for more than 100 ids.
 */
export function streamOrders(orders: Orders): Handler<"streamOrders"> {
  return (req, ctx) =>
    (async function* () {
      const userId = callerId(ctx);
      const { orderIds: ids, followRefunds } = parseStreamOrders(req);
      const source = { feed: orders.feed, currentStatuses: (list: readonly string[]) => orders.currentStatuses(userId, list) };
      const watch = new OrderWatch(source, ctx.signal, { followRefunds });
      try {
        await watch.add(ids, "order_ids");
        watch.endRequests();
        for await (const update of watch) yield { update: toProtoUpdate(update) };
      } finally {
        watch.close();
      }
    })();
}
