import { ConfigError } from "./bench-config.js";
import { SCENARIOS, type Scenario } from "./scenarios.js";

/** What a run measures. */
export interface Selection {
  readonly scenarios: readonly Scenario[];
  readonly startup: boolean;
  readonly webBundle: boolean;
}

/** BENCH_ONLY names a scenario, a system's scenarios, `telemetry`, `startup` or `web-bundle`. */
export function select(only: ReadonlySet<string> | undefined): Selection {
  if (!only) return { scenarios: SCENARIOS, startup: true, webBundle: true };
  const known = new Set<string>([
    "startup",
    "web-bundle",
    "telemetry",
    "scale",
    ...new Set(SCENARIOS.map((s) => s.system)),
    ...SCENARIOS.map((s) => s.name),
  ]);
  const unknown = [...only].filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new ConfigError(`BENCH_ONLY: unknown name(s) ${unknown.join(", ")}; known: ${[...known].join(", ")}`);
  }
  const names = new Set(
    SCENARIOS.filter(
      (s) =>
        only.has(s.name) ||
        only.has(s.system) ||
        (only.has("telemetry") && s.system === "mesh-telemetry") ||
        (only.has("scale") && s.system === "mesh-scale"),
    ).map((s) => s.name),
  );
  // A figure comes with its baseline from the same run.
  for (let before = 0; before !== names.size; ) {
    before = names.size;
    for (const s of SCENARIOS) {
      if (names.has(s.name) && (s.kind === "load" || s.kind === "checkout")) {
        names.add(s.baseline ?? (s.kind === "load" ? "baseline" : s.name));
      }
    }
  }
  return {
    scenarios: SCENARIOS.filter((s) => names.has(s.name)),
    startup: only.has("startup") || only.has("mesh"),
    webBundle: only.has("web-bundle"),
  };
}
