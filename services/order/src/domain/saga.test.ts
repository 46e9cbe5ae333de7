import { describe, expect, it } from "vitest";
import type { OrderStatus } from "./order.js";
import { type Reaction, reactTo, type SagaEvent } from "./saga.js";
import { canTransition } from "./status.js";

const orderId = "0190a0b0-0000-7000-8000-000000000001";
/** What the order is due: the events' payments of 12.90 EUR pay it. */
const due = { totalCents: 1290, currency: "EUR" };
const events = {
  reserved: { kind: "stock-reserved", orderId },
  outOfStock: { kind: "stock-rejected", orderId, reason: "out_of_stock" },
  unknownProduct: { kind: "stock-rejected", orderId, reason: "unknown_product" },
  succeeded: { kind: "payment-succeeded", orderId, paymentId: "pay-1", amountCents: 1290, currency: "EUR" },
  underpaid: { kind: "payment-succeeded", orderId, paymentId: "pay-2", amountCents: 1, currency: "EUR" },
  otherCurrency: { kind: "payment-succeeded", orderId, paymentId: "pay-3", amountCents: 1290, currency: "USD" },
  declined: { kind: "payment-failed", orderId, reason: "declined" },
  unavailable: { kind: "payment-failed", orderId, reason: "provider_unavailable" },
  invalidMethod: { kind: "payment-failed", orderId, reason: "invalid_payment_method" },
} satisfies Record<string, SagaEvent>;

const steps = (r: Reaction) => (r.kind === "apply" ? r.steps.map((s) => `${s.to}:${s.reason}`) : r.kind === "ignore" ? r.why : r.kind);

describe("the order's reaction to saga events", () => {
  it("moves a PENDING order on the happy and the unhappy paths", () => {
    expect(steps(reactTo("PENDING", events.reserved, due))).toEqual(["STOCK_RESERVED:stock_reserved"]);
    expect(steps(reactTo("STOCK_RESERVED", events.succeeded, due))).toEqual(["PAID:paid"]);
    expect(reactTo("STOCK_RESERVED", events.succeeded, due)).toMatchObject({ paymentId: "pay-1" });
    expect(steps(reactTo("PENDING", events.outOfStock, due))).toEqual(["CANCELLED:out_of_stock"]);
    expect(steps(reactTo("PENDING", events.unknownProduct, due))).toEqual(["CANCELLED:unknown_product"]);
  });

  it("maps the payment's failure reasons: declined → payment_declined, anything else → payment_failed", () => {
    expect(steps(reactTo("STOCK_RESERVED", events.declined, due))).toEqual(["CANCELLED:payment_declined"]);
    expect(steps(reactTo("STOCK_RESERVED", events.unavailable, due))).toEqual(["CANCELLED:payment_failed"]);
    expect(steps(reactTo("STOCK_RESERVED", events.invalidMethod, due))).toEqual(["CANCELLED:payment_failed"]);
  });

  it("a payment result overtaking StockReserved records the reservation first", () => {
    expect(steps(reactTo("PENDING", events.succeeded, due))).toEqual(["STOCK_RESERVED:stock_reserved", "PAID:paid"]);
    expect(steps(reactTo("PENDING", events.declined, due))).toEqual(["STOCK_RESERVED:stock_reserved", "CANCELLED:payment_declined"]);
  });

  it("an event for an order already there or further on is stale", () => {
    expect(steps(reactTo("STOCK_RESERVED", events.reserved, due))).toBe("stale");
    expect(steps(reactTo("PAID", events.reserved, due))).toBe("stale");
    expect(steps(reactTo("CANCELLED", events.reserved, due))).toBe("stale");
    expect(steps(reactTo("PAID", events.succeeded, due))).toBe("stale");
    expect(steps(reactTo("CANCELLED", events.outOfStock, due))).toBe("stale");
    expect(steps(reactTo("CANCELLED", events.declined, due))).toBe("stale");
  });

  it("an event contradicting what happened is a conflict, never a transition", () => {
    expect(steps(reactTo("PAID", events.declined, due))).toBe("conflict");
    expect(steps(reactTo("PAID", events.outOfStock, due))).toBe("conflict");
    expect(steps(reactTo("STOCK_RESERVED", events.outOfStock, due))).toBe("conflict");
  });

  it("a payment succeeding for a cancelled order is refunded, the order staying cancelled", () => {
    expect(reactTo("CANCELLED", events.succeeded, due)).toEqual({ kind: "refund-charge", paymentId: "pay-1" });
    expect(reactTo("CANCELLED", events.underpaid, due)).toEqual({ kind: "refund-charge", paymentId: "pay-2" });
  });

  it("every step it asks for is one the status machine allows", () => {
    for (const status of ["PENDING", "STOCK_RESERVED", "PAID", "CANCELLED", "ON_HOLD"] as OrderStatus[]) {
      for (const event of Object.values(events)) {
        const reaction = reactTo(status, event, due);
        if (reaction.kind !== "apply") continue;
        let from = status;
        for (const step of reaction.steps) {
          expect(canTransition(from, step.to), `${status} + ${event.kind}`).toBe(true);
          from = step.to;
        }
      }
    }
  });

  it("a payment that is not the order's total holds the order for an operator, never PAID", () => {
    expect(steps(reactTo("STOCK_RESERVED", events.underpaid, due))).toEqual(["ON_HOLD:payment_amount_mismatch"]);
    expect(reactTo("STOCK_RESERVED", events.underpaid, due)).toMatchObject({ paymentId: "pay-2" });
    expect(steps(reactTo("PENDING", events.underpaid, due))).toEqual(["STOCK_RESERVED:stock_reserved", "ON_HOLD:payment_amount_mismatch"]);
    expect(steps(reactTo("STOCK_RESERVED", events.otherCurrency, due))).toEqual(["ON_HOLD:payment_currency_mismatch"]);
    const overpaid = { ...events.succeeded, amountCents: 1291 };
    expect(steps(reactTo("STOCK_RESERVED", overpaid, due))).toEqual(["ON_HOLD:payment_amount_mismatch"]);
    // Held stays held whatever comes next; a paid order is not reopened by a bad payment.
    expect(steps(reactTo("ON_HOLD", events.succeeded, due))).toBe("stale");
    expect(steps(reactTo("ON_HOLD", events.declined, due))).toBe("conflict");
    expect(steps(reactTo("ON_HOLD", events.outOfStock, due))).toBe("conflict");
    expect(steps(reactTo("ON_HOLD", events.reserved, due))).toBe("stale");
    expect(steps(reactTo("PAID", events.underpaid, due))).toBe("stale");
  });

  it("an unusable stock rejection reason becomes out_of_stock", () => {
    expect(steps(reactTo("PENDING", { kind: "stock-rejected", orderId, reason: "" }, due))).toEqual(["CANCELLED:out_of_stock"]);
    expect(steps(reactTo("PENDING", { kind: "stock-rejected", orderId, reason: "Bad Reason!" }, due))).toEqual(["CANCELLED:out_of_stock"]);
  });
});
