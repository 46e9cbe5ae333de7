import type { Catalog } from "../app/use-cases.js";
import { parseStreamStock } from "../domain/validation.js";
import { StockWatch } from "./stock-watch.js";
import type { Handler } from "./handler.js";
import { toProtoLevel } from "./mapping.js";

/** Current levels first, then every change, until the client cancels or the server stops. */
export function streamStock(catalog: Catalog): Handler<"streamStock"> {
  return (req, ctx) =>
    (async function* () {
      const signal = ctx.signal;
      const { productIds } = parseStreamStock(req);
      const watch = new StockWatch(catalog, signal);
      try {
        await watch.add(productIds, "product_ids");
        for await (const level of watch) yield { level: toProtoLevel(level) };
      } finally {
        watch.close();
      }
    })();
}
