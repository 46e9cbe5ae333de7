import { type DescMethod, type DescService, getOption, hasOption } from "@bufbuild/protobuf";
import { callPolicyOf, meshWorkloads } from "@shopmesh/platform";
import { Access, edge } from "@shopmesh/proto/shop/api/v1/annotations_pb.js";
import { AuthService } from "@shopmesh/proto/shop/auth/v1/auth_pb.js";
import { CartService } from "@shopmesh/proto/shop/cart/v1/cart_pb.js";
import { CatalogService } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { NotificationService } from "@shopmesh/proto/shop/notification/v1/notification_pb.js";
import { OperationsConsoleService, OperationsService } from "@shopmesh/proto/shop/ops/v1/ops_pb.js";
import { OrderService } from "@shopmesh/proto/shop/order/v1/order_pb.js";
import { PaymentService } from "@shopmesh/proto/shop/payment/v1/payment_pb.js";
import { describe, expect, it } from "vitest";

/**
 * The call policies of the contracts, read from the descriptors the services enforce them from:
 * every method has one (a method added without one fails here, and nobody could call it), it
 * names only workloads of the mesh, the edge may call what it exposes, and the operator methods
 * are exactly the operations and reconciliation ones.
 */
const services: readonly DescService[] = [AuthService, CatalogService, CartService, OrderService, PaymentService, NotificationService];
const methods = services.flatMap((s) => s.methods);

describe("call policies in the contracts", () => {
  it("are declared on every method of every service, naming only workloads of the mesh", () => {
    const missing = methods.filter((m) => callPolicyOf(m) === undefined).map((m) => `${m.parent.typeName}/${m.name}`);
    expect(missing).toEqual([]);
    const known = new Set<string>(meshWorkloads);
    for (const m of methods) {
      const p = callPolicyOf(m);
      expect(
        p?.workloads.filter((w) => !known.has(w)),
        m.name,
      ).toEqual([]);
      expect((p?.workloads.length ?? 0) > 0 || p?.operator === true, `${m.name} lets somebody call it`).toBe(true);
    }
  });

  it("let the edge call the methods it exposes to the public and to users, and operator methods only with an operator's token", () => {
    for (const m of methods) {
      const access = hasOption(m, edge) ? getOption(m, edge).access : Access.UNSPECIFIED;
      const forUsers = access === Access.PUBLIC || access === Access.USER;
      expect(callPolicyOf(m)?.workloads.includes("edge"), `${m.parent.typeName}/${m.name}`).toBe(forUsers);
      // The edge forwards an operator's token: listing the edge would let a shopper's through.
      if (access === Access.OPERATOR) expect(callPolicyOf(m)?.operator, `${m.parent.typeName}/${m.name}`).toBe(true);
    }
  });

  it("keep operations and reconciliation for operators, and the checkout's internal calls for order", () => {
    const operator = methods.filter((m) => callPolicyOf(m)?.operator).map((m) => m.name);
    expect(operator.sort()).toEqual([
      "AdjustStock",
      "ArchiveProduct",
      "CancelOrder",
      "CreateProduct",
      "GetAnyOrder",
      "ListAllOrders",
      "ListOrderNotifications",
      "ListPayments",
      "ListPriceChanges",
      "ListReservations",
      "ListStockAdjustments",
      "ListStockBooks",
      "Refund",
      "RefundOrder",
      "UpdateProduct",
    ]);
    const callers = (m: DescMethod) => callPolicyOf(m)?.workloads;
    expect(callers(CartService.method.getUserCart)).toEqual(["order"]);
    expect(callers(PaymentService.method.tokenizeCard)).toEqual(["order"]);
    expect(callers(PaymentService.method.charge)).toEqual(["order"]);
    expect(callers(CatalogService.method.reserveStock)).toEqual(["order"]);
    expect(callers(CatalogService.method.releaseStock)).toEqual(["order"]);
    expect(callers(AuthService.method.createOperator)).toEqual(["operator-cli"]);
  });

  it("keep the operations service, which every service serves, for operators only; its console is the edge's, for users", () => {
    for (const m of OperationsService.methods) expect(callPolicyOf(m), m.name).toMatchObject({ operator: true, workloads: [] });
    for (const m of OperationsConsoleService.methods) {
      // Served by the edge itself, which calls each service's OperationsService with the caller's token.
      expect(callPolicyOf(m), m.name).toBeUndefined();
      expect(getOption(m, edge).access, m.name).toBe(Access.USER);
    }
  });
});
