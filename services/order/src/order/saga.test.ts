import { describe, expect, it } from "vitest";
import type { OrderStatus } from "./order.js";
import { type Reaction, reactTo, type SagaEvent } from "./saga.js";
import { canTransition } from "./status.js";

const orderId = "0190a0b0-0000-7000-8000-000000000001";
const events = {
  reserved: { kind: "stock-reserved", orderId },
  outOfStock: { kind: "stock-rejected", orderId, reason: "out_of_stock" },
  unknownProduct: { kind: "stock-rejected", orderId, reason: "unknown_product" },
  succeeded: { kind: "payment-succeeded", orderId, paymentId: "pay-1" },
  declined: { kind: "payment-failed", orderId, reason: "declined" },
  unavailable: { kind: "payment-failed", orderId, reason: "provider_unavailable" },
  invalidMethod: { kind: "payment-failed", orderId, reason: "invalid_payment_method" },
} satisfies Record<string, SagaEvent>;

const steps = (r: Reaction) => (r.kind === "apply" ? r.steps.map((s) => `${s.to}:${s.reason}`) : r.why);

describe("the order's reaction to saga events", () => {
  it("moves a PENDING order on the happy and the unhappy paths", () => {
    expect(steps(reactTo("PENDING", events.reserved))).toEqual(["STOCK_RESERVED:stock_reserved"]);
    expect(steps(reactTo("STOCK_RESERVED", events.succeeded))).toEqual(["PAID:paid"]);
    expect(reactTo("STOCK_RESERVED", events.succeeded)).toMatchObject({ paymentId: "pay-1" });
    expect(steps(reactTo("PENDING", events.outOfStock))).toEqual(["CANCELLED:out_of_stock"]);
    expect(steps(reactTo("PENDING", events.unknownProduct))).toEqual(["CANCELLED:unknown_product"]);
  });

  it("maps the payment's failure reasons: declined → payment_declined, anything else → payment_failed", () => {
    expect(steps(reactTo("STOCK_RESERVED", events.declined))).toEqual(["CANCELLED:payment_declined"]);
    expect(steps(reactTo("STOCK_RESERVED", events.unavailable))).toEqual(["CANCELLED:payment_failed"]);
    expect(steps(reactTo("STOCK_RESERVED", events.invalidMethod))).toEqual(["CANCELLED:payment_failed"]);
  });

  it("a payment result overtaking StockReserved records the reservation first", () => {
    expect(steps(reactTo("PENDING", events.succeeded))).toEqual(["STOCK_RESERVED:stock_reserved", "PAID:paid"]);
    expect(steps(reactTo("PENDING", events.declined))).toEqual(["STOCK_RESERVED:stock_reserved", "CANCELLED:payment_declined"]);
  });

  it("an event for an order already there or further on is stale", () => {
    expect(steps(reactTo("STOCK_RESERVED", events.reserved))).toBe("stale");
    expect(steps(reactTo("PAID", events.reserved))).toBe("stale");
    expect(steps(reactTo("CANCELLED", events.reserved))).toBe("stale");
    expect(steps(reactTo("PAID", events.succeeded))).toBe("stale");
    expect(steps(reactTo("CANCELLED", events.outOfStock))).toBe("stale");
    expect(steps(reactTo("CANCELLED", events.declined))).toBe("stale");
  });

  it("an event contradicting what happened is a conflict, never a transition", () => {
    expect(steps(reactTo("PAID", events.declined))).toBe("conflict");
    expect(steps(reactTo("PAID", events.outOfStock))).toBe("conflict");
    expect(steps(reactTo("STOCK_RESERVED", events.outOfStock))).toBe("conflict");
    expect(steps(reactTo("CANCELLED", events.succeeded))).toBe("conflict");
  });

  it("every step it asks for is one the status machine allows", () => {
    for (const status of ["PENDING", "STOCK_RESERVED", "PAID", "CANCELLED"] as OrderStatus[]) {
      for (const event of Object.values(events)) {
        const reaction = reactTo(status, event);
        if (reaction.kind !== "apply") continue;
        let from = status;
        for (const step of reaction.steps) {
          expect(canTransition(from, step.to), `${status} + ${event.kind}`).toBe(true);
          from = step.to;
        }
      }
    }
  });

  it("an unusable stock rejection reason becomes out_of_stock", () => {
    expect(steps(reactTo("PENDING", { kind: "stock-rejected", orderId, reason: "" }))).toEqual(["CANCELLED:out_of_stock"]);
    expect(steps(reactTo("PENDING", { kind: "stock-rejected", orderId, reason: "Bad Reason!" }))).toEqual(["CANCELLED:out_of_stock"]);
  });
});
