import type { Orders } from "../app/use-cases.js";
import { parseWatchOrders } from "../domain/validation.js";
import { OrderWatch } from "./status-watch.js";
import { callerId, type Handler } from "./handler.js";
import { toProtoUpdate } from "./mapping.js";

/**
 * Each request first removes, then adds (an id in both lists stays watched and is answered
 * with its current status). After the client half-closes, the stream goes on while a watched
 * order can still change and ends once all are final; it also ends when the client cancels
 * or the server stops. An id that is not the caller's ends it with NOT_FOUND.
 */
export function watchOrders(orders: Orders): Handler<"watchOrders"> {
  return (requests, ctx) =>
    (async function* () {
      const userId = callerId(ctx);
      const watch = new OrderWatch({ feed: orders.feed, currentStatuses: (ids) => orders.currentStatuses(userId, ids) }, ctx.signal);
      const reading = (async () => {
        for await (const req of requests) {
          const { add, remove } = parseWatchOrders(req);
          watch.remove(remove);
          await watch.add(add, "add_order_ids");
        }
        watch.endRequests();
      })();
      reading.catch((err: unknown) => watch.fail(err));
      try {
        for await (const update of watch) yield { update: toProtoUpdate(update) };
      } finally {
        watch.close();
      }
    })();
}
