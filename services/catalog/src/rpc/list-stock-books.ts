import type { Catalog } from "../catalog/catalog.service.js";
import { keyPages, parseListStockBooks } from "../catalog/validation.js";
import type { Handler } from "./handler.js";

export function listStockBooks(catalog: Catalog): Handler<"listStockBooks"> {
  return async (req) => {
    const page = await catalog.listStockBooks(parseListStockBooks(req));
    return { items: page.items, nextPageToken: page.next === undefined ? "" : keyPages.encode({ key: page.next }) };
  };
}
