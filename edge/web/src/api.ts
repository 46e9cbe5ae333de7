import { type Client, Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { CartService } from "@shopmesh/proto/shop/cart/v1/cart_pb.js";
import { CatalogService } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { NotificationService } from "@shopmesh/proto/shop/notification/v1/notification_pb.js";
import { OperationsConsoleService } from "@shopmesh/proto/shop/ops/v1/ops_pb.js";
import { OrderService } from "@shopmesh/proto/shop/order/v1/order_pb.js";
import { accessToken, renewAccessToken } from "./session.js";

/**
 * Sends the access token; a unary call the edge refuses as UNAUTHENTICATED (the token expired
 * early, the keys rotated) is retried once with a renewed token. Streams renew when they
 * reconnect (live.ts).
 */
const bearer: Interceptor = (next) => async (req) => {
  const token = await accessToken();
  if (token) req.header.set("authorization", `Bearer ${token}`);
  if (req.stream || !token) return next(req);
  try {
    return await next(req);
  } catch (err) {
    if (ConnectError.from(err).code !== Code.Unauthenticated) throw err;
    const renewed = await renewAccessToken(token);
    if (!renewed) throw err;
    req.header.set("authorization", `Bearer ${renewed}`);
    return next(req);
  }
};

/** Every call goes to the origin that served the page: the edge. */
const transport = createConnectTransport({ baseUrl: window.location.origin, useBinaryFormat: true, interceptors: [bearer] });

export const catalog: Client<typeof CatalogService> = createClient(CatalogService, transport);
export const carts: Client<typeof CartService> = createClient(CartService, transport);
export const orders: Client<typeof OrderService> = createClient(OrderService, transport);
export const notifications: Client<typeof NotificationService> = createClient(NotificationService, transport);
/** The console's view over every service's events, faults and audit log (served by the edge itself). */
export const operations: Client<typeof OperationsConsoleService> = createClient(OperationsConsoleService, transport);

/** The Connect code of anything a call threw. */
export function codeOf(err: unknown): Code {
  return ConnectError.from(err).code;
}

export { Code };
