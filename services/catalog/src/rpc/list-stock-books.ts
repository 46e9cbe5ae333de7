import type { Catalog } from "../catalog/catalog.service.js";
import { decodeKeyToken, encodeKeyToken } from "../catalog/page-token.js";
import { parseBooksPageSize } from "../catalog/validation.js";
import type { Handler } from "./handler.js";

export function listStockBooks(catalog: Catalog): Handler<"listStockBooks"> {
  return async (req) => {
    const page = await catalog.listStockBooks({ pageSize: parseBooksPageSize(req.pageSize), after: decodeKeyToken(req.pageToken) });
    return { items: page.items, nextPageToken: page.next === undefined ? "" : encodeKeyToken(page.next) };
  };
}
