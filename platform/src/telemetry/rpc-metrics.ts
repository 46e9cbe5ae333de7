import type { DescMethod } from "@bufbuild/protobuf";
import type { Code } from "@connectrpc/connect";
import type { Histogram } from "prom-client";
import { codeName } from "../errors.js";

/** gRPC status 0, which the Connect `Code` enum leaves out. */
export const OK = 0;

/** How a method appears in metrics: "shop.order.v1.OrderService/PlaceOrder", and its kind. */
export interface MethodLabels {
  readonly method: string;
  readonly kind: DescMethod["methodKind"];
}

export function methodLabels(method: DescMethod): MethodLabels {
  return { method: `${method.parent.typeName}/${method.name}`, kind: method.methodKind };
}

type RpcHistogram = Histogram<"service" | "method" | "kind" | "code">;

/**
 * Records call durations into `histogram` for `service`. The labelled children are kept per
 * method and code: prom-client would otherwise hash the label set on every call.
 */
export function rpcDurationRecorder(
  histogram: RpcHistogram,
  service: string,
): (m: MethodLabels, code: Code | typeof OK, ms: number) => void {
  const children = new Map<string, Map<number, Histogram.Internal<"service" | "method" | "kind" | "code">>>();
  return (m, code, ms) => {
    let byCode = children.get(m.method);
    if (!byCode) {
      byCode = new Map();
      children.set(m.method, byCode);
    }
    let child = byCode.get(code);
    if (!child) {
      child = histogram.labels({ service, method: m.method, kind: m.kind, code: code === OK ? "ok" : codeName(code) });
      byCode.set(code, child);
    }
    child.observe(ms / 1000);
  };
}
