import { readFileSync } from "node:fs";
import type { StopOutcome } from "./children.js";
import type { MemorySample } from "./proc-status.js";

/** A running system under test: something that answers HTTP on `url`. */
export interface RunningSystem {
  readonly name: string;
  /** Base URL without a trailing slash, e.g. http://127.0.0.1:41234 */
  readonly url: string;
  readonly pid: number;
  /** Where the child's stdout/stderr go. */
  readonly logPath: string;
  /** gRPC servers it runs, name → host:port (the baseline's `echo`; the mesh's services). */
  readonly grpc: Readonly<Record<string, string>>;
  /** Prometheus metrics of the process, when it serves them. */
  readonly metricsUrl?: string;
  /** A superuser's URL of the PostgreSQL server of its databases, when the bench can reach it (the embedded mesh's). */
  readonly postgresUrl?: string;
  /** The folder of the mesh's certificates when its gRPC speaks mutual TLS. */
  readonly tlsDir?: string;
  memory(): MemorySample;
  stop(): Promise<StopOutcome>;
}

export class HarnessError extends Error {
  override name = "HarnessError";
}

/** The last `lines` lines of a child's log, for error messages. */
export function logTail(path: string, lines = 30): string {
  try {
    const text = readFileSync(path, "utf8").trimEnd();
    const all = text.split("\n");
    return all.slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}
