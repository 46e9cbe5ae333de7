import {
  authorize,
  createServiceHost,
  createTokenVerifier,
  type Database,
  type EventBus,
  type Logger,
  type ServiceHost,
  serviceRegistration,
  meshTlsOf,
} from "@shopmesh/platform";
import { AuthService } from "@shopmesh/proto/shop/auth/v1/auth_pb.js";
import { type Auth, createAuth } from "./app/use-cases.js";
import type { AuthConfig } from "./config.js";
import { authMigrations } from "./db/migrations/index.js";
import type { AuthDb } from "./db/tables.js";
import { authHandlers } from "./rpc/auth-handlers.js";

export interface AuthServiceOptions {
  readonly config: AuthConfig;
  /** The process's database; auth uses the schema `config.DB_SCHEMA` in it. The caller closes it. */
  readonly db: Database;
  readonly logger: Logger;
  /** Overrides AUTH_HOST (embedded mode listens on 127.0.0.1). */
  readonly host?: string;
  /** Overrides AUTH_PORT (0 picks a free port). */
  readonly port?: number;
  /**
   * Where the outbox relay publishes UserRegistered. Without a bus the events stay in the
   * outbox until a relay with one runs.
   */
  readonly bus?: EventBus;
  /** Clock of the signing keys and token times (tests move it to rotate keys); default Date.now. */
  readonly now?: () => number;
}

export interface AuthServer {
  /** Migrates the schema, loads or creates the signing key, then serves; resolves to the port. */
  start(): Promise<number>;
  /** Graceful stop: NOT_SERVING, in-flight calls drain, the server closes, the relay stops. */
  stop(): Promise<void>;
  /** The bound port, once started. */
  readonly port: number;
  /** The use cases behind the RPCs (for in-process callers and tests). */
  readonly auth: Auth;
}

/** The auth service: its gRPC server (with health and reflection) over its schema of `db`. */
export function createAuthService(opts: AuthServiceOptions): AuthServer {
  const { config } = opts;
  const logger = opts.logger.child({ service: "auth" });
  // Mutual TLS as configured: the server, and every client it opens, speak as "auth".
  const tls = meshTlsOf(config, "auth", logger);
  const schema = config.DB_SCHEMA;
  const db = opts.db.kysely<AuthDb>(schema);
  let host: ServiceHost | undefined;
  let keyTimer: NodeJS.Timeout | undefined;
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
    onEventsWritten: (written) => host?.notifyOutbox(written),
  });
  // Auth verifies its own tokens (GetMe) like any service, from its own key table.
  const verifier = createTokenVerifier({
    jwks: () => auth.jwks(),
    issuer: config.AUTH_ISSUER,
    audience: config.AUTH_AUDIENCE,
    cacheMs: 60_000,
    minRefetchMs: 5_000,
    now: opts.now,
  });
  const h = createServiceHost({
    name: "auth",
    logger,
    faults: config,
    db,
    schema,
    migrations: { ...authMigrations },
    grpc: {
      tls,
      host: opts.host ?? config.AUTH_HOST,
      port: opts.port ?? config.AUTH_PORT,
      services: [serviceRegistration(AuthService, authHandlers(auth))],
      interceptors: [authorize({ service: "auth", verifier })],
      shutdownGraceMs: config.SHUTDOWN_GRACE_MS,
    },
    bus: opts.bus,
    outbox: true,
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
  });
  host = h;
  return {
    auth,
    get port() {
      return h.port;
    },
    start: () => h.start(),
    stop: () => h.stop(),
  };
}
