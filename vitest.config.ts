import { defineConfig } from "vitest/config";

// Every test file belongs to exactly one project, and CI runs one job per project with the
// infrastructure it needs (.github/workflows/ci.yml): `unit` on Postgres, `distributed` with the
// Kafka-protocol test broker as well, `browser` with Chromium. `npm test` runs all three.
// .ci/check-test-split.mjs fails when a test file is in no project, in two, or in a project no
// CI job runs.
const testFiles = ["{platform,services/*,edge,launcher,tests,bench}/src/**/*.test.ts", "tests/**/*.test.ts", "edge/web/test/**/*.test.ts"];
const ignored = ["**/node_modules/**", "**/dist/**"];
/** Suites that start Kafka-protocol brokers (scripts/kafka-test-broker.py) and the distributed mesh. */
const distributedFiles = ["launcher/src/**/distributed*.test.ts", "launcher/src/**/shutdown.test.ts", "platform/src/**/kafka-bus.test.ts"];
/** Suites that drive Chromium. */
const browserFiles = ["edge/web/test/**/*.test.ts"];

const shared = {
  testTimeout: 30_000,
  hookTimeout: 60_000,
  allowOnly: !process.env.CI,
  pool: "forks",
  // Meshes started by the tests take their settings from this environment: their loopback
  // traffic opts out of the edge's rate limits, which no address escapes by default.
  env: { EDGE_RATE_LIMIT_EXEMPT: "127.0.0.1,::1" },
} as const;

export default defineConfig({
  test: {
    ...shared,
    // A Postgres server for the run when DATABASE_URL names none, and the test mesh's
    // certificates when SHOPMESH_TLS_DIR names none. Set here, on the root, they run once for the
    // whole run whichever projects run.
    globalSetup: ["platform/src/testing/postgres-setup.ts", "platform/src/testing/tls-setup.ts"],
    projects: [
      { test: { ...shared, name: "unit", include: testFiles, exclude: [...ignored, ...distributedFiles, ...browserFiles] } },
      { test: { ...shared, name: "distributed", include: distributedFiles, exclude: ignored } },
      { test: { ...shared, name: "browser", include: browserFiles, exclude: ignored } },
    ],
  },
});
