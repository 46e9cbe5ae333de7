import { timestampDate } from "@bufbuild/protobuf/wkt";
import { invalidArgument } from "@shopmesh/platform";
import type { OrderStatus } from "../order/order.js";
import { DEFAULT_ALL_PAGE_SIZE, MAX_ALL_PAGE_SIZE, type Orders } from "../order/order.service.js";
import { parsePageSize, parseUserId } from "../order/validation.js";
import { fromProtoStatus } from "../order/wire.js";
import type { Handler } from "./handler.js";
import { toProtoOrder } from "./mapping.js";

/** Internal (no edge rule): operations and reconciliation see every user's orders. */
export function listAllOrders(orders: Orders): Handler<"listAllOrders"> {
  return async (req) => {
    const pageSize = parsePageSize(req.pageSize, DEFAULT_ALL_PAGE_SIZE, MAX_ALL_PAGE_SIZE);
    const statuses = req.statuses.map((s, i): OrderStatus => {
      const status = fromProtoStatus(s);
      if (!status) throw invalidArgument(`statuses[${i}]`, `is not an order status: ${s}`);
      return status;
    });
    const page = await orders.listAllOrders({
      pageSize,
      pageToken: req.pageToken,
      statuses,
      updatedBefore: req.updatedBefore ? timestampDate(req.updatedBefore) : undefined,
      userId: parseUserId("user_id", req.userId),
    });
    return { items: page.items.map(toProtoOrder), nextPageToken: page.nextPageToken };
  };
}
