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
  });
});

describe("redactEmails", () => {
  it("replaces every address", () => {
    expect(redactEmails("550 <ada@example.com>: no such user; cc bo.b+x@mail.example.org")).toBe("550 <[email]>: no such user; cc [email]");
  });
});
