import type { ServiceHandlers } from "@shopmesh/platform";
import type { PaymentService } from "@shopmesh/proto/shop/payment/v1/payment_pb.js";

/** The typed handler of one PaymentService method, e.g. `Handler<"charge">`. */
export type Handler<K extends keyof ServiceHandlers<typeof PaymentService>> = ServiceHandlers<typeof PaymentService>[K];
