import { describe, expect, it } from "vitest";
import { planCancel } from "./cancel.js";
import type { OrderStatus } from "./order.js";
import { canTransition } from "./status.js";

describe("an operator's cancel", () => {
  it("cancels an order that is not paid, refunding a held payment; a cancelled one stays as it is; a paid one is refused", () => {
    expect(planCancel("PENDING")).toEqual({ kind: "cancel", refundPayment: false });
    expect(planCancel("STOCK_RESERVED")).toEqual({ kind: "cancel", refundPayment: false });
    expect(planCancel("ON_HOLD")).toEqual({ kind: "cancel", refundPayment: true });
    expect(planCancel("CANCELLED")).toEqual({ kind: "already-cancelled" });
    for (const status of ["PAID", "PARTIALLY_REFUNDED", "REFUNDED"] as const) {
      expect(planCancel(status)).toEqual({ kind: "not-cancellable", status });
    }
  });

  it("asks only for transitions the status machine allows", () => {
    const all: OrderStatus[] = ["PENDING", "STOCK_RESERVED", "PAID", "CANCELLED", "ON_HOLD", "PARTIALLY_REFUNDED", "REFUNDED"];
    for (const status of all) {
      if (planCancel(status).kind === "cancel") expect(canTransition(status, "CANCELLED"), status).toBe(true);
    }
  });
});
