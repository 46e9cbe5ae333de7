import type { ServiceHandlers } from "@shopmesh/platform";
import type { AuthService } from "@shopmesh/proto/shop/auth/v1/auth_pb.js";

/** The typed handler of one AuthService method, e.g. `Handler<"login">`. */
export type Handler<K extends keyof ServiceHandlers<typeof AuthService>> = ServiceHandlers<typeof AuthService>[K];
