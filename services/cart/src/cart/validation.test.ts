import { Code, ConnectError, fieldViolationsOf } from "@shopmesh/platform";
import { describe, expect, it } from "vitest";
import { parseItem } from "./validation.js";

function refusal(fn: () => unknown): ConnectError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConnectError) return err;
    throw err;
  }
  throw new Error("not refused");
}

describe("cart item validation", () => {
  it("takes a product id and a quantity of 1..99", () => {
    expect(parseItem({ productId: "sku-1", qty: 99 })).toEqual({ productId: "sku-1", qty: 99 });
  });

  it("names every bad field", () => {
    const err = refusal(() => parseItem({ productId: "", qty: 0 }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(fieldViolationsOf(err).map((v) => v.field)).toEqual(["product_id", "qty"]);
    expect(fieldViolationsOf(refusal(() => parseItem({ productId: "../etc", qty: 2 }))).map((v) => v.field)).toEqual(["product_id"]);
    expect(fieldViolationsOf(refusal(() => parseItem({ productId: "sku-1", qty: 1.5 }))).map((v) => v.field)).toEqual(["qty"]);
  });
});
