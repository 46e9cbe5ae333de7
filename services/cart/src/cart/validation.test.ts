import { violatedFields } from "@shopmesh/platform/testing";
import { describe, expect, it } from "vitest";
import { parseItem } from "./validation.js";

describe("cart item validation", () => {
  it("takes a product id and a quantity of 1..99", () => {
    expect(parseItem({ productId: "sku-1", qty: 99 })).toEqual({ productId: "sku-1", qty: 99 });
  });

  it("names every bad field", () => {
    expect(violatedFields(() => parseItem({ productId: "", qty: 0 }))).toEqual(["product_id", "qty"]);
    expect(violatedFields(() => parseItem({ productId: "../etc", qty: 2 }))).toEqual(["product_id"]);
    expect(violatedFields(() => parseItem({ productId: "sku-1", qty: 1.5 }))).toEqual(["qty"]);
  });
});
