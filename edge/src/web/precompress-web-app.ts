import { defaultWebAppDir, precompressWebApp } from "./web-app.js";

/** `node edge/dist/web/precompress-web-app.js [dir]`: the last step of the storefront's build. */
const dir = process.argv[2] ?? defaultWebAppDir;
const written = precompressWebApp(dir);
console.log(`precompressed ${written} file(s) of ${dir} (gzip and brotli beside each)`);
