import type { Catalog } from "../app/use-cases.js";
import { encodeKeyToken } from "../catalog/page-token.js";
import { parseListStockBooks } from "../domain/validation.js";
import type { Handler } from "./handler.js";

export function listStockBooks(catalog: Catalog): Handler<"listStockBooks"> {
  return async (req) => {
    const page = await catalog.listStockBooks(parseListStockBooks(req));
    return { items: page.items, nextPageToken: page.next === undefined ? "" : encodeKeyToken(page.next) };
  };
}
