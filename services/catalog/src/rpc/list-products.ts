import type { Catalog } from "../catalog/catalog.service.js";
import { decodePageToken, encodePageToken } from "../catalog/page-token.js";
import { parseCategory, parsePageSize } from "../catalog/validation.js";
import type { Handler } from "./handler.js";
import { toProtoProduct } from "./mapping.js";

export function listProducts(catalog: Catalog): Handler<"listProducts"> {
  return async (req) => {
    const page = await catalog.listProducts({
      pageSize: parsePageSize(req.pageSize),
      after: decodePageToken(req.pageToken),
      category: parseCategory(req.category),
    });
    return { items: page.items.map(toProtoProduct), nextPageToken: page.next ? encodePageToken(page.next) : "" };
  };
}
