import { describe, expect, it } from "vitest";
import { decideRefund, type Payment } from "./payment.js";

const payment = (over: Partial<Payment> = {}): Payment => ({
  id: "pay-1",
  orderId: "order-1",
  userId: "u-1",
  amountCents: 1000,
  currency: "EUR",
  status: "SUCCEEDED",
  failureReason: undefined,
  refundReason: undefined,
  refundedCents: 0,
  cardLast4: "4242",
  attempts: 1,
  createdAt: new Date(0),
  updatedAt: new Date(0),
  ...over,
});

describe("refund decisions", () => {
  it("refunds in parts, keeping the total refunded, and becomes REFUNDED when all of it is back", () => {
    expect(decideRefund(payment(), 300)).toEqual({ kind: "refund", amountCents: 300, refundedCents: 300, status: "SUCCEEDED" });
    expect(decideRefund(payment({ refundedCents: 300 }), 700)).toEqual({
      kind: "refund",
      amountCents: 700,
      refundedCents: 1000,
      status: "REFUNDED",
    });
    // Undefined: all that is left.
    expect(decideRefund(payment({ refundedCents: 300 }), undefined)).toMatchObject({ amountCents: 700, status: "REFUNDED" });
  });

  it("never refunds more than was charged, nor a payment that did not succeed", () => {
    expect(decideRefund(payment({ refundedCents: 300 }), 701)).toEqual({ kind: "too-much", leftCents: 700 });
    expect(decideRefund(payment(), 0)).toEqual({ kind: "too-much", leftCents: 1000 });
    expect(decideRefund(payment({ status: "REFUNDED", refundedCents: 1000 }), 1)).toEqual({ kind: "not-refundable" });
    expect(decideRefund(payment({ status: "FAILED" }), undefined)).toEqual({ kind: "not-refundable" });
    expect(decideRefund(payment({ status: "PENDING" }), 100)).toEqual({ kind: "not-refundable" });
  });
});
