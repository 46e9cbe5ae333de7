import { describe, expect, it } from "vitest";
import type { OrderItem } from "./order.js";
import { isRefundable, planRefund, sameRefund, statusAfterRefund, unitsRefunded } from "./refund.js";

const items: OrderItem[] = [
  { productId: "mug", name: "Mug", unitPriceCents: 1200, quantity: 2, lineTotalCents: 2400 },
  { productId: "tee", name: "Tee", unitPriceCents: 2500, quantity: 1, lineTotalCents: 2500 },
];
const paid = { status: "PAID" as const, items, refunds: [] };

describe("refund rules", () => {
  it("refunds only paid or partially refunded orders", () => {
    expect(isRefundable("PAID")).toBe(true);
    expect(isRefundable("PARTIALLY_REFUNDED")).toBe(true);
    for (const s of ["PENDING", "STOCK_RESERVED", "CANCELLED", "ON_HOLD", "REFUNDED"] as const) {
      expect(isRefundable(s)).toBe(false);
      expect(planRefund({ ...paid, status: s }, [])).toEqual({ kind: "not-refundable", status: s });
    }
  });

  it("a whole refund takes every unit not refunded yet, at the order's prices", () => {
    const plan = planRefund(paid, []);
    expect(plan).toMatchObject({
      kind: "refund",
      amountCents: 4900,
      lines: [
        { productId: "mug", quantity: 2 },
        { productId: "tee", quantity: 1 },
      ],
    });
    const after = planRefund({ ...paid, status: "PARTIALLY_REFUNDED", refunds: [{ lines: [{ productId: "mug", quantity: 1 }] }] }, []);
    expect(after).toMatchObject({
      kind: "refund",
      amountCents: 3700,
      lines: [
        { productId: "mug", quantity: 1 },
        { productId: "tee", quantity: 1 },
      ],
    });
  });

  it("a line refund prices the units asked for", () => {
    const plan = planRefund(paid, [{ productId: "mug", quantity: 1 }]);
    expect(plan).toMatchObject({ kind: "refund", amountCents: 1200, items: [{ productId: "mug", quantity: 1, lineTotalCents: 1200 }] });
  });

  it("refuses units that are not there, or no longer", () => {
    expect(planRefund(paid, [{ productId: "hat", quantity: 1 }])).toEqual({ kind: "unknown-line", index: 0 });
    expect(
      planRefund(paid, [
        { productId: "tee", quantity: 1 },
        { productId: "tee", quantity: 1 },
      ]),
    ).toEqual({ kind: "duplicate-line", index: 1 });
    expect(planRefund(paid, [{ productId: "mug", quantity: 3 }])).toEqual({ kind: "too-many", index: 0, left: 2 });
    const refunds = [
      {
        lines: [
          { productId: "mug", quantity: 2 },
          { productId: "tee", quantity: 1 },
        ],
      },
    ];
    expect(planRefund({ ...paid, status: "PARTIALLY_REFUNDED", refunds }, [])).toEqual({ kind: "nothing-left" });
    expect(planRefund({ ...paid, status: "PARTIALLY_REFUNDED", refunds }, [{ productId: "tee", quantity: 1 }])).toEqual({
      kind: "too-many",
      index: 0,
      left: 0,
    });
  });

  it("counts refunded units and says where the order goes", () => {
    expect(unitsRefunded([{ lines: [{ productId: "mug", quantity: 1 }] }, { lines: [{ productId: "mug", quantity: 1 }] }])).toEqual(
      new Map([["mug", 2]]),
    );
    expect(statusAfterRefund(4900, 1200)).toBe("PARTIALLY_REFUNDED");
    expect(statusAfterRefund(4900, 4900)).toBe("REFUNDED");
  });

  it("the same refund id asks for the same thing", () => {
    const first = { lines: [{ productId: "mug", quantity: 1 }], restock: true };
    expect(sameRefund(first, [{ productId: "mug", quantity: 1 }], true, false)).toBe(true);
    expect(sameRefund(first, [{ productId: "mug", quantity: 2 }], true, false)).toBe(false);
    expect(sameRefund(first, [{ productId: "mug", quantity: 1 }], false, false)).toBe(false);
  });
});
