import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

/**
 * The storefront's build: edge/web/dist, served by the edge (edge/src/web/web-app.ts). Everything is
 * bundled from npm packages and this folder; the page loads nothing from another origin.
 */
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  // Preact's automatic JSX runtime, without a framework plugin.
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // No data: URLs in the bundle: every asset is a file under the CSP's 'self'.
    assetsInlineLimit: 0,
    // The first page's size is reported by measureWebBundle (edge/src/web/web-app.ts).
    reportCompressedSize: false,
  },
  server: {
    // `npm run dev -w @shopmesh/web` next to `npm start`: API and RPC calls go to the edge.
    proxy: { "^/(api|shop\\.[a-z]+\\.v1\\.[A-Za-z]+Service)/": "http://localhost:8080" },
  },
});
