import type { Catalog } from "../app/use-cases.js";
import { parseListProducts, productPages } from "../domain/validation.js";
import type { Handler } from "./handler.js";
import { toProtoProduct } from "./mapping.js";

export function listProducts(catalog: Catalog): Handler<"listProducts"> {
  return async (req) => {
    const page = await catalog.listProducts(parseListProducts(req));
    return { items: page.items.map(toProtoProduct), nextPageToken: page.next ? productPages.encode(page.next) : "" };
  };
}
