import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  CatalogService,
  GetProductResponseSchema,
  ReservationStatus,
  ReservationStatusSchema,
  ReserveStockResponseSchema,
} from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { OperationsConsoleService } from "@shopmesh/proto/shop/ops/v1/ops_pb.js";
import { ListAllOrdersRequestSchema, OrderService, OrderStatus } from "@shopmesh/proto/shop/order/v1/order_pb.js";
import { describe, expect, it } from "vitest";
import { enumWords } from "../rest/enum-words.js";
import { compilePathTemplate, publicSurface } from "./public-surface.js";
import { applyParam, decodeJsonBody, encodeResponse } from "../rest/rest-codec.js";
import { EchoService } from "../testing/echo-contract.js";

describe("publicSurface", () => {
  it("exposes exactly the catalog methods the contract marks, with their routes", () => {
    const surface = publicSurface([CatalogService]);
    expect(surface.map((m) => [m.method.name, m.access, m.http ? `${m.http.method} ${m.http.template}` : undefined])).toEqual([
      ["ListProducts", "public", "GET /api/products"],
      ["GetProduct", "public", "GET /api/products/{id}"],
      ["BatchGetProducts", "public", undefined],
      ["WatchStock", "public", undefined],
      ["StreamStock", "public", undefined],
      ["AdjustStock", "operator", "POST /api/admin/stock/{product_id}/adjust"],
      ["CreateProduct", "operator", "POST /api/admin/products"],
      ["UpdateProduct", "operator", "PUT /api/admin/products/{id}"],
      ["ArchiveProduct", "operator", "POST /api/admin/products/{id}/archive"],
      ["ListPriceChanges", "operator", "GET /api/admin/products/{product_id}/prices"],
      ["ListStockBooks", "operator", "GET /api/admin/stock"],
      ["ListStockAdjustments", "operator", "GET /api/admin/stock/{product_id}/adjustments"],
    ]);
    const get = surface[1]?.http;
    expect(get?.successStatus).toBe(200);
    expect(get?.bodyIsRequest).toBe(false);
    expect(get?.responseBody?.name).toBe("product");
    expect(get?.segments.map((s) => ("literal" in s ? s.literal : `{${s.field.name}}`))).toEqual(["api", "products", "{id}"]);
  });

  it("exposes the order methods of operators with their admin routes", () => {
    const admin = publicSurface([OrderService]).filter((m) => m.access === "operator");
    expect(admin.map((m) => [m.method.name, m.http ? `${m.http.method} ${m.http.template}` : undefined])).toEqual([
      ["ListAllOrders", "GET /api/admin/orders"],
      ["GetAnyOrder", "GET /api/admin/orders/{order_id}"],
      ["RefundOrder", "POST /api/admin/orders/{order_id}/refund"],
      ["CancelOrder", "POST /api/admin/orders/{order_id}/cancel"],
    ]);
  });

  it("exposes every method of the operations console, each a signed-in caller's (the services check the operator), with its route", () => {
    const surface = publicSurface([OperationsConsoleService]);
    expect(surface.map((m) => [m.method.name, m.access, m.http ? `${m.http.method} ${m.http.template}` : undefined])).toEqual([
      ["GetEvents", "user", "GET /api/admin/events"],
      ["ListAllDeadLetters", "user", "GET /api/admin/dead-letters"],
      ["ReplayServiceDeadLetter", "user", "POST /api/admin/dead-letters/{id}/replay"],
      ["DiscardServiceDeadLetter", "user", "POST /api/admin/dead-letters/{id}/discard"],
      ["ReplayAllDeadLetters", "user", "POST /api/admin/dead-letters/replay-all"],
      ["DiscardAllDeadLetters", "user", "POST /api/admin/dead-letters/discard-all"],
      ["ListAllAudit", "user", "GET /api/admin/audit"],
      ["ListFaults", "user", "GET /api/admin/chaos"],
      ["SetServiceFaults", "user", "POST /api/admin/chaos/{service}"],
      ["GetInvariants", "user", "GET /api/admin/invariants"],
    ]);
  });

  it("reads access levels, bodies and success statuses from any descriptor", () => {
    const surface = publicSurface([EchoService]);
    expect(surface.map((m) => [m.method.name, m.access, m.http?.method, m.http?.successStatus, m.http?.bodyIsRequest])).toEqual([
      ["Create", "public", "POST", 201, true],
      ["Get", "public", "GET", 200, false],
      ["Update", "user", "PATCH", 200, true],
      ["Mine", "user", "GET", 200, false],
    ]);
  });

  it("refuses path templates that name no field", () => {
    expect(() => compilePathTemplate("/api/products/{nope}", CatalogService.methods[1]!.input)).toThrow(/\{nope\}/);
    expect(() => compilePathTemplate("api/x", CatalogService.methods[1]!.input)).toThrow(/start with/);
  });
});

describe("REST query parameters", () => {
  it("fill a field by its query name as well as by its own names, enum words repeatable", () => {
    const msg = create(ListAllOrdersRequestSchema);
    applyParam(ListAllOrdersRequestSchema, msg, "status", ["paid", "on_hold"]);
    applyParam(ListAllOrdersRequestSchema, msg, "statuses", ["cancelled"]);
    applyParam(ListAllOrdersRequestSchema, msg, "email", ["a@b.c"]);
    applyParam(ListAllOrdersRequestSchema, msg, "page_size", ["5"]);
    expect(msg.statuses).toEqual([OrderStatus.PAID, OrderStatus.ON_HOLD, OrderStatus.CANCELLED]);
    expect(msg).toMatchObject({ email: "a@b.c", pageSize: 5 });
    expect(() => applyParam(ListAllOrdersRequestSchema, msg, "status", ["shipped"])).toThrow(/status/);
  });
});

describe("REST JSON", () => {
  it("renders generated enums as lower-case words without their prefix", () => {
    expect([...enumWords(ReservationStatusSchema).toWord.values()]).toEqual(["unspecified", "reserved", "rejected", "released"]);
    const msg = create(ReserveStockResponseSchema, {
      status: ReservationStatus.REJECTED,
      shortages: [{ productId: "p-1", requested: 3, available: 0 }],
    });
    expect(JSON.parse(encodeResponse(ReserveStockResponseSchema, msg, undefined))).toEqual({
      status: "rejected",
      shortages: [{ product_id: "p-1", requested: 3, available: 0 }],
    });
  });

  it("selects the response_body field and keeps well-known types in their JSON form", () => {
    const at = new Date("2025-01-02T03:04:05Z");
    const msg = create(GetProductResponseSchema, { product: { id: "p", name: "P", updatedAt: timestampFromDate(at) } });
    const select = GetProductResponseSchema.fields.find((f) => f.name === "product");
    expect(JSON.parse(encodeResponse(GetProductResponseSchema, msg, select))).toMatchObject({
      id: "p",
      price_cents: 0,
      image_url: "",
      categories: [],
      updated_at: "2025-01-02T03:04:05Z",
    });
    // An unset message field is sent as its empty form, not as null.
    expect(JSON.parse(encodeResponse(GetProductResponseSchema, create(GetProductResponseSchema), select))).toMatchObject({
      id: "",
      stock: 0,
    });
  });

  it("accepts enum words, value names and numbers in request bodies", () => {
    const input = EchoService.methods[0]!.input;
    const msg = decodeJsonBody(
      input,
      JSON.stringify({ color: "Deep_Blue", colors: ["COLOR_RED", 2], inner: { shade: "red" } }),
    ) as unknown as {
      color: number;
      colors: number[];
      inner: { shade: number };
    };
    expect(msg.color).toBe(2);
    expect(msg.colors).toEqual([1, 2]);
    expect(msg.inner.shade).toBe(1);
  });
});
