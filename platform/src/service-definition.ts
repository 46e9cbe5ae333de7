import type { DescService } from "@bufbuild/protobuf";
import type { Kysely } from "kysely";
import { type AuthVerifierConfig, authVerifier } from "./auth/auth-verifier.js";
import { authorize } from "./auth/authorize.js";
import type { TokenVerifier } from "./auth/token-verifier.js";
import type { Database } from "./db/database.js";
import type { Migration } from "./db/migrate.js";
import type { EventBus, Subscription } from "./events/event-bus.js";
import type { OutboxRow } from "./events/outbox.js";
import { type FaultConfig, LiveFaults } from "./faults/faults.js";
import { type Client, closeClient, createClient } from "./grpc/client.js";
import type { ServiceRegistration } from "./grpc/service.js";
import type { Logger } from "./logger.js";
import { auditMigrations } from "./operations/audit.js";
import { operationsRegistration } from "./operations/operations-service.js";
import { createServiceHost } from "./service-host.js";
import { meshTlsOf, type TlsConfig } from "./tls/config.js";
import type { MeshTls } from "./tls/credentials.js";

/** What assembling a service's server reads of its config: variables every service declares (`serviceVars`). */
export interface ServiceConfig extends Partial<TlsConfig>, FaultConfig {
  readonly DB_SCHEMA: string;
  readonly SHUTDOWN_GRACE_MS: number;
}

/** What every service's server is created with; a service may take more. */
export interface ServiceOptions<C extends ServiceConfig> {
  readonly config: C;
  /** The process's database; the service uses the schema `config.DB_SCHEMA` in it. The caller closes it. */
  readonly db: Database;
  readonly logger: Logger;
  /** Overrides the configured interface (embedded mode listens on 127.0.0.1). */
  readonly host?: string;
  /** Overrides the configured port (0 picks a free port). */
  readonly port?: number;
  /**
   * Where the outbox relay publishes the service's events and its consumers subscribe. Without a
   * bus its events stay in the outbox until a relay with one runs, and nothing is consumed.
   */
  readonly bus?: EventBus;
  /** Verifies access tokens; default: auth's JWKS from AUTH_ADDR (then required). */
  readonly verifier?: TokenVerifier;
}

/** A service's server. */
export interface ServiceServer {
  /**
   * Migrates the schema, runs the service's steps before serving, serves, starts the outbox
   * relay, runs the steps after serving, then subscribes its consumers; resolves to the port.
   */
  start(): Promise<number>;
  /**
   * Graceful stop: NOT_SERVING, the consumers stop after the event in progress, streams end,
   * in-flight calls drain, the server closes, the relay stops, then the service's own parts and
   * its clients close.
   */
  stop(): Promise<void>;
  /** The bound port, once started. */
  readonly port: number;
}

/** What a service's definition assembles its own parts with. */
export interface ServiceContext<C extends ServiceConfig, DB> {
  readonly config: C;
  /** The service's logger: its lines carry `service: <name>`. */
  readonly logger: Logger;
  /** The service's schema (`config.DB_SCHEMA`) and its handle. */
  readonly schema: string;
  readonly db: Kysely<DB>;
  /** Mutual TLS as configured: the server, and every client it opens, speak as the service. */
  readonly tls: MeshTls | undefined;
  /** Tells the outbox relay that events were written (a no-op without one): the use cases call it after each commit. */
  readonly notifyOutbox: (written?: readonly OutboxRow[]) => void;
  /**
   * The faults an operator switches live (chaos; none with NODE_ENV=production): the platform
   * applies those on calls, deliveries and the broker; a service applies those of what only it
   * calls (payment: its provider's answers, `providerFaults`).
   */
  readonly faults: LiveFaults | undefined;
  /** A client of the peer `service` at `address`, over the service's mutual TLS; closed when the server stops. */
  client<S extends DescService>(service: S, address: string): Client<S>;
  /**
   * Access tokens verified with auth's keys: the `verifier` option when given, else auth's JWKS
   * at AUTH_ADDR (a ConfigError naming it when unset); closed when the server stops.
   */
  authVerifier(config: AuthVerifierConfig): TokenVerifier;
}

/** A service's own parts, as its definition assembles them. */
export interface ServiceParts<E> {
  /** What the server exposes besides start, stop and port: its use cases, for in-process callers and tests. */
  readonly expose: E;
  /** The gRPC service and its handlers (health and reflection come with the server). */
  readonly rpc: ServiceRegistration;
  /** Verifies the access tokens of calls; every call is authorized against its method's policy. */
  readonly verifier: TokenVerifier;
  /** After the migrations, before the server binds (seeding, signing keys, a shared feed). */
  readonly beforeServe?: () => Promise<void>;
  /** After the server and the relay started, before the consumers subscribe. */
  readonly afterServe?: () => Promise<void>;
  /** The consumers, subscribed once serving (only with a bus). */
  readonly subscribe?: (bus: EventBus) => Subscription[];
  /** On stop, after the server and relay stopped, before the clients close. */
  readonly onStop?: () => Promise<void> | void;
}

/** A service: its name, schema, address and own parts. */
export interface ServiceDefinition<C extends ServiceConfig, O extends ServiceOptions<C>, DB, E> {
  /** The service's name: its workload identity, its logs' and metrics' `service`. */
  readonly name: string;
  /** Its schema's migrations: the platform's audit log, and its outbox and inbox when it uses them. */
  readonly migrations: Readonly<Record<string, Migration>>;
  /** It publishes events: an outbox relay runs onto the bus. */
  readonly outbox?: boolean;
  /** It calls a payment provider, whose answers an operator may fault (shop.ops.v1 Faults.provider); others refuse such a fault. */
  readonly providerFaults?: boolean;
  /** The interface and port its gRPC server listens on as configured (the `host` and `port` options override them). */
  readonly listen: (config: C) => { readonly host: string; readonly port: number };
  /** Assembles its own parts; what it opened through `ctx` is closed again when it throws. */
  readonly create: (ctx: ServiceContext<C, DB>, opts: O) => ServiceParts<E>;
}

/**
 * The factory of a service's server from its definition. What every service does the same way is
 * done here: its logger, mutual TLS, schema handle, the outbox relay and its notifier, its gRPC
 * server with `authorize`, health and reflection, the database's readiness, fault injection,
 * clients closed on stop, and the operator's view of its events and audit log
 * (shop.ops.v1.OperationsService, the `audit_log` table); the definition says only what is the
 * service's own.
 *
 * ```ts
 * export const createCartServer = defineService({
 *   name: "cart",
 *   migrations: cartMigrations,
 *   listen: (config: CartConfig) => ({ host: config.CART_HOST, port: config.CART_PORT }),
 *   create(ctx: ServiceContext<CartConfig, CartDb>) {
 *     const carts = createCarts({ db: ctx.db, catalog: ctx.client(CatalogService, ctx.config.CATALOG_ADDR) });
 *     return { expose: { carts }, rpc: serviceRegistration(CartService, cartHandlers(carts)), verifier: ctx.authVerifier(ctx.config) };
 *   },
 * });
 * ```
 */
export function defineService<C extends ServiceConfig, O extends ServiceOptions<C>, DB, E>(
  def: ServiceDefinition<C, O, DB, E>,
): (opts: O) => ServiceServer & E {
  return (opts) => {
    const { config } = opts;
    const logger = opts.logger.child({ service: def.name });
    const tls = meshTlsOf(config, def.name, logger);
    const schema = config.DB_SCHEMA;
    const db = opts.db.kysely<DB>(schema);
    const closers: Array<() => void> = [];
    const closeOpened = () => {
      for (const close of closers.splice(0).reverse()) close();
    };
    const listen = def.listen(config);
    // Chaos: an operator switches faults live, except in production, where SetFaults refuses.
    const production = config.NODE_ENV === "production";
    const liveFaults = production
      ? undefined
      : new LiveFaults(config.FAULTS_ENABLED ? config.FAULTS_EVENTS : undefined, { provider: def.providerFaults === true });
    const host = createServiceHost({
      name: def.name,
      logger,
      faults: config,
      liveFaults,
      db,
      schema,
      // Every service keeps an audit log of the operator actions taken on it: its list names
      // auditMigrations (for `npm run migrate`), added here to a list that does not.
      migrations: { ...def.migrations, ...auditMigrations },
      grpc: {
        tls,
        host: opts.host ?? listen.host,
        port: opts.port ?? listen.port,
        shutdownGraceMs: config.SHUTDOWN_GRACE_MS,
      },
      bus: opts.bus,
      outbox: def.outbox,
      build({ notifyOutbox, consumers }) {
        const ctx: ServiceContext<C, DB> = {
          config,
          logger,
          schema,
          db,
          tls,
          notifyOutbox,
          faults: liveFaults,
          client(service, address) {
            const client = createClient(service, address, { logger, tls });
            closers.push(() => closeClient(client));
            return client;
          },
          authVerifier(auth) {
            const verifier = authVerifier(auth, opts.verifier, logger, tls);
            closers.push(() => verifier.close());
            return verifier.verifier;
          },
        };
        let parts: ServiceParts<E>;
        try {
          parts = def.create(ctx, opts);
        } catch (err) {
          closeOpened();
          throw err;
        }
        return {
          expose: parts.expose,
          // Every service serves the operator's view of its events and audit log.
          services: [parts.rpc, operationsRegistration({ service: def.name, db, consumers, liveFaults })],
          interceptors: [authorize({ service: def.name, verifier: parts.verifier })],
          beforeServe: parts.beforeServe,
          afterServe: parts.afterServe,
          subscribe: parts.subscribe,
          async onStop() {
            try {
              await parts.onStop?.();
            } finally {
              closeOpened();
            }
          },
        };
      },
    });
    return {
      ...host.parts.expose,
      get port() {
        return host.port;
      },
      start: () => host.start(),
      stop: () => host.stop(),
    };
  };
}
