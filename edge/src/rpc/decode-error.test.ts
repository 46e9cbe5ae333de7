import { type DescMessage, fromJsonString } from "@bufbuild/protobuf";
import { ListAllOrdersRequestSchema, PlaceOrderRequestSchema } from "@shopmesh/proto/shop/order/v1/order_pb.js";
import { describe, expect, it } from "vitest";
import { violationOfDecodeError } from "./decode-error.js";
import { EchoService } from "../testing/echo-contract.js";

/** The field violation of the error protobuf-es throws for `json` (fails when it decodes). */
function violationOf(schema: DescMessage, json: string) {
  try {
    fromJsonString(schema, json);
  } catch (err) {
    return violationOfDecodeError(schema, (err as Error).message);
  }
  throw new Error(`${json} decoded`);
}

const echoRequest = EchoService.methods[0]?.input as DescMessage;

describe("the field a JSON decoding error is about", () => {
  it("is the proto path of a value of the wrong type, at the top or in a submessage", () => {
    expect(violationOf(PlaceOrderRequestSchema, '{"idempotencyKey":7}')).toEqual({
      field: "idempotency_key",
      description: "invalid value: expected string, got 7",
    });
    expect(violationOf(PlaceOrderRequestSchema, '{"payment":{"card_number":true}}')?.field).toBe("payment.card_number");
    expect(violationOf(PlaceOrderRequestSchema, '{"payment":"4242"}')?.field).toBe("payment");
    expect(violationOf(ListAllOrdersRequestSchema, '{"updatedBefore":"yesterday"}')?.field).toBe("updated_before");
  });

  it("is an unknown key as it was sent, under the path of its message", () => {
    expect(violationOf(PlaceOrderRequestSchema, '{"coupon":"X"}')).toEqual({ field: "coupon", description: "unknown field" });
    expect(violationOf(PlaceOrderRequestSchema, '{"payment":{"cvcCode":"123"}}')?.field).toBe("payment.cvcCode");
  });

  it("is the field of an enum given an unknown name, when only one field has that enum", () => {
    expect(violationOf(ListAllOrdersRequestSchema, '{"statuses":["ORDER_STATUS_LOST"]}')?.field).toBe("statuses");
    // color, colors and inner.shade share one enum: the error cannot tell which was wrong.
    expect(violationOf(echoRequest, '{"inner":{"shade":"COLOR_PURPLE"}}')).toBeUndefined();
  });

  it("is none for a body that is not a JSON object", () => {
    expect(violationOf(PlaceOrderRequestSchema, "{nope")).toBeUndefined();
    expect(violationOf(PlaceOrderRequestSchema, "[1]")).toBeUndefined();
    expect(violationOf(PlaceOrderRequestSchema, '{"payment":{},"payment":{}}')).toBeUndefined();
  });
});
