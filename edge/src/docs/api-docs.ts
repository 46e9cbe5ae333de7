import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { NodeRequest, NodeResponse } from "../http/node-http.js";
import { type StaticFile, sendStaticFile, staticFile } from "../web/web-app.js";

/**
 * The API documentation the edge serves, generated from the contracts by `npm run docs:api`
 * (docs/api/): the OpenAPI document at GET /api/openapi.json, the REST reference at /docs/api
 * (Swagger UI, from the swagger-ui-dist package: nothing comes from a CDN), the /docs index and
 * one page per service at /docs/rpc/<service>. Every page is served under the storefront's
 * Content-Security-Policy.
 */

/** Where `npm run docs:api` writes what the edge serves: docs/api at the repository's root. */
export const defaultApiDocsDir = fileURLToPath(new URL("../../../docs/api/", import.meta.url));

/** Path of the OpenAPI document on the edge. */
export const openApiPath = "/api/openapi.json";

export interface ApiDocs {
  /**
   * The file for a GET or HEAD of `path` with the route to log it under, or undefined when the
   * path is not part of the documentation.
   */
  match(method: string | undefined, path: string): { readonly route: string; send(req: NodeRequest, res: NodeResponse): void } | undefined;
}

/**
 * Swagger UI's page. Its scripts are files (the policy allows no inline script); init.js declares
 * the page's Trusted Types default policy, which Swagger UI needs to render Markdown (it sanitizes
 * it with DOMPurify first), and turns off the online validator badge (another origin).
 */
const referencePage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>REST API · shopmesh docs</title>
<link rel="stylesheet" href="/docs/api/swagger-ui.css">
<link rel="stylesheet" href="/docs/docs.css">
<link rel="icon" href="data:,">
</head>
<body>
<header><nav aria-label="Documentation"><a href="/docs">shopmesh docs</a> · <a href="/docs/api">REST API</a> · <a href="/">Shop</a></nav></header>
<main id="swagger-ui"></main>
<script src="/docs/api/swagger-ui-bundle.js"></script>
<script src="/docs/api/init.js"></script>
</body>
</html>
`;

const referenceInit = `"use strict";
if (window.trustedTypes && !window.trustedTypes.defaultPolicy) {
  window.trustedTypes.createPolicy("default", { createHTML: (html) => html });
}
window.ui = SwaggerUIBundle({
  url: "${openApiPath}",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  tryItOutEnabled: true,
  persistAuthorization: false,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
`;

const docsCss = `body { margin: 0; font: 16px/1.5 system-ui, sans-serif; color: #1f2328; background: #fff; }
header { padding: 0.75rem 1.25rem; background: #1f2328; }
header a { color: #fff; }
main { max-width: 72rem; margin: 0 auto; padding: 1rem 1.25rem 3rem; }
main#swagger-ui { max-width: none; padding: 0; }
a { color: #0a58ca; }
code { font: 0.9em ui-monospace, monospace; background: #f3f4f6; padding: 0.1em 0.3em; border-radius: 3px; }
table { border-collapse: collapse; width: 100%; margin: 0.5rem 0 1.5rem; }
th, td { text-align: left; vertical-align: top; border-bottom: 1px solid #d0d7de; padding: 0.35rem 0.5rem; }
section { margin-top: 1.5rem; }
`;

/**
 * Loads the documentation in `dir` into memory. Returns undefined when it holds no
 * openapi.json (not generated).
 */
export function loadApiDocs(dir: string = defaultApiDocsDir): ApiDocs | undefined {
  const specPath = join(dir, "openapi.json");
  if (!existsSync(specPath)) return undefined;
  // Read and compressed on first use, not while the edge starts (Swagger UI's bundle is 1.5 MB).
  const files = new Map<string, () => StaticFile>();
  const add = (path: string, name: string, content: () => Buffer) => {
    let file: StaticFile | undefined;
    files.set(path, () => {
      file ??= staticFile(name, content(), "no-cache", true);
      return file;
    });
  };
  add(openApiPath, "openapi.json", () => readFileSync(specPath));
  if (existsSync(join(dir, "index.html"))) add("/docs", "index.html", () => readFileSync(join(dir, "index.html")));
  const rpcDir = join(dir, "rpc");
  if (existsSync(rpcDir)) {
    for (const name of readdirSync(rpcDir).filter((n) => n.endsWith(".html"))) {
      add(`/docs/rpc/${name.slice(0, -".html".length)}`, name, () => readFileSync(join(rpcDir, name)));
    }
  }
  add("/docs/docs.css", "docs.css", () => Buffer.from(docsCss));
  const swagger = swaggerUiDir();
  if (swagger) {
    add("/docs/api", "index.html", () => Buffer.from(referencePage));
    add("/docs/api/init.js", "init.js", () => Buffer.from(referenceInit));
    for (const name of ["swagger-ui-bundle.js", "swagger-ui.css"]) {
      add(`/docs/api/${name}`, name, () => readFileSync(join(swagger, name)));
    }
  }
  return {
    match(method, path) {
      if (method !== "GET" && method !== "HEAD") return undefined;
      const key = path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
      const file = files.get(key);
      if (!file) return undefined;
      const route = key.startsWith("/docs/rpc/") ? "/docs/rpc/{service}" : key;
      return { route, send: (req, res) => sendStaticFile(req, res, file()) };
    },
  };
}

/** The directory of the swagger-ui-dist package, or undefined when it is not installed. */
function swaggerUiDir(): string | undefined {
  try {
    return dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
  } catch {
    return undefined;
  }
}
