import type { DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues } from "@connectrpc/connect";
import {
  faultMetadataKey,
  type Logger,
  ReflectionIndex,
  ServerReflectionV1,
  ServerReflectionV1Alpha,
  closeClient,
  createClient,
  createGrpcJwksProvider,
  createTokenVerifier,
  meshTlsOf,
} from "@shopmesh/platform";
import { Health } from "@shopmesh/proto/grpc/health/v1/health_pb.js";
import { AuthService } from "@shopmesh/proto/shop/auth/v1/auth_pb.js";
import { loadApiDocs } from "./docs/api-docs.js";
import { type Authenticate, bearerTokenSyntax, verifyingAuthenticator } from "./protection/authenticate.js";
import { checkFaults, type EdgeConfig, type UpstreamAddresses, upstreamsFromConfig } from "./config.js";
import { createConnectAdapter } from "./rpc/connect-adapter.js";
import { createCors } from "./http/cors.js";
import { errorBody } from "./http/errors.js";
import { createForwarder } from "./rpc/forwarder.js";
import { registerEdgeHealth } from "./rpc/grpc-health.js";
import { observeExchange, observeHttp } from "./http/http-observer.js";
import { createListener, isHttp1, type Listener } from "./http/listener.js";
import { type NodeRequest, type NodeResponse, nodeHeaders, sendJson } from "./http/node-http.js";
import { clientAddressKey, createProtection, defaultProtection, type ProtectionSettings } from "./protection/protection.js";
import { publicSurface } from "./rpc/public-surface.js";
import { DEFAULT_READ_CACHE_MAX_AGE_MS, DEFAULT_READ_CACHE_SIZE, withReadCache } from "./rpc/read-cache.js";
import { refreshCookieInterceptor } from "./rpc/refresh-cookie.js";
import { createRestRouter, defaultHeaderFields, type RequestTarget } from "./rest/rest.js";
import { tooLarge } from "./http/request-body.js";
import { connectUpstream, defaultForwardedHeaders, loadService, requestIdOf, type Upstream } from "./rpc/upstreams.js";
import { loadWebApp } from "./web/web-app.js";
import { createImageRoutes } from "./images/image-routes.js";
import { configuredImageStore, type ImageStoreSettings } from "./images/configured-image-store.js";
import type { ImageStore } from "./images/image-store.js";
import { createOperationsConsole } from "./ops/operations-console.js";
import { OperationsConsoleService } from "@shopmesh/proto/shop/ops/v1/ops_pb.js";

/**
 * The settings the edge runs with: the environment config (`readEdgeConfig`) fits, and so does
 * a literal with just these fields (tests). `*_ADDR` fields are the default upstreams.
 */
export type EdgeSettings = Pick<
  EdgeConfig,
  "EDGE_PORT" | "EDGE_HOST" | "CORS_ORIGINS" | "EDGE_MAX_BODY_BYTES" | "EDGE_REQUEST_TIMEOUT_MS" | "EDGE_HEADERS_TIMEOUT_MS"
> &
  Partial<
    Pick<
      EdgeConfig,
      | "AUTH_ISSUER"
      | "AUTH_AUDIENCE"
      | "EDGE_MAX_HEADER_BYTES"
      | "EDGE_H2_IDLE_TIMEOUT_MS"
      | "EDGE_H2_MAX_CONCURRENT_STREAMS"
      | "FAULTS_ENABLED"
      | "EDGE_INVARIANTS_STUCK_AFTER_SECONDS"
      | "EDGE_INVARIANTS_SETTLE_SECONDS"
      | "EDGE_IMAGE_MAX_BYTES"
      | "EDGE_READ_CACHE_SIZE"
      | "EDGE_READ_CACHE_MAX_AGE_MS"
      | keyof ImageStoreSettings
      | "NODE_ENV"
      | "SHOPMESH_MTLS"
      | "SHOPMESH_TLS_DIR"
      | keyof ProtectionSettings
    >
  > &
  UpstreamAddresses;

/** Headers on every answer of the edge; the storefront's pages replace them with their own CSP (web-app.ts). */
const securityHeaders: ReadonlyArray<readonly [string, string]> = [
  ["x-content-type-options", "nosniff"],
  ["x-frame-options", "DENY"],
  ["referrer-policy", "no-referrer"],
  // API answers are data, never documents: nothing may load or frame them.
  ["content-security-policy", "default-src 'none'; frame-ancestors 'none'"],
  ["cache-control", "no-store"],
];

export interface EdgeOptions {
  readonly config: EdgeSettings;
  readonly logger: Logger;
  /**
   * Service type name → "host:port" of the services to front; exposed methods of other services
   * are not served. Default: the `*_ADDR` variables of `config` (`upstreamsFromConfig`).
   */
  readonly upstreams?: Readonly<Record<string, string>>;
  /**
   * Descriptors of the services named in `upstreams`. When omitted, each is loaded from the
   * contracts package by its type name (shop.<domain>.v1.X → @shopmesh/proto/shop/<domain>/v1/<domain>_pb.js).
   */
  readonly services?: readonly DescService[];
  /**
   * Decides who calls. Default: with auth among the upstreams, the bearer JWT verified from its
   * JWKS; without, any well-formed bearer token (the services verify it).
   */
  readonly authenticate?: Authenticate;
  /**
   * Request headers forwarded upstream as metadata (x-request-id always is). `x-fault` is added
   * when FAULTS_ENABLED (never in production); otherwise public requests cannot carry it.
   */
  readonly forwardedHeaders?: readonly string[];
  /** REST: request headers that fill a request field; default Idempotency-Key → idempotency_key. */
  readonly headerFields?: Readonly<Record<string, string>>;
  /** Deadline of each /readyz health check. Default 1000 ms. */
  readonly readinessTimeoutMs?: number;
  /** How often a grpc.health.v1 Watch on the edge re-evaluates readiness. Default 1000 ms. */
  readonly healthWatchIntervalMs?: number;
  /** How long stop() lets in-flight requests finish. Default 10 s. */
  readonly shutdownGraceMs?: number;
  /**
   * Directory of the built storefront, served to GET requests that no route takes (index.html
   * for the app's own paths). Default: edge/web/dist when it was built; false serves no app.
   */
  readonly webApp?: string | false;
  /**
   * Directory of the generated API documentation (docs/api: the OpenAPI document, the /docs
   * pages), served at /api/openapi.json, /docs and /docs/api. Default: docs/api of the
   * repository when present; false serves none.
   */
  readonly apiDocs?: string | false;
  /**
   * Where operators' product images are kept (POST /api/admin/images, served at /media/<name>).
   * Default: the store EDGE_IMAGE_STORE names (the folder EDGE_IMAGE_DIR, or an S3 bucket); with
   * neither set (or false) the image routes are not served.
   */
  readonly imageStore?: ImageStore | false;
}

export interface Edge {
  /** Connects the upstreams and listens; resolves to the bound port. Calling it again returns the same promise. */
  start(): Promise<number>;
  /**
   * Graceful stop: /readyz turns 503, no new connections, open streams end with UNAVAILABLE,
   * idle connections close, in-flight requests finish (within `shutdownGraceMs`), upstream
   * clients close. Idempotent; waits for a start in progress.
   */
  stop(): Promise<void>;
  /** The bound port (0 before start). */
  readonly port: number;
  /** Base URL, e.g. "http://localhost:8080". */
  readonly url: string;
}

/**
 * The edge: one port serving the Connect protocol, gRPC-Web and gRPC (HTTP/1.1 and h2c) for the
 * methods the contracts expose, the REST routes they declare, their documentation (/docs,
 * /api/openapi.json), product images (/api/admin/images, /media/<name>), /healthz and /readyz, and grpc.health.v1.Health (following /readyz). Everything
 * served is derived from the service descriptors; adding a service is configuration.
 */
export function createEdge(opts: EdgeOptions): Edge {
  const { config } = opts;
  const log = opts.logger;
  const addresses = opts.upstreams ?? upstreamsFromConfig(config);
  const authAddress = addresses[AuthService.typeName];
  // The edge's calls to the services go over mutual TLS as the "edge" workload (when configured);
  // its own public listener is unchanged.
  const tls = meshTlsOf(config, "edge", log);
  // With auth among the upstreams, tokens are verified here from its JWKS (fetched once, cached).
  const jwksClient = authAddress ? createClient(AuthService, authAddress, { logger: log, tls }) : undefined;
  const authenticate =
    opts.authenticate ??
    (jwksClient
      ? verifyingAuthenticator(
          createTokenVerifier({
            jwks: createGrpcJwksProvider(jwksClient),
            issuer: config.AUTH_ISSUER ?? "shopmesh",
            audience: config.AUTH_AUDIENCE ?? "shopmesh",
          }),
        )
      : bearerTokenSyntax);
  checkFaults(config);
  // x-fault reaches the services only from an edge that runs with faults enabled.
  const forwardedHeaders = [
    ...(opts.forwardedHeaders ?? defaultForwardedHeaders).filter((h) => h.toLowerCase() !== faultMetadataKey),
    ...(config.FAULTS_ENABLED ? [faultMetadataKey] : []),
  ];
  const readinessTimeoutMs = opts.readinessTimeoutMs ?? 1_000;
  const protection = createProtection(
    Object.fromEntries(
      Object.entries(defaultProtection).map(([k, v]) => [k, config[k as keyof ProtectionSettings] ?? v]),
    ) as unknown as ProtectionSettings,
  );
  const maxHeaderBytes = config.EDGE_MAX_HEADER_BYTES ?? 16 * 1024;
  const shutdown = new AbortController();
  const upstreams = new Map<string, Upstream>();
  let listener: Listener | undefined;
  let imageStore: ImageStore | undefined;
  let port = 0;
  let starting: Promise<number> | undefined;
  let stopping: Promise<void> | undefined;
  /** Started and not stopping: /readyz may answer 200. */
  let running = false;

  const resolveServices = async (): Promise<DescService[]> => {
    const given = new Map((opts.services ?? []).map((s) => [s.typeName, s]));
    return Promise.all(Object.keys(addresses).map((typeName) => given.get(typeName) ?? loadService(typeName)));
  };

  const readiness = async (): Promise<{ ready: boolean; services: Record<string, string> }> => {
    const entries = await Promise.all(
      [...upstreams.values()]
        .filter((u) => u.service.typeName !== OperationsConsoleService.typeName)
        .map(async (u) => [u.service.typeName, await u.health(readinessTimeoutMs)] as const),
    );
    const ready = running && entries.every(([, s]) => s === "SERVING");
    return { ready, services: Object.fromEntries(entries) };
  };

  /**
   * The per-address rate limit of a request for no method (the storefront, the docs); false when
   * it was refused, with its 429 sent.
   */
  const admitAddress = (req: NodeRequest, res: NodeResponse): boolean => {
    try {
      protection.admitClient(undefined, protection.clientOf(req));
      return true;
    } catch (err) {
      const e = ConnectError.from(err);
      sendJson(res, 429, errorBody(e), Object.fromEntries(e.metadata));
      return false;
    }
  };

  /** Paths of the methods whose request is a stream of messages (no body timeout). */
  const streamingRequestPaths = new Set<string>();

  const build = (services: DescService[]) => {
    for (const service of services) {
      const address = addresses[service.typeName] as string;
      upstreams.set(
        service.typeName,
        connectUpstream(service, address, { logger: log, defaultTimeoutMs: config.EDGE_REQUEST_TIMEOUT_MS, tls }),
      );
    }
    // The operator's console over every service's events and audit log, served by the edge itself.
    if (Object.keys(addresses).length > 0) {
      upstreams.set(
        OperationsConsoleService.typeName,
        createOperationsConsole({
          addresses,
          logger: log,
          defaultTimeoutMs: config.EDGE_REQUEST_TIMEOUT_MS,
          tls,
          invariants: {
            stuckAfterMs: (config.EDGE_INVARIANTS_STUCK_AFTER_SECONDS ?? 300) * 1000,
            settleMs: (config.EDGE_INVARIANTS_SETTLE_SECONDS ?? 5) * 1000,
          },
        }),
      );
    }
    const methods = publicSurface(upstreams.has(OperationsConsoleService.typeName) ? [...services, OperationsConsoleService] : services);
    // Anonymous public reads answered from memory (read-cache.ts); REST and Connect share it.
    const readCache = {
      maxEntries: config.EDGE_READ_CACHE_SIZE ?? DEFAULT_READ_CACHE_SIZE,
      maxAgeMs: config.EDGE_READ_CACHE_MAX_AGE_MS ?? DEFAULT_READ_CACHE_MAX_AGE_MS,
      timeoutMs: config.EDGE_REQUEST_TIMEOUT_MS,
    };
    for (const service of services) {
      upstreams.set(service.typeName, withReadCache(upstreams.get(service.typeName) as Upstream, methods, readCache));
    }
    const forwarder = createForwarder({
      methods,
      upstreams,
      authenticate,
      requestTimeoutMs: config.EDGE_REQUEST_TIMEOUT_MS,
      forwardedHeaders,
      shutdown: shutdown.signal,
      logger: log,
      protection,
    });
    const rest = createRestRouter({
      methods,
      upstreams,
      authenticate,
      maxBodyBytes: config.EDGE_MAX_BODY_BYTES,
      requestTimeoutMs: config.EDGE_REQUEST_TIMEOUT_MS,
      forwardedHeaders,
      headerFields: opts.headerFields ?? defaultHeaderFields,
      logger: log,
      protection,
    });
    // Reflection describes what the edge serves: the public methods, not the services' internals.
    const reflectionMethods = new Set([...ServerReflectionV1.methods, ...ServerReflectionV1Alpha.methods, ...Health.methods]);
    const exposed = new Set([...methods.map((m) => m.method), ...reflectionMethods]);
    const reflection = new ReflectionIndex(
      [...new Set(methods.map((m) => m.service)), ServerReflectionV1, ServerReflectionV1Alpha, Health],
      {
        exposes: (m) => exposed.has(m),
      },
    );
    const webApp = opts.webApp === false ? undefined : loadWebApp(opts.webApp);
    if (!webApp && typeof opts.webApp === "string") throw new Error(`webApp: no index.html in ${opts.webApp}`);
    if (!webApp && opts.webApp === undefined) log.info("the storefront is not built (npm run build): no web app at /");
    imageStore = opts.imageStore === false ? undefined : (opts.imageStore ?? configuredImageStore(config, log));
    const images =
      imageStore &&
      createImageRoutes({
        store: imageStore,
        maxBytes: config.EDGE_IMAGE_MAX_BYTES ?? 5 * 1024 * 1024,
        authenticate,
        protection,
        logger: log,
      });
    const apiDocs = opts.apiDocs === false ? undefined : loadApiDocs(opts.apiDocs);
    if (!apiDocs && typeof opts.apiDocs === "string") throw new Error(`apiDocs: no openapi.json in ${opts.apiDocs}`);
    const connectHandler = createConnectAdapter({
      routes: (router) => {
        forwarder.routes(router);
        // Bidi: served to HTTP/2 clients (grpcurl, grpc-js, Postman).
        router.service(ServerReflectionV1, { serverReflectionInfo: (requests) => reflection.v1(requests) });
        router.service(ServerReflectionV1Alpha, { serverReflectionInfo: (requests) => reflection.v1alpha(requests) });
        // For gRPC load balancers and probes: follows /readyz.
        registerEdgeHealth(router, {
          readiness,
          shutdown: shutdown.signal,
          watchIntervalMs: opts.healthWatchIntervalMs ?? 1_000,
          admit: (ctx) => protection.admitClient(undefined, ctx.values.get(clientAddressKey)),
          openStream: (ctx) => protection.openStream(undefined, ctx.values.get(clientAddressKey)),
        });
      },
      // Per message; a whole Connect unary body is also refused up front by its Content-Length.
      readMaxBytes: config.EDGE_MAX_BODY_BYTES,
      // An unknown JSON key is refused and named, as on the REST routes (connect-es ignores it by default).
      jsonOptions: { ignoreUnknownFields: false },
      // Browser sessions: the refresh token in an HttpOnly cookie (refresh-cookie.ts).
      interceptors: [refreshCookieInterceptor()],
      contextValues: (req) => createContextValues().set(clientAddressKey, protection.clientOf(req)),
      fallback: (req, res) => {
        if (!admitAddress(req, res as NodeResponse)) return;
        if (webApp?.serve(req, res as NodeResponse)) return;
        sendJson(
          res as NodeResponse,
          404,
          errorBody(new ConnectError(`no route for ${req.method} ${req.url?.split("?")[0]}`, Code.NotFound)),
        );
      },
    });
    const cors = createCors(config.CORS_ORIGINS);

    for (const m of methods) {
      log.debug(
        {
          rpc: `${m.service.typeName}/${m.method.name}`,
          access: m.access,
          http: m.http ? `${m.http.method} ${m.http.template}` : undefined,
        },
        "exposed",
      );
    }

    const procedures = new Set([...exposed].map((m) => `/${m.parent.typeName}/${m.name}`));
    for (const m of exposed) {
      if (m.methodKind === "client_streaming" || m.methodKind === "bidi_streaming")
        streamingRequestPaths.add(`/${m.parent.typeName}/${m.name}`);
    }
    // Request lines have fixed fields: no redaction to pay for (see the platform's `observe`).
    const requestLog = log.child({}, { redact: [] });

    return (req: NodeRequest, res: NodeResponse) => {
      const started = performance.now();
      const url = req.url ?? "/";
      const q = url.indexOf("?");
      const target: RequestTarget = q < 0 ? { path: url, query: "" } : { path: url.slice(0, q), query: url.slice(q + 1) };
      const requestId = requestIdOf(nodeHeaders(req));
      // Connect handlers read it from the request: one id for the whole exchange.
      req.headers["x-request-id"] = requestId;
      res.setHeader("x-request-id", requestId);
      for (const [name, value] of securityHeaders) res.setHeader(name, value);
      if (listener?.closing && isHttp1(req)) res.setHeader("connection", "close");
      if (cors.apply(req, res)) {
        observeHttp(res, "(cors preflight)", started);
        return;
      }

      if (target.path === "/healthz") {
        observeHttp(res, target.path, started);
        sendJson(res, 200, '{"status":"ok"}');
        return;
      }
      if (target.path === "/readyz") {
        observeHttp(res, target.path, started);
        readiness().then(
          (r) => sendJson(res, r.ready ? 200 : 503, JSON.stringify({ status: r.ready ? "ok" : "unavailable", services: r.services })),
          (err: unknown) => {
            log.error({ err }, "readiness check failed");
            sendJson(res, 503, '{"status":"unavailable"}');
          },
        );
        return;
      }
      const exchange = observeExchange(req, res, target.path, started, requestLog);
      // HTTP/1.1 header sections over the limit never get here (the parser answers 431).
      if (!isHttp1(req) && headerBytes(req) > maxHeaderBytes) {
        sendJson(res, 431, errorBody(new ConnectError(`request headers exceed ${maxHeaderBytes} bytes`, Code.ResourceExhausted)));
        return;
      }
      exchange.run(() => {
        const doc = apiDocs?.match(req.method, target.path);
        if (doc) {
          exchange.route(doc.route);
          if (admitAddress(req, res)) doc.send(req, res);
          return;
        }
        const image = images?.handle(req, res, target.path);
        if (image !== undefined) {
          exchange.route(image);
          return;
        }
        const route = rest.handle(req, res, target, requestId);
        if (route !== undefined) {
          exchange.route(route);
          return;
        }
        if (procedures.has(target.path)) exchange.route(target.path);

        const declared = req.headers["content-length"];
        if (declared !== undefined && Number(declared) > config.EDGE_MAX_BODY_BYTES) {
          const e = tooLarge(config.EDGE_MAX_BODY_BYTES);
          sendJson(res, e.status, errorBody(new ConnectError(e.message, e.code)), isHttp1(req) ? { connection: "close" } : undefined);
          return;
        }
        connectHandler(req, res);
      });
    };
  };

  return {
    get port() {
      return port;
    },
    get url() {
      const host = config.EDGE_HOST === "0.0.0.0" || config.EDGE_HOST === "::" ? "localhost" : config.EDGE_HOST;
      return `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
    },
    start() {
      starting ??= (async () => {
        try {
          const handler = build(await resolveServices());
          listener = createListener(handler, {
            maxHeaderBytes,
            headersTimeoutMs: config.EDGE_HEADERS_TIMEOUT_MS,
            requestTimeoutMs: config.EDGE_REQUEST_TIMEOUT_MS,
            h2IdleTimeoutMs: config.EDGE_H2_IDLE_TIMEOUT_MS,
            h2MaxConcurrentStreams: config.EDGE_H2_MAX_CONCURRENT_STREAMS,
            streamingRequestPaths,
          });
          port = await listener.listen(config.EDGE_PORT, config.EDGE_HOST);
        } catch (err) {
          for (const u of upstreams.values()) u.close();
          imageStore?.close?.();
          throw err;
        }
        running = true;
        log.info({ port, upstreams: Object.fromEntries([...upstreams].map(([k, u]) => [k, u.address])) }, "edge listening");
        return port;
      })();
      return starting;
    },
    stop() {
      stopping ??= (async () => {
        if (!starting) return;
        try {
          await starting;
        } catch {
          return; // a failed start has already let go of everything
        }
        running = false;
        // Open streams end with UNAVAILABLE, which tells clients to reconnect elsewhere.
        shutdown.abort(new ConnectError("edge shutting down", Code.Unavailable));
        await listener?.close(opts.shutdownGraceMs ?? 10_000);
        for (const u of upstreams.values()) u.close();
        imageStore?.close?.();
        if (jwksClient) closeClient(jwksClient);
        log.info("edge stopped");
      })();
      return stopping;
    },
  };
}

/** Size of a request's header section as HTTP/2 counts it (RFC 9113 §6.5.2: name + value + 32 per field). */
function headerBytes(req: NodeRequest): number {
  let n = 0;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i++) n += (raw[i] as string).length;
  return n + 16 * raw.length;
}
