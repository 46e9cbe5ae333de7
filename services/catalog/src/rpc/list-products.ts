import type { Catalog } from "../app/use-cases.js";
import { parseListProducts, productPages } from "../domain/validation.js";
import type { Handler } from "./handler.js";
import { sortWord, toProtoProduct } from "./mapping.js";

export function listProducts(catalog: Catalog): Handler<"listProducts"> {
  return async (req) => {
    const q = parseListProducts({ ...req, sort: sortWord(req.sort) });
    const page = await catalog.listProducts(q);
    return { items: page.items.map(toProtoProduct), nextPageToken: page.next ? productPages.encode(q.sort, page.next) : "" };
  };
}
