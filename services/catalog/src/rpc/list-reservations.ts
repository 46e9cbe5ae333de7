import type { Catalog } from "../catalog/catalog.service.js";
import { decodeKeyToken, encodeKeyToken } from "../catalog/page-token.js";
import { parseBooksPageSize } from "../catalog/validation.js";
import type { Handler } from "./handler.js";
import { toProtoStatus } from "./mapping.js";

export function listReservations(catalog: Catalog): Handler<"listReservations"> {
  return async (req) => {
    const page = await catalog.listReservations({ pageSize: parseBooksPageSize(req.pageSize), after: decodeKeyToken(req.pageToken) });
    return {
      items: page.items.map((r) => ({ orderId: r.orderId, status: toProtoStatus(r.status), reason: r.reason, items: [...r.items] })),
      nextPageToken: page.next === undefined ? "" : encodeKeyToken(page.next),
    };
  };
}
