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

/** Whether a fault of `spec` happens this time: always at rate 1, else as the dice say. */
export function faultStrikes(spec: FaultSpec, random: () => number = Math.random): boolean {
  return spec.rate >= 1 || random() < spec.rate;
}

/** The metadata key a caller asks for a fault with. */
export const faultMetadataKey = "x-fault";

const codesByName = new Map<string, Code>(
  Object.entries(Code)
    .filter((e): e is [string, Code] => typeof e[1] === "number")
    .map(([name, code]) => [name.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase(), code]),
);

/**
 * A fault of the payment provider's answers to charges (shop.ops.v1 Faults.provider): a
 * {@link FaultSpec} that may also decline the card, e.g. `decline;rate=0.2`.
 */
export interface ProviderFaultSpec extends FaultSpec {
  readonly decline: boolean;
}

/** Reads a spec; `decline` is a setting only where `declines` says so. Throws an Error saying what is wrong. */
function readSpec(text: string, declines: boolean): ProviderFaultSpec {
  let delayMs = 0;
  let code: Code | undefined;
  let rate = 1;
  let decline = false;
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
      case "decline":
        if (declines) {
          if (eq >= 0) throw new Error(`fault setting decline takes no value, got "${item}"`);
          decline = true;
          break;
        }
        throw new Error(`unknown fault setting "${key}" (delay, code, rate)`);
      default:
        throw new Error(`unknown fault setting "${key}" (${declines ? "decline, " : ""}delay, code, rate)`);
    }
  }
  if (decline && code !== undefined) throw new Error("a provider fault either declines or fails with a code, not both");
  return { delayMs, code, rate, decline };
}

/** Parses a fault spec; throws an Error saying what is wrong. */
export function parseFault(text: string): FaultSpec {
  const { delayMs, code, rate } = readSpec(text, false);
  return { delayMs, code, rate };
}

/** Parses a payment provider's fault: a fault spec that may also say `decline`. Throws an Error saying what is wrong. */
export function parseProviderFault(text: string): ProviderFaultSpec {
  return readSpec(text, true);
}

/** Event type (full message name, or "*" for every type) → the fault its deliveries get. */
export type EventFaults = ReadonlyMap<string, FaultSpec>;

/** A spec written back as `parseFault` (or `parseProviderFault`) reads it: "delay=200ms;code=UNAVAILABLE;rate=0.3". */
export function formatFault(spec: FaultSpec | ProviderFaultSpec): string {
  const parts: string[] = [];
  if ("decline" in spec && spec.decline) parts.push("decline");
  if (spec.delayMs > 0) parts.push(`delay=${spec.delayMs}ms`);
  if (spec.code !== undefined) parts.push(`code=${Code[spec.code].replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase()}`);
  if (spec.rate < 1) parts.push(`rate=${spec.rate}`);
  return parts.join(";");
}
