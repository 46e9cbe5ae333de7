import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Catalog } from "../app/use-cases.js";
import { historyPages, parseListStockAdjustments } from "../domain/validation.js";
import type { Handler } from "./handler.js";

/** A product's stock adjustments, newest first, for an operator (the call policy lets only operators in). */
export function listStockAdjustments(catalog: Catalog): Handler<"listStockAdjustments"> {
  return async (req) => {
    const page = await catalog.listStockAdjustments(parseListStockAdjustments(req));
    return {
      items: page.items.map((a) => ({ ...a, createdAt: timestampFromDate(a.createdAt) })),
      nextPageToken: page.next === undefined ? "" : historyPages.encode({ id: page.next }),
    };
  };
}
