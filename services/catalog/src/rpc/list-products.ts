import type { Catalog } from "../catalog/catalog.service.js";
import { parseListProducts, productPages } from "../catalog/validation.js";
import type { Handler } from "./handler.js";
import { toProtoProduct } from "./mapping.js";

export function listProducts(catalog: Catalog): Handler<"listProducts"> {
  return async (req) => {
    const page = await catalog.listProducts(parseListProducts(req));
    return { items: page.items.map(toProtoProduct), nextPageToken: page.next ? productPages.encode(page.next) : "" };
  };
}
