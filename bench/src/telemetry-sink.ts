// What the telemetry scenarios point the mesh at: an OTLP/HTTP endpoint that takes every span
// export (and answers as a collector does, with an empty ExportTraceServiceResponse), and a
// scraper that reads the mesh's Prometheus metrics at a fixed interval, as Prometheus would.
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { httpRequest } from "./http-util.js";

export interface TelemetryFigures {
  /** OTLP export requests received and their bytes (protobuf). */
  readonly spanExports: number;
  readonly spanExportBytes: number;
  /** GET /metrics scrapes that answered 200, failed ones, and the bytes of the last. */
  readonly scrapes: number;
  readonly scrapeFailures: number;
  readonly scrapeIntervalMs: number;
  readonly lastScrapeBytes: number;
}

export interface TelemetrySink {
  /** For OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly endpoint: string;
  /** Starts scraping `metricsUrl` every `intervalMs`. */
  scrape(metricsUrl: string, intervalMs: number): void;
  figures(): TelemetryFigures;
  close(): Promise<void>;
}

export async function startTelemetrySink(): Promise<TelemetrySink> {
  let spanExports = 0;
  let spanExportBytes = 0;
  let scrapes = 0;
  let scrapeFailures = 0;
  let scrapeIntervalMs = 0;
  let lastScrapeBytes = 0;
  let timer: NodeJS.Timeout | undefined;

  const server = http.createServer((req, res) => {
    req.on("data", (chunk: Buffer) => {
      spanExportBytes += chunk.length;
    });
    req.on("end", () => {
      if (req.method === "POST" && req.url === "/v1/traces") spanExports++;
      res.writeHead(200, { "content-type": "application/x-protobuf", "content-length": 0 });
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    scrape(metricsUrl, intervalMs) {
      scrapeIntervalMs = intervalMs;
      let busy = false;
      timer = setInterval(() => {
        if (busy) return;
        busy = true;
        httpRequest(metricsUrl, { timeoutMs: intervalMs * 5 })
          .then(
            (r) => {
              if (r.status === 200) {
                scrapes++;
                lastScrapeBytes = r.body.length;
              } else scrapeFailures++;
            },
            () => {
              scrapeFailures++;
            },
          )
          .finally(() => {
            busy = false;
          });
      }, intervalMs);
    },
    figures: () => ({ spanExports, spanExportBytes, scrapes, scrapeFailures, scrapeIntervalMs, lastScrapeBytes }),
    async close() {
      clearInterval(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
