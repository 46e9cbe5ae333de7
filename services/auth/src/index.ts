export { type AuthConfig, authConfigSchema, readAuthConfig } from "./config.js";
export { type AuthServer, type AuthServiceOptions, createAuthService } from "./server.js";
export { authMigrations } from "./db/migrations/index.js";
export type { Auth, TokenPair, User } from "./auth/auth.service.js";
