import type { EdgeSettings } from "../edge.js";

/**
 * Settings for an edge under test: loopback, an ephemeral port, small limits; `overrides` win.
 * The tests' own loopback traffic opts out of the rate limits (protection.test.ts opts back in).
 */
export function testEdgeSettings(overrides: Partial<EdgeSettings> = {}): EdgeSettings {
  return {
    EDGE_PORT: 0,
    EDGE_HOST: "127.0.0.1",
    CORS_ORIGINS: ["*"],
    EDGE_MAX_BODY_BYTES: 1024,
    EDGE_REQUEST_TIMEOUT_MS: 5_000,
    EDGE_HEADERS_TIMEOUT_MS: 10_000,
    EDGE_RATE_LIMIT_EXEMPT: ["127.0.0.1", "::1"],
    ...overrides,
  };
}
