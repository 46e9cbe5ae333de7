import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { SpanKind } from "@opentelemetry/api";
import { AlwaysOnSampler, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-node";
import { setupTracing } from "../telemetry/tracing.js";

export { SpanKind };

/** A finished span as a test reads it, wherever it was recorded (this process or another one). */
export interface CapturedSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** Absent on a trace's root span. */
  readonly parentSpanId: string | undefined;
  readonly name: string;
  readonly kind: SpanKind;
  /** The service.name of the span's resource. */
  readonly service: string;
  readonly attributes: Readonly<Record<string, unknown>>;
}

/** The spans recorded so far, kept in memory. */
export interface SpanCapture {
  /** Every span ended (or received) so far. */
  spans(): CapturedSpan[];
  /** Forgets them. */
  reset(): void;
}

/**
 * Sets this process's tracing up to record every span into memory (call it before anything
 * makes a span: tracing is set up once per process).
 */
export function captureSpans(): SpanCapture {
  const exporter = new InMemorySpanExporter();
  if (!setupTracing({}, { spanProcessors: [new SimpleSpanProcessor(exporter)], sampler: new AlwaysOnSampler() })) {
    throw new Error("captureSpans: tracing was already set up in this process; capture before anything makes a span");
  }
  return {
    spans: () => exporter.getFinishedSpans().map(fromReadableSpan),
    reset: () => exporter.reset(),
  };
}

function fromReadableSpan(s: ReadableSpan): CapturedSpan {
  return {
    traceId: s.spanContext().traceId,
    spanId: s.spanContext().spanId,
    parentSpanId: s.parentSpanContext?.spanId,
    name: s.name,
    kind: s.kind,
    service: String(s.resource.attributes["service.name"]),
    attributes: s.attributes,
  };
}

/** An OTLP/HTTP trace receiver in this process, keeping what other processes export to it in memory. */
export interface OtlpSpanReceiver extends SpanCapture {
  /** What the exporting processes take as OTEL_EXPORTER_OTLP_ENDPOINT, e.g. http://127.0.0.1:4318. */
  readonly endpoint: string;
  close(): Promise<void>;
}

/**
 * Starts an OTLP/HTTP receiver (POST /v1/traces, protobuf, as @opentelemetry/exporter-trace-otlp-proto
 * sends it) on a free loopback port: the in-memory span capture of processes this one starts.
 */
export async function receiveOtlpSpans(): Promise<OtlpSpanReceiver> {
  let received: CapturedSpan[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.method !== "POST" || req.url !== "/v1/traces") {
        res.writeHead(404).end();
        return;
      }
      try {
        const body = Buffer.concat(chunks);
        received.push(...decodeExportTraceRequest(req.headers["content-encoding"] === "gzip" ? gunzipSync(body) : body));
        // An empty ExportTraceServiceResponse: everything accepted.
        res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
      } catch (err) {
        res.writeHead(400, { "content-type": "text/plain" }).end(String(err));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans: () => [...received],
    reset: () => {
      received = [];
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Calls `field` for each field of the message in `bytes`; `field` reads the value or returns false to have it skipped. */
function eachField(bytes: Uint8Array, field: (no: number, reader: BinaryReader) => boolean): void {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [no, wireType] = reader.tag();
    if (!field(no, reader)) reader.skip(wireType, no);
  }
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest → its spans. */
function decodeExportTraceRequest(bytes: Uint8Array): CapturedSpan[] {
  const spans: CapturedSpan[] = [];
  eachField(bytes, (no, r) => {
    if (no !== 1) return false;
    // ResourceSpans: 1 resource, 2 scope_spans.
    let service = "";
    const raw: Uint8Array[] = [];
    eachField(r.bytes(), (no, r) => {
      if (no === 1) {
        // Resource: 1 attributes.
        eachField(r.bytes(), (no, r) => {
          if (no !== 1) return false;
          const [key, value] = decodeKeyValue(r.bytes());
          if (key === "service.name") service = String(value);
          return true;
        });
        return true;
      }
      if (no === 2) {
        // ScopeSpans: 2 spans.
        eachField(r.bytes(), (no, r) => {
          if (no !== 2) return false;
          raw.push(r.bytes());
          return true;
        });
        return true;
      }
      return false;
    });
    for (const s of raw) spans.push(decodeSpan(s, service));
    return true;
  });
  return spans;
}

/** opentelemetry.proto.trace.v1.Span (the fields a test reads). */
function decodeSpan(bytes: Uint8Array, service: string): CapturedSpan {
  let traceId = "";
  let spanId = "";
  let parentSpanId: string | undefined;
  let name = "";
  let kind = SpanKind.INTERNAL;
  const attributes: Record<string, unknown> = {};
  eachField(bytes, (no, r) => {
    switch (no) {
      case 1:
        traceId = hex(r.bytes());
        return true;
      case 2:
        spanId = hex(r.bytes());
        return true;
      case 4: {
        const parent = r.bytes();
        parentSpanId = parent.length > 0 ? hex(parent) : undefined;
        return true;
      }
      case 5:
        name = r.string();
        return true;
      case 6:
        // OTLP's SpanKind counts from SPAN_KIND_UNSPECIFIED = 0; the API's from INTERNAL = 0.
        kind = Math.max(0, r.int32() - 1) as SpanKind;
        return true;
      case 9: {
        const [key, value] = decodeKeyValue(r.bytes());
        attributes[key] = value;
        return true;
      }
      default:
        return false;
    }
  });
  return { traceId, spanId, parentSpanId, name, kind, service, attributes };
}

/** opentelemetry.proto.common.v1.KeyValue with a scalar AnyValue. */
function decodeKeyValue(bytes: Uint8Array): [string, unknown] {
  let key = "";
  let value: unknown;
  eachField(bytes, (no, r) => {
    if (no === 1) key = r.string();
    else if (no === 2) {
      eachField(r.bytes(), (no, r) => {
        if (no === 1) value = r.string();
        else if (no === 2) value = r.bool();
        else if (no === 3) value = Number(r.int64());
        else if (no === 4) value = r.double();
        else return false;
        return true;
      });
    } else return false;
    return true;
  });
  return [key, value];
}
