export { type CartConfig, cartConfigSchema, readCartConfig } from "./config.js";
export { type CartServer, type CartServiceOptions, createCartService } from "./server.js";
export { cartMigrations } from "./db/migrations/index.js";
export type { Carts } from "./cart/cart.service.js";
