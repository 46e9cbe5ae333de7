import type { Faults } from "@shopmesh/proto/shop/ops/v1/ops_pb.js";

/**
 * A fault spec ("delay=200ms;code=UNAVAILABLE;rate=0.3", "decline;rate=0.2") as its parts, in
 * order; a part without "=" (e.g. "decline") has the value "".
 */
export function specParts(spec: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of spec.split(";")) {
    const p = part.trim();
    if (p === "") continue;
    const eq = p.indexOf("=");
    if (eq < 0) out.set(p, "");
    else out.set(p.slice(0, eq).trim(), p.slice(eq + 1).trim());
  }
  return out;
}

/** `spec` with `changes` applied (undefined removes a part); a spec left with only its rate is none (""). */
export function withParts(spec: string, changes: Record<string, string | undefined>): string {
  const parts = specParts(spec);
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) parts.delete(k);
    else parts.set(k, v);
  }
  // The rate goes last, as people write it.
  const rate = parts.get("rate");
  parts.delete("rate");
  if (parts.size === 0) return "";
  if (rate !== undefined) parts.set("rate", rate);
  return [...parts].map(([k, v]) => (v === "" ? k : `${k}=${v}`)).join(";");
}

/** A copy of the faults (the events map copied too), to change one part of. */
export function copyFaults(f: Faults | undefined): { calls: string; events: Record<string, string>; provider: string; broker: string } {
  return { calls: f?.calls ?? "", events: { ...(f?.events ?? {}) }, provider: f?.provider ?? "", broker: f?.broker ?? "" };
}
