export { type AuthConfig, authConfigSchema, readAuthConfig } from "./config.js";
export { type AuthServer, type AuthServerOptions, createAuthServer } from "./server.js";
export { authMigrations } from "./db/migrations/index.js";
export type { Auth } from "./app/use-cases.js";
export type { TokenPair, User } from "./domain/user.js";
