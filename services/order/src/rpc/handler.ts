import { type CallContext, type ServiceHandlers, unauthenticated } from "@shopmesh/platform";
import type { OrderService } from "@shopmesh/proto/shop/order/v1/order_pb.js";

/** The typed handler of one OrderService method, e.g. `Handler<"placeOrder">`. */
export type Handler<K extends keyof ServiceHandlers<typeof OrderService>> = ServiceHandlers<typeof OrderService>[K];

/** The verified caller of an ACCESS_USER method (set by the requireUser interceptor): whose orders they are. */
export function callerId(ctx: CallContext): string {
  if (!ctx.principal) throw unauthenticated();
  return ctx.principal.userId;
}
