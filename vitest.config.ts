import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["{platform,services/*,edge,launcher,tests,bench}/src/**/*.test.ts", "tests/**/*.test.ts", "edge/web/test/**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    allowOnly: !process.env.CI,
    pool: "forks",
    // A Postgres server for the run when DATABASE_URL names none, and the test mesh's
    // certificates when SHOPMESH_TLS_DIR names none.
    globalSetup: ["platform/src/testing/postgres-setup.ts", "platform/src/testing/tls-setup.ts"],
  },
});
