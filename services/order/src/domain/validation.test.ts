import { Code, ConnectError, encodeKeysetToken } from "@shopmesh/platform";
import { violatedFields } from "@shopmesh/platform/testing";
import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { TimestampSchema } from "@bufbuild/protobuf/wkt";
import { OrderStatus } from "@shopmesh/proto/shop/order/v1/order_pb.js";
import {
  parseCardNumber,
  parseIdempotencyKey,
  parseCancelOrder,
  parseListAllOrders,
  parseOrderId,
  parseOrderIds,
  parsePageSize,
  parsePlaceOrder,
  parseStreamOrders,
} from "./validation.js";

function refusal(fn: () => unknown): ConnectError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConnectError) return err;
    throw err;
  }
  throw new Error("not refused");
}

describe("order validation", () => {
  it("idempotency keys are 1..128 printable ASCII characters, empty meaning none", () => {
    expect(parseIdempotencyKey("")).toBeUndefined();
    expect(parseIdempotencyKey("checkout 2026-11-25 #1")).toBe("checkout 2026-11-25 #1");
    expect(parseIdempotencyKey("k".repeat(128))).toHaveLength(128);
    for (const bad of ["k".repeat(129), "tab\there", "caf\u00e9", "line\n"]) {
      const err = refusal(() => parseIdempotencyKey(bad));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.rawMessage).toMatch(/^idempotency_key: /);
    }
  });

  it("card numbers pass Luhn, spaces and dashes ignored, and are never repeated in the error", () => {
    expect(parseCardNumber("payment.card_number", "")).toBeUndefined();
    expect(parseCardNumber("payment.card_number", "4242 4242-4242 4242")).toBe("4242424242424242");
    for (const bad of ["4242424242424241", "4242", "4242 4242 4242 424x", "1".repeat(20)]) {
      const err = refusal(() => parseCardNumber("payment.card_number", bad));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.rawMessage).toMatch(/^payment\.card_number: /);
      expect(err.rawMessage).not.toContain(bad.replace(/\D/g, "").slice(0, 8));
    }
  });

  it("order ids are UUIDs, named by their field and index", () => {
    expect(parseOrderId("id", "0190A0B0-0000-7000-8000-00000000000A")).toBe("0190a0b0-0000-7000-8000-00000000000a");
    expect(refusal(() => parseOrderId("id", "")).rawMessage).toBe("id: is required");
    expect(refusal(() => parseOrderId("id", "42")).rawMessage).toBe("id: must be a UUID");
    const id = "0190a0b0-0000-7000-8000-000000000001";
    expect(parseOrderIds("add_order_ids", [id, id])).toEqual([id]);
    expect(refusal(() => parseOrderIds("add_order_ids", [id, "nope"])).rawMessage).toMatch(/^add_order_ids\[1\]: /);
  });

  it("page sizes: 0 means the default, beyond the maximum is refused", () => {
    expect(parsePageSize(0, 20, 100)).toBe(20);
    expect(parsePageSize(100, 20, 100)).toBe(100);
    expect(refusal(() => parsePageSize(101, 20, 100)).rawMessage).toMatch(/^page_size: /);
    expect(refusal(() => parsePageSize(-1, 20, 100)).code).toBe(Code.InvalidArgument);
  });

  it("a PlaceOrder request names every bad field, each once", () => {
    expect(parsePlaceOrder({ idempotencyKey: "", payment: { cardNumber: "4242 4242 4242 4242" } })).toEqual({
      idempotencyKey: undefined,
      cardDigits: "4242424242424242",
    });
    expect(violatedFields(() => parsePlaceOrder({ idempotencyKey: "k".repeat(129), payment: { cardNumber: "1234" } }))).toEqual([
      "idempotency_key",
      "payment.card_number",
    ]);
  });

  it("a list of order ids names every bad one by its index", () => {
    const id = "0190a0b0-0000-7000-8000-000000000001";
    expect(violatedFields(() => parseOrderIds("order_ids", ["", id, "nope"]))).toEqual(["order_ids[0]", "order_ids[2]"]);
    expect(violatedFields(() => parseStreamOrders({ orderIds: [] }))).toEqual(["order_ids"]);
  });

  it("a ListAllOrders request decodes its page token and filters, or names every bad field", () => {
    const after = { createdAt: new Date("2026-11-25T09:00:00Z"), id: "0190a0b0-0000-7000-8000-000000000001" };
    const updatedBefore = create(TimestampSchema, { seconds: 1_795_000_000n });
    expect(
      parseListAllOrders({
        pageSize: 0,
        pageToken: encodeKeysetToken(after),
        statuses: [OrderStatus.PAID],
        updatedBefore,
        userId: "u1",
        email: " Ada@Example.com ",
      }),
    ).toEqual({
      pageSize: 100,
      after,
      statuses: ["PAID"],
      updatedBefore: new Date(1_795_000_000_000),
      userId: "u1",
      email: "Ada@Example.com",
    });
    expect(
      violatedFields(() =>
        parseListAllOrders({
          pageSize: -1,
          pageToken: "x",
          statuses: [0],
          updatedBefore: create(TimestampSchema, { nanos: -1 }),
          userId: "",
          email: "not an address",
        }),
      ),
    ).toEqual(["page_size", "page_token", "statuses[0]", "updated_before", "email"]);
  });

  it("a CancelOrder request needs an order id and a reason of at most 200 characters", () => {
    const id = "0190a0b0-0000-7000-8000-000000000001";
    expect(parseCancelOrder({ orderId: id.toUpperCase(), reason: "  shopper called  " })).toEqual({
      orderId: id,
      reason: "shopper called",
    });
    expect(violatedFields(() => parseCancelOrder({ orderId: "", reason: " " }))).toEqual(["order_id", "reason"]);
    expect(violatedFields(() => parseCancelOrder({ orderId: id, reason: "x".repeat(201) }))).toEqual(["reason"]);
  });
});
