import { AuthService } from "@shopmesh/proto/shop/auth/v1/auth_pb.js";
import { CartService } from "@shopmesh/proto/shop/cart/v1/cart_pb.js";
import { CatalogService } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { OrderService, OrderStatusSchema } from "@shopmesh/proto/shop/order/v1/order_pb.js";
import { describe, expect, it } from "vitest";
import { buildOpenApi, codesNamedIn } from "./openapi.js";
import { publicSurface } from "../rpc/public-surface.js";
import { defaultHeaderFields } from "../rest/rest.js";

/** The OpenAPI document built from the descriptors follows the rules the edge serves REST with. */

const services = [AuthService, CatalogService, CartService, OrderService];
type Op = {
  security: Array<Record<string, string[]>>;
  parameters?: Array<{ name: string; in: string; required: boolean }>;
  requestBody?: { content: { "application/json": { schema: { properties: Record<string, unknown> } } } };
  responses: Record<string, { headers?: Record<string, unknown>; content: { "application/json": { schema: Record<string, unknown> } } }>;
};
const doc = buildOpenApi(services, {
  version: "0.0.0",
  headerFields: defaultHeaderFields,
  comments: (d) => (d.kind === "rpc" && d.name === "GetProduct" ? "Returns one product. NOT_FOUND for an unknown id." : undefined),
}) as { openapi: string; paths: Record<string, Record<string, Op>>; components: { schemas: Record<string, any> } };
const op = (verb: string, path: string) => doc.paths[path]?.[verb] as Op;

describe("OpenAPI document from the descriptors", () => {
  it("describes every REST route the contracts declare, and nothing else", () => {
    expect(doc.openapi).toBe("3.1.0");
    const declared = publicSurface(services)
      .filter((m) => m.http)
      .map((m) => `${m.http?.method.toLowerCase()} ${m.http?.template}`)
      .sort();
    const documented = Object.entries(doc.paths)
      .flatMap(([path, ops]) => Object.keys(ops).map((verb) => `${verb} ${path}`))
      .sort();
    expect(documented).toEqual(declared);
  });

  it("requires bearerAuth on user routes and makes it optional on public ones", () => {
    expect(op("get", "/api/cart").security).toEqual([{ bearerAuth: [] }]);
    expect(op("get", "/api/products").security).toEqual([{}, { bearerAuth: [] }]);
  });

  it("takes path, query and header parameters from the request message, and the body without path fields", () => {
    expect(op("get", "/api/products/{id}").parameters).toContainEqual(expect.objectContaining({ name: "id", in: "path", required: true }));
    expect(op("get", "/api/products").parameters?.map((p) => p.name)).toEqual([
      "page_size",
      "page_token",
      "category",
      "q",
      "min_price",
      "min_price_cents",
      "max_price",
      "max_price_cents",
      "sort",
      "include_archived",
    ]);
    expect(op("post", "/api/checkout").parameters).toContainEqual(expect.objectContaining({ name: "Idempotency-Key", in: "header" }));
    const patch = op("patch", "/api/cart/items/{product_id}").requestBody?.content["application/json"].schema;
    expect(Object.keys(patch?.properties ?? {})).toEqual(["qty"]);
  });

  it("answers snake_case with enum words, and the selected response field as the body", () => {
    const order = doc.components.schemas["shop.order.v1.Order"];
    expect(Object.keys(order.properties)).toContain("total_cents");
    expect(order.properties.status.enum).toEqual(OrderStatusSchema.values.map((v) => v.name.replace(/^ORDER_STATUS_/, "").toLowerCase()));
    expect(order.properties.status.enum).toContain("stock_reserved");
    expect(order.required).toContain("status");
    expect(order.required).not.toContain("created_at");
    expect(op("get", "/api/orders/{id}").responses["200"]?.content["application/json"].schema).toEqual({
      $ref: "#/components/schemas/shop.order.v1.Order",
    });
    expect(op("post", "/api/checkout").responses["201"]).toBeDefined();
  });

  it("lists the error statuses of each route with the error body, and Retry-After on 429", () => {
    const get = op("get", "/api/products/{id}").responses;
    expect(Object.keys(get)).toEqual(["200", "400", "401", "404", "429", "500", "503", "504"]);
    expect(get["404"]?.content["application/json"].schema).toEqual({ $ref: "#/components/schemas/Error" });
    expect(get["429"]?.headers).toHaveProperty("Retry-After");
    expect(Object.keys(op("post", "/api/cart/items").responses)).toEqual(expect.arrayContaining(["409", "413", "415"]));
    expect(doc.components.schemas.Error.properties.field_violations.items.required).toEqual(["field", "description"]);
  });

  it("reads the codes a comment names", () => {
    expect(codesNamedIn("FAILED_PRECONDITION when the cart is empty; NOT_FOUND when gone; PENDING is a status").map(String)).toEqual([
      "9",
      "5",
    ]);
  });
});
