import type { DescMethod } from "@bufbuild/protobuf";
import type { Attributes, TextMapGetter, TextMapSetter } from "@opentelemetry/api";
import type { Metadata } from "@grpc/grpc-js";

/** W3C trace context (`traceparent`, `tracestate`) read from gRPC request metadata. */
export const metadataGetter: TextMapGetter<Metadata> = {
  keys: (carrier) => Object.keys(carrier.getMap()),
  get(carrier, key) {
    const values = carrier.get(key).filter((v): v is string => typeof v === "string");
    return values.length === 0 ? undefined : values.length === 1 ? values[0] : values;
  },
};

/** …and written to the metadata of an outgoing call. */
export const metadataSetter: TextMapSetter<Metadata> = {
  set: (carrier, key, value) => carrier.set(key, value),
};

/** OpenTelemetry's RPC attribute names (semantic conventions). */
export const ATTR_RPC_GRPC_STATUS_CODE = "rpc.grpc.status_code";

/** The attributes of a span of a call of `method` ("shop.order.v1.OrderService", "PlaceOrder"). */
export function rpcAttributes(method: DescMethod | { readonly service: string; readonly name: string }): Attributes {
  const [service, name] = "parent" in method ? [method.parent.typeName, method.name] : [method.service, method.name];
  return { "rpc.system": "grpc", "rpc.service": service, "rpc.method": name };
}
