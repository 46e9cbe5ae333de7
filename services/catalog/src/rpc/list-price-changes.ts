import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Catalog } from "../app/use-cases.js";
import { historyPages, parseListPriceChanges } from "../domain/validation.js";
import type { Handler } from "./handler.js";

/** A product's price history, newest first, for an operator (the call policy lets only operators in). */
export function listPriceChanges(catalog: Catalog): Handler<"listPriceChanges"> {
  return async (req) => {
    const page = await catalog.listPriceChanges(parseListPriceChanges(req));
    return {
      items: page.items.map((c) => ({ ...c, version: BigInt(c.version), changedAt: timestampFromDate(c.changedAt) })),
      nextPageToken: page.next === undefined ? "" : historyPages.encode({ id: page.next }),
    };
  };
}
