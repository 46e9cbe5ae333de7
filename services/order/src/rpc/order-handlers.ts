import type { ServiceHandlers } from "@shopmesh/platform";
import type { OrderService } from "@shopmesh/proto/shop/order/v1/order_pb.js";
import type { Orders } from "../app/use-cases.js";
import { cancelOrder } from "./cancel-order.js";
import { getAnyOrder } from "./get-any-order.js";
import { getOrder } from "./get-order.js";
import { listAllOrders } from "./list-all-orders.js";
import { listOrders } from "./list-orders.js";
import { placeOrder } from "./place-order.js";
import { refundOrder } from "./refund-order.js";
import { streamOrders } from "./stream-orders.js";
import { watchOrders } from "./watch-orders.js";

/** Every OrderService RPC, bound to the order use cases. */
export function orderHandlers(orders: Orders): ServiceHandlers<typeof OrderService> {
  return {
    placeOrder: placeOrder(orders),
    getOrder: getOrder(orders),
    listOrders: listOrders(orders),
    watchOrders: watchOrders(orders),
    streamOrders: streamOrders(orders),
    listAllOrders: listAllOrders(orders),
    getAnyOrder: getAnyOrder(orders),
    refundOrder: refundOrder(orders),
    cancelOrder: cancelOrder(orders),
  };
}
