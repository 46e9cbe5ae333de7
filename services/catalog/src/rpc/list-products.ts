import { currentCall, permissionDenied, unauthenticated } from "@shopmesh/platform";
import type { Catalog } from "../app/use-cases.js";
import { parseListProducts, productPages } from "../domain/validation.js";
import type { Handler } from "./handler.js";
import { sortWord, toProtoProduct } from "./mapping.js";

export function listProducts(catalog: Catalog): Handler<"listProducts"> {
  return async (req) => {
    if (req.includeArchived) {
      // Archived products are the operators' to list: the caller's verified token says who that is.
      const principal = currentCall()?.principal;
      if (!principal) throw unauthenticated("include_archived needs an operator's token");
      if (!principal.operator) throw permissionDenied("only operators may list archived products");
    }
    const q = parseListProducts({ ...req, sort: sortWord(req.sort) });
    const page = await catalog.listProducts(q);
    return { items: page.items.map(toProtoProduct), nextPageToken: page.next ? productPages.encode(q.sort, page.next) : "" };
  };
}
