import type { Catalog } from "../app/use-cases.js";
import { parseGetProduct } from "../domain/validation.js";
import type { Handler } from "./handler.js";
import { toProtoProduct } from "./mapping.js";

export function getProduct(catalog: Catalog): Handler<"getProduct"> {
  return async (req) => ({ product: toProtoProduct(await catalog.getProduct(parseGetProduct(req).id)) });
}
