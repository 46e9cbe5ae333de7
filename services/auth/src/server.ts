import {
  createTokenVerifier,
  defineService,
  type ServiceContext,
  type ServiceOptions,
  type ServiceServer,
  serviceRegistration,
} from "@shopmesh/platform";
import { AuthService } from "@shopmesh/proto/shop/auth/v1/auth_pb.js";
import { type Auth, createAuth } from "./app/use-cases.js";
import type { AuthConfig } from "./config.js";
import { authMigrations } from "./db/migrations/index.js";
import type { AuthDb } from "./db/tables.js";
import { authHandlers } from "./rpc/auth-handlers.js";

/** Auth publishes UserRegistered through the bus; it verifies its own tokens, so it takes no verifier. */
export interface AuthServerOptions extends Omit<ServiceOptions<AuthConfig>, "verifier"> {
  /** Clock of the signing keys and token times (tests move it to rotate keys); default Date.now. */
  readonly now?: () => number;
}

export interface AuthServer extends ServiceServer {
  /** The use cases behind the RPCs (for in-process callers and tests). */
  readonly auth: Auth;
}

/** The auth service: its gRPC server over its schema of `db`, signing and verifying tokens with its own keys. */
export const createAuthServer: (opts: AuthServerOptions) => AuthServer = defineService({
  name: "auth",
  migrations: authMigrations,
  outbox: true,
  listen: (config: AuthConfig) => ({ host: config.AUTH_HOST, port: config.AUTH_PORT }),
  create({ config, db, logger, notifyOutbox }: ServiceContext<AuthConfig, AuthDb>, opts: AuthServerOptions) {
    const auth = createAuth({
      db,
      logger,
      issuer: config.AUTH_ISSUER,
      audience: config.AUTH_AUDIENCE,
      accessTtlS: config.AUTH_ACCESS_TTL_S,
      refreshTtlS: config.AUTH_REFRESH_TTL_S,
      scrypt: { log2N: config.AUTH_SCRYPT_LOG2_N, r: 8, p: 1 },
      keyRotationS: config.AUTH_KEY_ROTATION_S,
      keyPublishAheadS: config.AUTH_KEY_PUBLISH_AHEAD_S,
      now: opts.now,
      onEventsWritten: notifyOutbox,
    });
    let keyTimer: NodeJS.Timeout | undefined;
    return {
      expose: { auth },
      rpc: serviceRegistration(AuthService, authHandlers(auth)),
      // Auth verifies its own tokens (GetMe) like any service, from its own key table.
      verifier: createTokenVerifier({
        jwks: () => auth.jwks(),
        issuer: config.AUTH_ISSUER,
        audience: config.AUTH_AUDIENCE,
        cacheMs: 60_000,
        minRefetchMs: 5_000,
        now: opts.now,
      }),
      // Loads or creates the signing key before the first token can be asked for.
      beforeServe: () => auth.start(),
      afterServe: async () => {
        // Often enough that every replica knows a successor long before its turn.
        const everyMs = Math.max(1_000, Math.min(60_000, (config.AUTH_KEY_PUBLISH_AHEAD_S * 1000) / 4));
        keyTimer = setInterval(() => {
          auth.maintainKeys().catch((err: unknown) => logger.warn({ err }, "signing key rotation check failed; retrying"));
        }, everyMs);
        keyTimer.unref();
      },
      onStop: () => clearInterval(keyTimer),
    };
  },
});
