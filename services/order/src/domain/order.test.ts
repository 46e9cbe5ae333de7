import { describe, expect, it } from "vitest";
import { MAX_TOTAL_CENTS, type ProductPrice, priceOrder } from "./order.js";

const catalog = (...products: ProductPrice[]) => new Map(products.map((p) => [p.id, p]));
const mug: ProductPrice = { id: "mug", name: "Mug", priceCents: 1250, currency: "EUR" };
const tee: ProductPrice = { id: "tee", name: "T-shirt", priceCents: 1999, currency: "EUR" };

describe("pricing an order", () => {
  it("prices each line at the current price and sums the total, merging repeated products", () => {
    const priced = priceOrder(
      [
        { productId: "mug", quantity: 2 },
        { productId: "tee", quantity: 1 },
        { productId: "mug", quantity: 1 },
      ],
      catalog(mug, tee),
    );
    expect(priced).toEqual({
      kind: "priced",
      currency: "EUR",
      totalCents: 3 * 1250 + 1999,
      items: [
        { productId: "mug", name: "Mug", unitPriceCents: 1250, quantity: 3, lineTotalCents: 3750 },
        { productId: "tee", name: "T-shirt", unitPriceCents: 1999, quantity: 1, lineTotalCents: 1999 },
      ],
    });
  });

  it("names every product the catalog no longer knows", () => {
    const lines = [
      { productId: "mug", quantity: 1 },
      { productId: "gone", quantity: 1 },
      { productId: "vanished", quantity: 2 },
    ];
    expect(priceOrder(lines, catalog(mug))).toEqual({ kind: "missing-products", productIds: ["gone", "vanished"] });
  });

  it("refuses products the catalog archived, naming them", () => {
    const lines = [
      { productId: "mug", quantity: 1 },
      { productId: "tee", quantity: 2 },
    ];
    expect(priceOrder(lines, catalog(mug, { ...tee, archived: true }))).toEqual({ kind: "archived-products", productIds: ["tee"] });
  });

  it("refuses an empty cart, mixed currencies and a total beyond int32", () => {
    expect(priceOrder([], catalog(mug))).toEqual({ kind: "empty" });
    const usd = { ...tee, currency: "USD" };
    expect(
      priceOrder(
        [
          { productId: "mug", quantity: 1 },
          { productId: "tee", quantity: 1 },
        ],
        catalog(mug, usd),
      ),
    ).toMatchObject({
      kind: "mixed-currencies",
    });
    const dear = { ...mug, priceCents: Math.ceil(MAX_TOTAL_CENTS / 99) + 1 };
    expect(priceOrder([{ productId: "mug", quantity: 99 }], catalog(dear))).toEqual({ kind: "too-large" });
  });

  it("charges the price the shopper was shown, and refuses naming each product whose price is another now", () => {
    const shown = [
      { productId: "mug", quantity: 2, shownPriceCents: 1250, shownCurrency: "EUR" },
      { productId: "tee", quantity: 1, shownPriceCents: 1999, shownCurrency: "EUR" },
    ];
    expect(priceOrder(shown, catalog(mug, tee))).toMatchObject({ kind: "priced", totalCents: 2 * 1250 + 1999 });
    expect(priceOrder(shown, catalog(mug, { ...tee, priceCents: 2499 }))).toEqual({
      kind: "price-changed",
      changed: [{ productId: "tee", shownCents: 1999, shownCurrency: "EUR", priceCents: 2499, currency: "EUR" }],
    });
    expect(priceOrder(shown, catalog({ ...mug, currency: "USD" }, { ...tee, currency: "USD" }))).toMatchObject({
      kind: "price-changed",
      changed: [{ productId: "mug" }, { productId: "tee" }],
    });
    // A line for which the cart recorded no shown price is priced as the catalog says.
    expect(priceOrder([{ productId: "tee", quantity: 1 }], catalog({ ...tee, priceCents: 2499 }))).toMatchObject({
      kind: "priced",
      totalCents: 2499,
    });
  });
});
