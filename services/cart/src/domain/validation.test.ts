import { violatedFields } from "@shopmesh/platform/testing";
import { describe, expect, it } from "vitest";
import { parseAddItem, parseGetUserCart, parseRemoveItem, parseUpdateItem } from "./validation.js";

describe("cart request validation", () => {
  it("takes a product id and a quantity of 1..99", () => {
    expect(parseAddItem({ productId: "sku-1", qty: 99 })).toEqual({ productId: "sku-1", qty: 99 });
    expect(parseUpdateItem({ productId: "sku-1", qty: 1 })).toEqual({ productId: "sku-1", qty: 1 });
  });

  it("names every bad field of an item", () => {
    expect(violatedFields(() => parseAddItem({ productId: "", qty: 0 }))).toEqual(["product_id", "qty"]);
    expect(violatedFields(() => parseAddItem({ productId: "../etc", qty: 2 }))).toEqual(["product_id"]);
    expect(violatedFields(() => parseUpdateItem({ productId: "sku-1", qty: 1.5 }))).toEqual(["qty"]);
  });

  it("checks the product id of a removal and the user id of an internal read", () => {
    expect(parseRemoveItem({ productId: "sku-1" })).toEqual({ productId: "sku-1" });
    expect(violatedFields(() => parseRemoveItem({ productId: "a b" }))).toEqual(["product_id"]);
    expect(violatedFields(() => parseGetUserCart({ userId: " " }))).toEqual(["user_id"]);
    expect(violatedFields(() => parseGetUserCart({ userId: "u".repeat(201) }))).toEqual(["user_id"]);
  });
});
