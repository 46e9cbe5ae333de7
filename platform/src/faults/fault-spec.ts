import { Code } from "@connectrpc/connect";

/**
 * A fault to inject, as written in the `x-fault` metadata or a FAULTS_EVENTS entry:
 * `delay=200ms;code=UNAVAILABLE;rate=0.3` — with probability `rate` (default 1), wait `delay`,
 * then fail with `code` (when given).
 */
export interface FaultSpec {
  readonly delayMs: number;
  readonly code: Code | undefined;
  readonly rate: number;
}

/** The metadata key a caller asks for a fault with. */
export const faultMetadataKey = "x-fault";

const codesByName = new Map<string, Code>(
  Object.entries(Code)
    .filter((e): e is [string, Code] => typeof e[1] === "number")
    .map(([name, code]) => [name.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase(), code]),
);

/** Parses a fault spec; throws an Error saying what is wrong. */
export function parseFault(text: string): FaultSpec {
  let delayMs = 0;
  let code: Code | undefined;
  let rate = 1;
  for (const part of text.split(";")) {
    const item = part.trim();
    if (item === "") continue;
    const eq = item.indexOf("=");
    const key = eq < 0 ? item : item.slice(0, eq).trim().toLowerCase();
    const value = eq < 0 ? "" : item.slice(eq + 1).trim();
    switch (key) {
      case "delay": {
        const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(value);
        if (!m) throw new Error(`fault delay must look like 200ms or 1.5s, got "${value}"`);
        delayMs = Number(m[1]) * (m[2] === "s" ? 1000 : 1);
        break;
      }
      case "code": {
        const c = codesByName.get(value.toUpperCase()) ?? (/^\d+$/.test(value) ? Number(value) : undefined);
        if (c === undefined || c < 1 || c > 16) throw new Error(`fault code must be a gRPC status name other than OK, got "${value}"`);
        code = c as Code;
        break;
      }
      case "rate": {
        const r = Number(value);
        if (value === "" || !Number.isFinite(r) || r < 0 || r > 1) throw new Error(`fault rate must be from 0 to 1, got "${value}"`);
        rate = r;
        break;
      }
      default:
        throw new Error(`unknown fault setting "${key}" (delay, code, rate)`);
    }
  }
  return { delayMs, code, rate };
}

/** Event type (full message name, or "*" for every type) → the fault its deliveries get. */
export type EventFaults = ReadonlyMap<string, FaultSpec>;

/** A spec written back as `parseFault` reads it: "delay=200ms;code=UNAVAILABLE;rate=0.3". */
export function formatFault(spec: FaultSpec): string {
  const parts: string[] = [];
  if (spec.delayMs > 0) parts.push(`delay=${spec.delayMs}ms`);
  if (spec.code !== undefined) parts.push(`code=${Code[spec.code].replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase()}`);
  if (spec.rate < 1) parts.push(`rate=${spec.rate}`);
  return parts.join(";");
}
