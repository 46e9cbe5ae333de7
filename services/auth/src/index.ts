export { type AuthConfig, authConfigSchema, readAuthConfig } from "./config.js";
export { type AuthServer, type AuthServerOptions, createAuthServer } from "./server.js";
export { authMigrations } from "./db/migrations/index.js";
export type { Auth, TokenPair, User } from "./auth/auth.service.js";
