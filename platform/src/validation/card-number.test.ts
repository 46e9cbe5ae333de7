import { describe, expect, it } from "vitest";
import { luhnValid, normalizeCardNumber } from "./card-number.js";

describe("card numbers", () => {
  it("drops spaces and dashes and keeps numbers passing Luhn", () => {
    expect(normalizeCardNumber("4242 4242 4242 4242")).toBe("4242424242424242");
    expect(normalizeCardNumber("5555-5555-5555-4444")).toBe("5555555555554444");
  });

  it("refuses malformed numbers and Luhn failures", () => {
    for (const bad of ["4242424242424241", "1234", "4242x4242424242424", "", "4".repeat(20)]) {
      expect(normalizeCardNumber(bad), bad).toBeUndefined();
    }
    expect(luhnValid("79927398713")).toBe(true);
    expect(luhnValid("79927398710")).toBe(false);
  });
});
