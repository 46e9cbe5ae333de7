import { invalidArgument } from "@shopmesh/platform";
import type { PaymentStatusName } from "../db/tables.js";
import type { Payments } from "../payment/payment.service.js";
import type { Handler } from "./handler.js";
import { fromProtoStatus, toProtoPayment } from "./mapping.js";

export function listPayments(payments: Payments): Handler<"listPayments"> {
  return async (req) => {
    if (req.pageSize < 0 || req.pageSize > 500) throw invalidArgument("page_size", "must be 0 to 500");
    const statuses = req.statuses.map((s): PaymentStatusName => {
      const name = fromProtoStatus(s);
      if (!name) throw invalidArgument("statuses", `unknown status ${s}`);
      return name;
    });
    const page = await payments.listPayments({
      pageSize: req.pageSize,
      pageToken: req.pageToken,
      statuses,
      orderId: req.orderId,
      userId: req.userId,
    });
    return { items: page.items.map(toProtoPayment), nextPageToken: page.nextPageToken };
  };
}
