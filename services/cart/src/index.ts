export { type CartConfig, cartConfigSchema, readCartConfig } from "./config.js";
export { type CartServer, type CartServerOptions, createCartServer } from "./server.js";
export { cartMigrations } from "./db/migrations/index.js";
export { CART_EVENT_TYPES, CART_GROUP } from "./events/cart-consumer.js";
export type { Carts } from "./app/use-cases.js";
