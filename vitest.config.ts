import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["{platform,services/*,edge,launcher,tests,bench}/src/**/*.test.ts", "tests/**/*.test.ts", "edge/web/test/**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    allowOnly: !process.env.CI,
    pool: "forks",
    // A Postgres server for the run when DATABASE_URL names none.
    globalSetup: ["platform/src/testing/postgres-setup.ts"],
    // Meshes started by the tests take their settings from this environment: their loopback
    // traffic opts out of the edge's rate limits, which no address escapes by default.
    env: { EDGE_RATE_LIMIT_EXEMPT: "127.0.0.1,::1" },
  },
});
