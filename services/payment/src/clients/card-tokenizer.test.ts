import { normalizeCardNumber } from "@shopmesh/platform";
import { describe, expect, it } from "vitest";
import { tokenizeCard } from "./card-tokenizer.js";

describe("card tokenizer", () => {
  it("tokenizes the test cards and other Luhn-valid numbers; refuses malformed ones", () => {
    expect(tokenizeCard(normalizeCardNumber("4242 4242 4242 4242")!)).toEqual({
      paymentMethod: "pm_test_ok",
      brand: "visa",
      last4: "4242",
    });
    expect(tokenizeCard("4000000000000002").paymentMethod).toBe("pm_test_declined");
    expect(tokenizeCard("4000000000000119").paymentMethod).toBe("pm_test_flaky");
    expect(tokenizeCard("4000000000000341").paymentMethod).toBe("pm_test_unavailable");
    const other = tokenizeCard(normalizeCardNumber("5555-5555-5555-4444")!);
    expect(other).toMatchObject({ brand: "mastercard", last4: "4444" });
    expect(other.paymentMethod).toMatch(/^pm_[0-9a-f]{24}$/);
    expect(tokenizeCard("5555555555554444").paymentMethod).toBe(other.paymentMethod);
    for (const bad of ["4242424242424241", "1234", "4242x4242424242424", ""]) expect(normalizeCardNumber(bad)).toBeUndefined();
  });
});
