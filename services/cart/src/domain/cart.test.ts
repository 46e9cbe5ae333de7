import { describe, expect, it } from "vitest";
import { type ProductInfo, priceCart, priceDrift, type StoredCart } from "./cart.js";

const lamp: ProductInfo = { id: "lamp", name: "Lamp", priceCents: 3500, currency: "EUR", version: 2n };
const mug: ProductInfo = { id: "mug", name: "Mug", priceCents: 1250, currency: "EUR", version: 1n };
const products = new Map([lamp, mug].map((p) => [p.id, p]));
const recorded = (priceCents: number, version: bigint, changedFromCents = 0) => ({
  priceCents,
  currency: "EUR",
  version,
  changedFromCents,
  shownCents: priceCents,
});

describe("cart prices", () => {
  it("prices lines at the price they record, with their notice; a line recording none at the catalog's", () => {
    const cart: StoredCart = {
      userId: "u",
      lines: [
        { productId: "lamp", quantity: 2, price: recorded(3500, 2n, 3000) },
        { productId: "mug", quantity: 1 },
      ],
      updatedAt: undefined,
    };
    expect(priceCart(cart, products)).toMatchObject({
      totalCents: 7000 + 1250,
      currency: "EUR",
      items: [
        { productId: "lamp", unitPriceCents: 3500, lineTotalCents: 7000, priceChangedFromCents: 3000, shownPriceCents: 3500 },
        { productId: "mug", unitPriceCents: 1250, priceChangedFromCents: 0, shownPriceCents: 0 },
      ],
    });
  });

  it("drifts a line whose price is from an older version and differs, or that records none; not one at a later version", () => {
    const cart: StoredCart = {
      userId: "u",
      lines: [
        { productId: "lamp", quantity: 1, price: recorded(3000, 1n) },
        { productId: "mug", quantity: 1 },
        { productId: "gone", quantity: 1, price: recorded(100, 1n) },
      ],
      updatedAt: undefined,
    };
    expect(priceDrift(cart, products)).toEqual([
      { productId: "lamp", priceCents: 3500, currency: "EUR", version: 2n },
      { productId: "mug", priceCents: 1250, currency: "EUR", version: 1n },
    ]);
    const later: StoredCart = { userId: "u", lines: [{ productId: "lamp", quantity: 1, price: recorded(4000, 3n) }], updatedAt: undefined };
    expect(priceDrift(later, products)).toEqual([]);
    const same: StoredCart = { userId: "u", lines: [{ productId: "lamp", quantity: 1, price: recorded(3500, 1n) }], updatedAt: undefined };
    expect(priceDrift(same, products)).toEqual([]);
  });
});
