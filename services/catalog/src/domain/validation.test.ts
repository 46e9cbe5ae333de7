import { Code, ConnectError } from "@shopmesh/platform";
import { violatedFields } from "@shopmesh/platform/testing";
import { describe, expect, it } from "vitest";
import { textSearchOf } from "./product.js";
import { assertSameItems, decideReservation, releaseReturnsStock } from "./reservation.js";
import {
  keyPages,
  parseAdjustStock,
  parseCategory,
  parseDelta,
  parseListProducts,
  parseListReservations,
  parseListStockBooks,
  parseOrderId,
  parsePageSize,
  parseProductIds,
  parseStockItems,
  parseWatchStock,
  productPages,
} from "./validation.js";

function codeOf(fn: () => unknown): Code | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof ConnectError ? err.code : undefined;
  }
  return undefined;
}

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof ConnectError ? err.rawMessage.split(":")[0] : undefined;
  }
  return undefined;
}

describe("request validation", () => {
  it("defaults and bounds the page size", () => {
    expect(parsePageSize(0)).toBe(20);
    expect(parsePageSize(1)).toBe(1);
    expect(parsePageSize(100)).toBe(100);
    expect(codeOf(() => parsePageSize(101))).toBe(Code.InvalidArgument);
    expect(fieldOf(() => parsePageSize(-1))).toBe("page_size");
  });

  it("accepts category slugs only", () => {
    expect(parseCategory("")).toBeUndefined();
    expect(parseCategory("coffee")).toBe("coffee");
    expect(fieldOf(() => parseCategory("Coffee Beans"))).toBe("category");
  });

  it("de-duplicates ids and names the bad one", () => {
    expect(parseProductIds("ids", ["b", "a", "b"], 100)).toEqual(["b", "a"]);
    expect(fieldOf(() => parseProductIds("ids", [], 100))).toBe("ids");
    expect(fieldOf(() => parseProductIds("ids", ["ok", ""], 100))).toBe("ids[1]");
    expect(fieldOf(() => parseProductIds("ids", ["a", "b", "c"], 2))).toBe("ids");
    expect(violatedFields(() => parseProductIds("ids", ["", "ok", "a b"], 100))).toEqual(["ids[0]", "ids[2]"]);
  });

  it("checks reservation items: ids, duplicates, quantities", () => {
    expect(parseStockItems([{ productId: "a", quantity: 2 }])).toEqual([{ productId: "a", quantity: 2 }]);
    expect(fieldOf(() => parseStockItems([]))).toBe("items");
    expect(fieldOf(() => parseStockItems([{ productId: "a", quantity: 0 }]))).toBe("items[0].quantity");
    expect(fieldOf(() => parseStockItems([{ productId: "a", quantity: 1000 }]))).toBe("items[0].quantity");
    expect(
      fieldOf(() =>
        parseStockItems([
          { productId: "a", quantity: 1 },
          { productId: "a", quantity: 1 },
        ]),
      ),
    ).toBe("items[1].product_id");
    expect(
      violatedFields(() =>
        parseStockItems([
          { productId: "a", quantity: 1 },
          { productId: "", quantity: 0 },
          { productId: "a", quantity: 1000 },
        ]),
      ),
    ).toEqual(["items[1].product_id", "items[1].quantity", "items[2].product_id", "items[2].quantity"]);
    expect(fieldOf(() => parseOrderId(""))).toBe("order_id");
    expect(fieldOf(() => parseOrderId("has space"))).toBe("order_id");
  });

  it("refuses a zero or huge delta", () => {
    expect(parseDelta(-3)).toBe(-3);
    expect(fieldOf(() => parseDelta(0))).toBe("delta");
    expect(fieldOf(() => parseDelta(2_000_000))).toBe("delta");
  });
});

describe("request parsers", () => {
  it("AdjustStock: product id, delta and reason at once; an empty reason is 'unspecified'", () => {
    expect(violatedFields(() => parseAdjustStock({ productId: "", delta: 0, reason: "x".repeat(201) }))).toEqual([
      "product_id",
      "delta",
      "reason",
    ]);
    expect(parseAdjustStock({ productId: "p-cup", delta: -2, reason: " " })).toEqual({
      productId: "p-cup",
      delta: -2,
      reason: "unspecified",
    });
  });

  it("WatchStock: either list may be empty, every bad id of both named", () => {
    expect(parseWatchStock({ addProductIds: [], removeProductIds: [] })).toEqual({ add: [], remove: [] });
    expect(violatedFields(() => parseWatchStock({ addProductIds: ["ok", "bad id"], removeProductIds: [""] }))).toEqual([
      "add_product_ids[1]",
      "remove_product_ids[0]",
    ]);
    expect(violatedFields(() => parseWatchStock({ addProductIds: Array(101).fill("a"), removeProductIds: Array(501).fill("a") }))).toEqual([
      "add_product_ids",
      "remove_product_ids",
    ]);
  });

  it("the internal listings: page size 0..500 and a key token", () => {
    expect(parseListStockBooks({ pageSize: 0, pageToken: "" })).toEqual({ pageSize: 100, after: undefined });
    expect(violatedFields(() => parseListReservations({ pageSize: 501, pageToken: "nope" }))).toEqual(["page_size", "page_token"]);
  });
});

/** ListProducts with nothing but its defaults. */
const listAll = { pageSize: 0, pageToken: "", category: "", q: "", sort: "unspecified" };

describe("page tokens", () => {
  it("ListProducts continues after the (name, id) its previous page ended at; the listings by key after the key", () => {
    const token = productPages.encode("name", { key: "Moka Pot, 6 Cups", id: "p-moka-pot" });
    expect(parseListProducts({ ...listAll, pageToken: token }).after).toEqual({ key: "Moka Pot, 6 Cups", id: "p-moka-pot" });
    expect(parseListStockBooks({ pageSize: 0, pageToken: keyPages.encode({ key: "p-tamper" }) }).after).toBe("p-tamper");
    expect(violatedFields(() => parseListStockBooks({ pageSize: 0, pageToken: token }))).toEqual(["page_token"]);
  });
});

describe("ListProducts searches", () => {
  it("keep today's listing without a query: every product by name", () => {
    expect(parseListProducts(listAll)).toEqual({
      pageSize: 20,
      category: undefined,
      search: undefined,
      minPriceCents: undefined,
      maxPriceCents: undefined,
      sort: "name",
      after: undefined,
      includeArchived: false,
    });
    expect(parseListProducts({ ...listAll, q: "   ", sort: "relevance" }).sort).toBe("name");
  });

  it("rank by relevance with a query unless another order is asked for", () => {
    expect(parseListProducts({ ...listAll, q: "cup" }).sort).toBe("relevance");
    expect(parseListProducts({ ...listAll, q: "cup", sort: "price_desc" }).sort).toBe("price_desc");
    expect(parseListProducts({ ...listAll, minPriceCents: 0, maxPriceCents: 0 })).toMatchObject({ minPriceCents: 0, maxPriceCents: 0 });
  });

  it("match the last plain word as a prefix as well", () => {
    expect(textSearchOf("  espresso  cu ")).toEqual({ query: "espresso  cu", prefix: { head: "espresso", word: "cu" } });
    expect(textSearchOf("Headph")).toEqual({ query: "Headph", prefix: { head: "", word: "headph" } });
    expect(textSearchOf("cup -saucer")?.prefix).toBeUndefined();
    expect(textSearchOf('"moka pot"')?.prefix).toBeUndefined();
    expect(textSearchOf('"moka pot')?.prefix).toBeUndefined();
    expect(textSearchOf("cup or")?.prefix).toBeUndefined();
    expect(textSearchOf("cup or sau")?.prefix).toBeUndefined();
    expect(textSearchOf("tasse café")?.prefix).toEqual({ head: "tasse", word: "café" });
    expect(textSearchOf(" \t")).toBeUndefined();
  });

  it("name every bad field at once", () => {
    expect(
      violatedFields(() =>
        parseListProducts({
          ...listAll,
          pageSize: -1,
          category: "Bad",
          q: "x".repeat(201),
          minPriceCents: -1,
          maxPriceCents: -5,
          sort: "cheapest",
        }),
      ),
    ).toEqual(["page_size", "category", "q", "min_price_cents", "max_price_cents", "sort"]);
    expect(violatedFields(() => parseListProducts({ ...listAll, minPriceCents: 10, maxPriceCents: 9 }))).toEqual(["max_price_cents"]);
    // Characters, not UTF-16 code units.
    expect(parseListProducts({ ...listAll, q: "𝄞".repeat(200) }).search?.query).toHaveLength(400);
    // A token is read in its order; without a known order only the order is named.
    expect(violatedFields(() => parseListProducts({ ...listAll, pageToken: "nope", sort: "cheapest" }))).toEqual(["sort"]);
  });

  it("continue only the order their token came from", () => {
    const byPrice = productPages.encode("price_asc", { key: "1290", id: "p-espresso-cup" });
    expect(parseListProducts({ ...listAll, sort: "price_asc", pageToken: byPrice }).after).toEqual({ key: "1290", id: "p-espresso-cup" });
    expect(violatedFields(() => parseListProducts({ ...listAll, sort: "price_desc", pageToken: byPrice }))).toEqual(["page_token"]);
    expect(violatedFields(() => parseListProducts({ ...listAll, pageToken: byPrice }))).toEqual(["page_token"]);
    const byRank = productPages.encode("relevance", { key: "0.607927", id: "p-1" });
    expect(parseListProducts({ ...listAll, q: "cup", pageToken: byRank }).after).toEqual({ key: "0.607927", id: "p-1" });
    const huge = productPages.encode("price_asc", { key: "2147483648", id: "p-1" });
    expect(violatedFields(() => parseListProducts({ ...listAll, sort: "price_asc", pageToken: huge }))).toEqual(["page_token"]);
    const forged = productPages.encode("relevance", { key: "1; drop table products", id: "p-1" });
    expect(violatedFields(() => parseListProducts({ ...listAll, q: "cup", pageToken: forged }))).toEqual(["page_token"]);
  });
});

describe("reservation decisions", () => {
  const stock = new Map([
    ["a", 5],
    ["b", 1],
  ]);

  it("reserves when every item is covered", () => {
    const d = decideReservation(
      [
        { productId: "b", quantity: 1 },
        { productId: "a", quantity: 5 },
      ],
      stock,
    );
    expect(d).toMatchObject({ status: "reserved", reason: undefined, shortages: [] });
  });

  it("rejects all when one item is short, listing the short ones", () => {
    const d = decideReservation(
      [
        { productId: "a", quantity: 1 },
        { productId: "b", quantity: 2 },
      ],
      stock,
    );
    expect(d.status).toBe("rejected");
    expect(d.reason).toBe("out_of_stock");
    expect(d.shortages).toEqual([{ productId: "b", requested: 2, available: 1 }]);
  });

  it("names unknown products with 0 available", () => {
    const d = decideReservation([{ productId: "zzz", quantity: 1 }], stock);
    expect(d.reason).toBe("unknown_product");
    expect(d.shortages).toEqual([{ productId: "zzz", requested: 1, available: 0 }]);
  });

  it("treats the order id as an idempotency key for the same items only", () => {
    const items = [
      { productId: "a", quantity: 1 },
      { productId: "b", quantity: 2 },
    ];
    expect(() => assertSameItems("o1", items, [...items].reverse())).not.toThrow();
    expect(codeOf(() => assertSameItems("o1", items, [{ productId: "a", quantity: 1 }]))).toBe(Code.AlreadyExists);
  });

  it("returns stock only from a held reservation", () => {
    expect(releaseReturnsStock("reserved")).toBe(true);
    expect(releaseReturnsStock("rejected")).toBe(false);
    expect(releaseReturnsStock("released")).toBe(false);
  });
});
