import { createCounter } from "@shopmesh/platform";
import type { StatusUpdate } from "../domain/order.js";

const placed = createCounter({
  name: "shopmesh_orders_placed_total",
  help: "Orders placed (checkouts that wrote a new PENDING order)",
  labelNames: ["service"],
});

const finished = createCounter({
  name: "shopmesh_orders_finished_total",
  help: "Orders that reached a final status (paid, or cancelled with its reason: out_of_stock, payment_declined, …), were held for an operator (on_hold, with its reason) or were refunded in full (refunded)",
  labelNames: ["service", "status", "reason"],
});

/** The checkout saga's outcomes as the order service sees them, once their transaction committed. */
export const orderMetrics = {
  placed(): void {
    placed.inc({ service: "order" });
  },
  /** Counts the updates that end an order. */
  finished(updates: readonly StatusUpdate[]): void {
    for (const u of updates) {
      if (u.status === "PAID") finished.inc({ service: "order", status: "paid", reason: "" });
      else if (u.status === "CANCELLED") finished.inc({ service: "order", status: "cancelled", reason: u.cancelReason ?? "" });
      else if (u.status === "ON_HOLD") finished.inc({ service: "order", status: "on_hold", reason: u.transition.reason });
      else if (u.status === "REFUNDED") finished.inc({ service: "order", status: "refunded", reason: "" });
    }
  },
};
