import { createServer, type Server } from "node:http";
import { Session } from "node:inspector/promises";
import type { Logger } from "../logger.js";
import { collectProcessMetrics, metricsRegistry, processMetricsText } from "./metrics.js";
import { readinessReport } from "./readiness.js";

export interface AdminServerOptions {
  /** Interface to listen on. */
  readonly host: string;
  /** Port to listen on; 0 picks a free one. */
  readonly port: number;
  readonly logger: Logger;
  /** Serve `POST /gc` (ADMIN_GC_ENABLED). */
  readonly gcEnabled?: boolean;
}

export interface AdminServer {
  /** Listens; resolves to the bound port. */
  start(): Promise<number>;
  stop(): Promise<void>;
  readonly port: number;
  /** e.g. "http://127.0.0.1:9464". */
  readonly url: string;
}

/**
 * The process's admin HTTP port, for operators and orchestrators rather than shoppers:
 * `GET /metrics` (Prometheus text format: every hosted service's series and the Node process
 * metrics), `GET /healthz` (the process is alive: always 200) and `GET /readyz` (200 when every
 * dependency registered with `registerReadiness` answers, 503 otherwise, with the list). With
 * `gcEnabled`, `POST /gc` runs a full garbage collection (through the inspector protocol, no
 * `--expose-gc` needed) and answers the resident set and V8 heap in use before and after, in
 * bytes: what is left is what the process holds, not garbage V8 has not got round to.
 */
export function createAdminServer(opts: AdminServerOptions): AdminServer {
  const log = opts.logger;
  collectProcessMetrics();
  let port = 0;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
      res.end(req.method === "HEAD" ? undefined : body);
    };
    if (opts.gcEnabled && path === "/gc" && req.method === "POST") {
      collectGarbage().then(
        (memory) => send(200, "application/json", JSON.stringify(memory)),
        (err: unknown) => {
          log.warn({ err }, "garbage collection failed");
          send(500, "application/json", '{"status":"garbage collection failed"}');
        },
      );
      return;
    }
    if ((req.method !== "GET" && req.method !== "HEAD") || (opts.gcEnabled && path === "/gc")) {
      send(405, "application/json", '{"status":"method not allowed"}');
      return;
    }
    switch (path) {
      case "/metrics":
        processMetricsText().then(
          (text) => send(200, metricsRegistry.contentType, text),
          (err: unknown) => {
            log.warn({ err }, "collecting metrics failed");
            send(500, "text/plain", "collecting metrics failed\n");
          },
        );
        return;
      case "/healthz":
        send(200, "application/json", '{"status":"ok"}');
        return;
      case "/readyz": {
        const r = readinessReport();
        send(r.ready ? 200 : 503, "application/json", JSON.stringify({ status: r.ready ? "ok" : "unavailable", checks: r.checks }));
        return;
      }
      default:
        send(404, "application/json", '{"status":"not found"}');
    }
  });
  server.keepAliveTimeout = 65_000;

  return {
    get port() {
      return port;
    },
    get url() {
      const host = opts.host === "0.0.0.0" || opts.host === "::" ? "127.0.0.1" : opts.host;
      return `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
    },
    async start() {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(opts.port, opts.host, () => {
          server.off("error", reject);
          resolve();
        });
      });
      const address = server.address();
      port = typeof address === "object" && address ? address.port : opts.port;
      log.info({ port }, "admin server listening (/metrics, /healthz, /readyz)");
      return port;
    },
    async stop() {
      if (!server.listening) return;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
    },
  };
}

/** A full collection; the resident set and V8 heap in use before and after, bytes. */
async function collectGarbage() {
  const memory = () => {
    const m = process.memoryUsage();
    return { rss: m.rss, heapUsed: m.heapUsed };
  };
  const before = memory();
  const session = new Session();
  session.connect();
  try {
    await session.post("HeapProfiler.collectGarbage");
  } finally {
    session.disconnect();
  }
  return { before, after: memory() };
}
