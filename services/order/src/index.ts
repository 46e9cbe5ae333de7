export { type OrderConfig, orderConfigSchema, readOrderConfig } from "./config.js";
export { createOrderServer, type OrderServer, type OrderServerOptions } from "./server.js";
export { orderMigrations } from "./db/migrations/index.js";
export { ORDER_EVENT_TYPES, ORDER_GROUP } from "./events/saga-consumer.js";
export type { Order, OrderStatus, StatusTransition, StatusUpdate } from "./domain/order.js";
export type { Orders } from "./app/use-cases.js";
