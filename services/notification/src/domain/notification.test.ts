import { describe, expect, it } from "vitest";
import { compose, redactEmails } from "./notification.js";

describe("compose", () => {
  it("greets by name and says what happened", () => {
    expect(compose({ kind: "welcome", userId: "u", email: "a@b.c", name: "Ada" }, "Ada").body).toContain("Hello Ada,");
    const paid = compose({ kind: "order_paid", userId: "u", orderId: "o1", totalCents: 1999, currency: "EUR" }, undefined);
    expect(paid.subject).toBe("Order o1 is paid");
    expect(paid.body).toContain("19.99 EUR");
    const cancelled = compose(
      { kind: "order_cancelled", userId: "u", orderId: "o2", totalCents: 100, currency: "EUR", reason: "payment_declined" },
      "Bo",
    );
    expect(cancelled.body).toContain("the payment was declined");
    expect(cancelled.body).toContain("You have not been charged");
  });

  it("tells a shopper whose order an operator cancelled that any payment is refunded", () => {
    const byOperator = compose(
      { kind: "order_cancelled", userId: "u", orderId: "o4", totalCents: 100, currency: "EUR", reason: "operator" },
      "Bo",
    );
    expect(byOperator.body).toContain("our team cancelled it");
    expect(byOperator.body).toContain("refunded");
    expect(byOperator.body).not.toContain("not been charged");
  });

  it("says what a refund gave back, and whether it was the whole order", () => {
    const part = { kind: "order_refunded" as const, userId: "u", orderId: "o3", amountCents: 1290, currency: "EUR", lines: ["1 × Mug"] };
    const partly = compose({ ...part, whole: false }, "Ada");
    expect(partly.subject).toBe("Part of order o3 was refunded");
    expect(partly.body).toContain("12.90 EUR");
    expect(partly.body).toContain("1 × Mug");
    expect(compose({ ...part, whole: true }, undefined).subject).toBe("Order o3 was refunded");
  });
});

describe("redactEmails", () => {
  it("replaces every address", () => {
    expect(redactEmails("550 <ada@example.com>: no such user; cc bo.b+x@mail.example.org")).toBe("550 <[email]>: no such user; cc [email]");
  });
});
