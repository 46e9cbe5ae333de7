import { pino, type Logger, type LoggerOptions } from "pino";
import { logContext } from "./telemetry/log-context.js";

export type { Logger };

/** Secrets and personal data: fields of these names are written as "[redacted]", at the top level or one level down. */
const redactedFields = [
  "password",
  "card_number",
  "cardNumber",
  "token",
  "access_token",
  "accessToken",
  "refresh_token",
  "refreshToken",
  "authorization",
  "email",
];

/** Paths never written to logs. */
export const redactPaths = [...redactedFields.flatMap((f) => [f, `*.${f}`]), "*.headers.authorization", "*.metadata.authorization"];

/** One root logger per process; services take children of it (`logger.child({ service })`). */
export function createLogger(opts: { level?: string; name?: string; destination?: pino.DestinationStream } = {}): Logger {
  const options: LoggerOptions = {
    level: opts.level ?? "info",
    base: opts.name ? { service: opts.name } : {},
    redact: { paths: redactPaths, censor: "[redacted]" },
    // trace_id, span_id and the user or order the line is about, from where it is written.
    mixin: logContext,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/** A duration for a log line: milliseconds with two decimals. */
export function roundMs(ms: number): number {
  return Math.round(ms * 100) / 100;
}
