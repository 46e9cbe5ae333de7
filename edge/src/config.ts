import {
  ConfigError,
  type ConfigOf,
  checkTlsConfig,
  env,
  loadConfig,
  metricsVars,
  tlsVars,
  tracingVars,
  type VarSpec,
} from "@shopmesh/platform";
import { DEFAULT_READ_CACHE_MAX_AGE_MS, DEFAULT_READ_CACHE_SIZE } from "./rpc/read-cache.js";

/**
 * The environment variable that carries the address of each service the edge can front, keyed
 * by the service's fully qualified name. A service whose variable is unset is not exposed.
 */
export const upstreamAddressVars = {
  AUTH_ADDR: "shop.auth.v1.AuthService",
  CATALOG_ADDR: "shop.catalog.v1.CatalogService",
  CART_ADDR: "shop.cart.v1.CartService",
  ORDER_ADDR: "shop.order.v1.OrderService",
  PAYMENT_ADDR: "shop.payment.v1.PaymentService",
  NOTIFICATION_ADDR: "shop.notification.v1.NotificationService",
} as const;

type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";

const upstreamSchema = Object.fromEntries(
  Object.entries(upstreamAddressVars).map(([name, typeName]) => [
    name,
    env.optional(env.address({ doc: `host:port of ${typeName}; unset: its methods are not exposed` })),
  ]),
) as { [K in keyof typeof upstreamAddressVars]: VarSpec<string | undefined> };

export const edgeConfigSchema = {
  AUTH_ISSUER: env.string({ doc: "issuer (iss) the edge requires of access tokens", default: "shopmesh" }),
  AUTH_AUDIENCE: env.string({ doc: "audience (aud) the edge requires of access tokens", default: "shopmesh" }),
  EDGE_PORT: env.port({ doc: "port of the edge (HTTP/1.1 and cleartext HTTP/2 on the same port)", default: 8080 }),
  EDGE_HOST: env.string({ doc: "interface the edge listens on", default: "0.0.0.0" }),
  CORS_ORIGINS: env.list({ doc: 'browser origins allowed to call the edge, comma-separated; "*" for any', default: ["*"] }),
  EDGE_MAX_BODY_BYTES: env.int({ doc: "largest request body accepted (413 above it)", default: 1024 * 1024, min: 1 }),
  EDGE_REQUEST_TIMEOUT_MS: env.int({
    doc: "deadline of a unary call through the edge (a shorter client timeout wins); also the time a client has to send a whole request body, per HTTP/1.1 request or HTTP/2 stream (client and bidi streams excepted)",
    default: 10_000,
    min: 1,
  }),
  EDGE_HEADERS_TIMEOUT_MS: env.int({
    doc: "time a client has to send complete request headers (or the HTTP/2 preface), from connecting or from its connection going idle; slower connections are closed",
    default: 10_000,
    min: 1,
  }),
  EDGE_MAX_HEADER_BYTES: env.int({
    doc: "largest request header section accepted (431 above it; HTTP/2 header lists alike)",
    default: 16 * 1024,
    min: 1024,
  }),
  EDGE_H2_IDLE_TIMEOUT_MS: env.int({
    doc: "an HTTP/2 connection with no open stream for this long is closed (GOAWAY)",
    default: 60_000,
    min: 100,
  }),
  EDGE_H2_MAX_CONCURRENT_STREAMS: env.int({
    doc: "streams an HTTP/2 connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS; more are refused)",
    default: 100,
    min: 1,
  }),
  EDGE_CLIENT_RATE: env.int({
    doc: "calls per second per client address, sustained (429 with Retry-After above it); 0: no limit",
    default: 50,
    min: 0,
  }),
  EDGE_CLIENT_BURST: env.int({ doc: "calls a client address may make at once before EDGE_CLIENT_RATE applies", default: 100, min: 1 }),
  EDGE_USER_RATE: env.int({ doc: "calls per second per signed-in user, sustained; 0: no limit", default: 20, min: 0 }),
  EDGE_USER_BURST: env.int({ doc: "calls a user may make at once before EDGE_USER_RATE applies", default: 40, min: 1 }),
  EDGE_CREDENTIALS_RATE_PER_MINUTE: env.int({
    doc: "sign-ups and sign-ins (methods declaring RATE_LIMIT_CREDENTIALS) per minute per client address; 0: no limit",
    default: 10,
    min: 0,
  }),
  EDGE_CREDENTIALS_BURST: env.int({ doc: "sign-ups and sign-ins a client address may make at once", default: 10, min: 1 }),
  EDGE_MAX_STREAMS_PER_USER: env.int({
    doc: "open streams (watches) per signed-in user, or per client address for anonymous callers; 0: no limit",
    default: 16,
    min: 0,
  }),
  EDGE_RATE_LIMIT_EXEMPT: env.list({
    doc: "client addresses no rate limit applies to, an explicit opt-in for benchmarks and load tests (e.g. 127.0.0.1,::1); empty: every address is limited, loopback included",
    default: [],
  }),
  EDGE_TRUSTED_PROXY_HOPS: env.int({
    doc: "proxies in front of the edge whose X-Forwarded-For entries are trusted to name the client (rate limits key on it); 0: the peer address",
    default: 0,
    min: 0,
  }),
  FAULTS_ENABLED: env.bool({
    doc: "pass the `x-fault` header of requests on to the services (which honour it when their own FAULTS_ENABLED is set); refused when NODE_ENV=production",
    default: false,
  }),
  EDGE_INVARIANTS_STUCK_AFTER_SECONDS: env.int({
    doc: "the console's invariants (GET /api/admin/invariants): an order not paid or cancelled this long after its last change is stuck",
    default: 300,
    min: 1,
  }),
  EDGE_INVARIANTS_SETTLE_SECONDS: env.int({
    doc: "the console's invariants: orders changed this recently are left out of the cross-service checks (their events may be on their way)",
    default: 5,
    min: 0,
  }),
  EDGE_IMAGE_MAX_BYTES: env.int({
    doc: "largest product image an operator may upload (POST /api/admin/images answers 413 above it)",
    default: 5 * 1024 * 1024,
    min: 1,
  }),
  EDGE_IMAGE_STORE: env.oneOf(["dir", "s3"], {
    doc: "where uploaded product images are kept: dir (the folder EDGE_IMAGE_DIR) or s3 (the bucket EDGE_IMAGE_S3_BUCKET of an S3-compatible object store)",
    default: "dir",
  }),
  EDGE_IMAGE_DIR: env.string({
    doc: "folder the uploaded product images are kept in with EDGE_IMAGE_STORE=dir, served at /media/{name}; npm start and the distributed launcher put it in images/ of SHOPMESH_DATA_DIR",
    default: ".data/images",
  }),
  EDGE_IMAGE_S3_BUCKET: env.optional(env.string({ doc: "bucket of the product images; required with EDGE_IMAGE_STORE=s3" })),
  EDGE_IMAGE_S3_REGION: env.string({ doc: "region of EDGE_IMAGE_S3_BUCKET", default: "us-east-1" }),
  EDGE_IMAGE_S3_ENDPOINT: env.optional(
    env.url({
      doc: "URL of an S3-compatible server (MinIO, R2, …), addressed path-style (endpoint/bucket/key); unset: AWS S3 of EDGE_IMAGE_S3_REGION",
      protocols: ["http", "https"],
    }),
  ),
  EDGE_IMAGE_S3_ACCESS_KEY_ID: env.optional(
    env.string({
      doc: "access key of the image bucket, with EDGE_IMAGE_S3_SECRET_ACCESS_KEY; unset: the AWS SDK's own credential chain (AWS_* variables, instance or pod role)",
    }),
  ),
  EDGE_IMAGE_S3_SECRET_ACCESS_KEY: env.optional(env.string({ doc: "secret of EDGE_IMAGE_S3_ACCESS_KEY_ID (pass it from a secret)" })),
  EDGE_READ_CACHE_SIZE: env.int({
    doc: "most answers of anonymous public reads (product searches, category pages, products; methods declared NO_SIDE_EFFECTS) the edge keeps per service, dropped on every write to that service through this edge (0 = off)",
    default: DEFAULT_READ_CACHE_SIZE,
    min: 0,
  }),
  EDGE_READ_CACHE_MAX_AGE_MS: env.int({
    doc: "milliseconds after which a kept answer is read again, still answered meanwhile (waited for past twice this age): a change the edge does not make (a checkout moving stock, another edge replica's write) shows to anonymous readers within twice this age",
    default: DEFAULT_READ_CACHE_MAX_AGE_MS,
    min: 1,
  }),
  LOG_LEVEL: env.oneOf<LogLevel>(["trace", "debug", "info", "warn", "error", "fatal", "silent"], { doc: "log level", default: "info" }),
  // Its own port: metrics never go out on the public one.
  ...metricsVars(),
  // Mutual TLS of its calls to the services (its public listener is plain HTTP).
  ...tlsVars(),
  ...tracingVars(),
  ...upstreamSchema,
};

export type EdgeConfig = ConfigOf<typeof edgeConfigSchema>;

/** Reads the edge configuration from the environment (throws naming every bad variable). */
export function readEdgeConfig(source: Record<string, string | undefined> = process.env): EdgeConfig {
  const config = loadConfig(edgeConfigSchema, source);
  checkFaults(config);
  checkTlsConfig(config);
  checkImageStore(config);
  return config;
}

/** The variables an S3 image store cannot do without, and keys given in pairs. */
export function checkImageStore(
  config: Partial<
    Pick<EdgeConfig, "EDGE_IMAGE_STORE" | "EDGE_IMAGE_S3_BUCKET" | "EDGE_IMAGE_S3_ACCESS_KEY_ID" | "EDGE_IMAGE_S3_SECRET_ACCESS_KEY">
  >,
): void {
  if (config.EDGE_IMAGE_STORE === "s3" && config.EDGE_IMAGE_S3_BUCKET === undefined) {
    throw new ConfigError("missing required environment variable EDGE_IMAGE_S3_BUCKET (EDGE_IMAGE_STORE=s3)");
  }
  if ((config.EDGE_IMAGE_S3_ACCESS_KEY_ID === undefined) !== (config.EDGE_IMAGE_S3_SECRET_ACCESS_KEY === undefined)) {
    throw new ConfigError(
      "invalid environment variable EDGE_IMAGE_S3_ACCESS_KEY_ID: set it and EDGE_IMAGE_S3_SECRET_ACCESS_KEY together, or neither",
    );
  }
}

/** Fault injection is for tests and demos: a production edge refuses to start with it. */
export function checkFaults(config: { readonly FAULTS_ENABLED?: boolean; readonly NODE_ENV?: string }): void {
  if (config.FAULTS_ENABLED && config.NODE_ENV === "production") {
    throw new ConfigError("invalid environment variable FAULTS_ENABLED: fault injection cannot be enabled when NODE_ENV=production");
  }
}

/** The `*_ADDR` part of the configuration. */
export type UpstreamAddresses = Partial<Pick<EdgeConfig, keyof typeof upstreamAddressVars>>;

/** The configured upstreams: service type name → "host:port". */
export function upstreamsFromConfig(config: UpstreamAddresses): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, typeName] of Object.entries(upstreamAddressVars)) {
    const address = config[name as keyof typeof upstreamAddressVars];
    if (address !== undefined) out[typeName] = address;
  }
  return out;
}
