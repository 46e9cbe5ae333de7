import type { Catalog } from "../app/use-cases.js";
import { parseWatchStock } from "../domain/validation.js";
import { StockWatch } from "./stock-watch.js";
import type { Handler } from "./handler.js";
import { toProtoLevel } from "./mapping.js";

/**
 * Each request first removes, then adds (so an id in both lists stays watched and is answered
 * with its current level). After the client half-closes, the stream goes on for the ids still
 * watched and ends once none are; it also ends when the client cancels or the server stops.
 */
export function watchStock(catalog: Catalog): Handler<"watchStock"> {
  return (requests, ctx) =>
    (async function* () {
      const signal = ctx.signal;
      const watch = new StockWatch(catalog, signal);
      const reading = (async () => {
        for await (const req of requests) {
          const { add, remove } = parseWatchStock(req);
          watch.remove(remove);
          await watch.add(add);
        }
        watch.endRequests();
      })();
      reading.catch((err: unknown) => watch.fail(err));
      try {
        for await (const level of watch) yield { level: toProtoLevel(level) };
      } finally {
        watch.close();
      }
    })();
}
