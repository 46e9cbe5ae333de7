import type { Catalog } from "../app/use-cases.js";
import { keyPages, parseListStockBooks } from "../domain/validation.js";
import type { Handler } from "./handler.js";

export function listStockBooks(catalog: Catalog): Handler<"listStockBooks"> {
  return async (req) => {
    const page = await catalog.listStockBooks(parseListStockBooks(req));
    return { items: page.items, nextPageToken: page.next === undefined ? "" : keyPages.encode({ key: page.next }) };
  };
}
