import { randomUUID } from "node:crypto";
import type { DescService } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { type CallOptions, closeClient, createClient, type Logger, type MeshTls, workloadOfService } from "@shopmesh/platform";
import { Health, HealthCheckResponse_ServingStatus } from "@shopmesh/proto/grpc/health/v1/health_pb.js";
import type { HeaderReader } from "../http/node-http.js";

/** A call of one upstream method in the platform client's untyped form. */
export type UpstreamMethod = (requestOrRequests: unknown, opts?: CallOptions) => Promise<unknown> | AsyncIterable<unknown>;

/** A service the edge forwards to, with its client. */
export interface Upstream {
  readonly service: DescService;
  readonly address: string;
  /** The platform client's methods by local name. */
  method(localName: string): UpstreamMethod;
  /** grpc.health.v1 Check of this service; resolves to the status name or "UNREACHABLE". */
  health(timeoutMs: number): Promise<string>;
  close(): void;
}

export interface UpstreamOptions {
  readonly logger: Logger;
  /** Deadline of unary calls that carry none; the edge always passes one. */
  readonly defaultTimeoutMs: number;
  /** Mutual TLS as the edge workload; the upstream must present the certificate of its service's workload. */
  readonly tls?: MeshTls;
}

export function connectUpstream(service: DescService, address: string, opts: UpstreamOptions): Upstream {
  const serverWorkload = workloadOfService(service.typeName);
  const common = { logger: opts.logger, defaultTimeoutMs: opts.defaultTimeoutMs, tls: opts.tls, serverWorkload };
  const client = createClient(service, address, common) as unknown as Record<string, UpstreamMethod>;
  // Same target, credentials and channel options as the calls: grpc-js shares the subchannel, so
  // health checks ride the connection the calls use.
  const health = createClient(Health, address, common);
  return {
    service,
    address,
    method(localName) {
      const m = client[localName];
      if (typeof m !== "function") throw new Error(`${service.typeName} has no method ${localName}`);
      return m;
    },
    async health(timeoutMs) {
      try {
        const res = await health.check({ service: service.typeName }, { timeoutMs });
        return HealthCheckResponse_ServingStatus[res.status] ?? "UNKNOWN";
      } catch (err) {
        return err instanceof ConnectError && err.code === Code.NotFound ? "SERVICE_UNKNOWN" : "UNREACHABLE";
      }
    },
    close() {
      closeClient(client);
      closeClient(health);
    },
  };
}

/**
 * Request headers the services need, forwarded as gRPC metadata. The caller's trace context is
 * not among them: the edge's span continues it and the client sends the context of its own span.
 */
export const defaultForwardedHeaders: readonly string[] = ["authorization", "idempotency-key"];

const requestIdPattern = /^[\w\-.:/+=]{1,128}$/;

/** The caller's `x-request-id` when it is sane, otherwise a fresh one. */
export function requestIdOf(headers: HeaderReader): string {
  const given = headers.get("x-request-id");
  return given !== null && requestIdPattern.test(given) ? given : randomUUID();
}

/** Metadata of an upstream call: the forwarded headers present on the request plus the request id. */
export function forwardedMetadata(headers: HeaderReader, names: readonly string[], requestId: string): Record<string, string> {
  const md: Record<string, string> = { "x-request-id": requestId };
  for (const name of names) {
    const v = headers.get(name);
    if (v !== null && v !== "") md[name] = v;
  }
  return md;
}

/** Resolves a service type name to its descriptor from the contracts package. */
export async function loadService(typeName: string): Promise<DescService> {
  // Convention of the contracts: shop.<domain>.v1.<Name>Service lives in shop/<domain>/v1/<domain>_pb.
  const m = /^shop\.([a-z_]+)\.(v\d+)\.[A-Z]\w*$/.exec(typeName);
  if (!m) throw new Error(`cannot locate the contract of ${typeName}: expected shop.<domain>.<version>.<Service>`);
  const specifier = `@shopmesh/proto/shop/${m[1]}/${m[2]}/${m[1]}_pb.js`;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(specifier)) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`cannot load the contract of ${typeName} from ${specifier}`, { cause: err });
  }
  for (const value of Object.values(mod)) {
    if (isService(value) && value.typeName === typeName) return value;
  }
  throw new Error(`${specifier} defines no service ${typeName}`);
}

function isService(v: unknown): v is DescService {
  return typeof v === "object" && v !== null && (v as { kind?: unknown }).kind === "service";
}
