import type { Payments } from "../app/use-cases.js";
import type { Handler } from "./handler.js";
import { toProtoPayment } from "./mapping.js";
import { parseListPayments } from "../domain/validation.js";

export function listPayments(payments: Payments): Handler<"listPayments"> {
  return async (req) => {
    const page = await payments.listPayments(parseListPayments(req));
    return { items: page.items.map(toProtoPayment), nextPageToken: page.nextPageToken };
  };
}
