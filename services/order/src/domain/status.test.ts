import { describe, expect, it } from "vitest";
import type { OrderStatus, StatusOrNone } from "./order.js";
import { canTransition, endsCheckout, IllegalTransitionError, isFinal, transition } from "./status.js";

const statuses: OrderStatus[] = ["PENDING", "STOCK_RESERVED", "PAID", "CANCELLED", "ON_HOLD", "PARTIALLY_REFUNDED", "REFUNDED"];
const allowed: Array<[StatusOrNone, OrderStatus]> = [
  ["UNSPECIFIED", "PENDING"],
  ["PENDING", "STOCK_RESERVED"],
  ["PENDING", "CANCELLED"],
  ["STOCK_RESERVED", "PAID"],
  ["STOCK_RESERVED", "CANCELLED"],
  ["STOCK_RESERVED", "ON_HOLD"],
  ["ON_HOLD", "PAID"],
  ["ON_HOLD", "CANCELLED"],
  ["PAID", "PARTIALLY_REFUNDED"],
  ["PAID", "REFUNDED"],
  ["PARTIALLY_REFUNDED", "PARTIALLY_REFUNDED"],
  ["PARTIALLY_REFUNDED", "REFUNDED"],
];

describe("order status machine", () => {
  it("allows exactly the checkout transitions and refuses every other one", () => {
    for (const from of ["UNSPECIFIED", ...statuses] as StatusOrNone[]) {
      for (const to of statuses) {
        const ok = allowed.some(([f, t]) => f === from && t === to);
        expect(canTransition(from, to), `${from} → ${to}`).toBe(ok);
        if (ok) expect(transition(from, to)).toBe(to);
        else expect(() => transition(from, to)).toThrow(IllegalTransitionError);
      }
    }
  });

  it("names both ends in the refusal", () => {
    expect(() => transition("PAID", "CANCELLED")).toThrow("an order cannot go from PAID to CANCELLED");
    expect(() => transition("PENDING", "PAID")).toThrow(/PENDING to PAID/);
    expect(() => transition("CANCELLED", "PENDING")).toThrow(IllegalTransitionError);
  });

  it("CANCELLED and REFUNDED are final; ON_HOLD waits for an operator; checkout ends at PAID", () => {
    expect(statuses.filter(isFinal)).toEqual(["CANCELLED", "REFUNDED"]);
    expect(statuses.filter(endsCheckout)).toEqual(["PAID", "CANCELLED", "PARTIALLY_REFUNDED", "REFUNDED"]);
  });
});
