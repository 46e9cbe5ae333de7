import { pino, type Logger, type LoggerOptions } from "pino";

export type { Logger };

/** Paths never written to logs. */
export const redactPaths = [
  "password",
  "*.password",
  "card_number",
  "*.card_number",
  "cardNumber",
  "*.cardNumber",
  "access_token",
  "*.access_token",
  "refresh_token",
  "*.refresh_token",
  "authorization",
  "*.authorization",
  "headers.authorization",
];

/** One root logger per process; services take children of it (`logger.child({ service })`). */
export function createLogger(opts: { level?: string; name?: string; destination?: pino.DestinationStream } = {}): Logger {
  const options: LoggerOptions = {
    level: opts.level ?? "info",
    base: opts.name ? { service: opts.name } : {},
    redact: { paths: redactPaths, censor: "[redacted]" },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/** A duration for a log line: milliseconds with two decimals. */
export function roundMs(ms: number): number {
  return Math.round(ms * 100) / 100;
}
