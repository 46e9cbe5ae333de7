import type { Catalog } from "../app/use-cases.js";
import { keyPages, parseListReservations } from "../domain/validation.js";
import type { Handler } from "./handler.js";
import { toProtoStatus } from "./mapping.js";

export function listReservations(catalog: Catalog): Handler<"listReservations"> {
  return async (req) => {
    const page = await catalog.listReservations(parseListReservations(req));
    return {
      items: page.items.map((r) => ({ orderId: r.orderId, status: toProtoStatus(r.status), reason: r.reason, items: [...r.items] })),
      nextPageToken: page.next === undefined ? "" : keyPages.encode({ key: page.next }),
    };
  };
}
