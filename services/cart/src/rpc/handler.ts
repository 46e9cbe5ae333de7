import { type CallContext, type ServiceHandlers, unauthenticated } from "@shopmesh/platform";
import type { CartService } from "@shopmesh/proto/shop/cart/v1/cart_pb.js";

/** The typed handler of one CartService method, e.g. `Handler<"addItem">`. */
export type Handler<K extends keyof ServiceHandlers<typeof CartService>> = ServiceHandlers<typeof CartService>[K];

/** The verified caller of an ACCESS_USER method (set by the requireUser interceptor): whose cart it is. */
export function callerId(ctx: CallContext): string {
  if (!ctx.principal) throw unauthenticated();
  return ctx.principal.userId;
}
