import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from "node:fs/promises";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadWebApp, measureWebBundle, precompressWebApp, webAppContentSecurityPolicy, type WebApp } from "./web-app.js";

const index =
  '<!doctype html><html><head><script type="module" crossorigin src="/assets/index-abc.js"></script><link rel="modulepreload" crossorigin href="/assets/vendor-def.js"><link rel="stylesheet" href="/assets/index-abc.css"></head><body><div id="app"></div></body></html>';
const entry = `console.log(${JSON.stringify("x".repeat(4000))});`;

describe("web app files", () => {
  let dir: string;
  let server: http.Server;
  let base: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "web-app-"));
    await mkdir(join(dir, "assets"));
    await mkdir(join(dir, "images"));
    await writeFile(join(dir, "index.html"), index);
    await writeFile(join(dir, "assets", "index-abc.js"), entry);
    await writeFile(join(dir, "assets", "vendor-def.js"), "export const v = 1;");
    await writeFile(join(dir, "assets", "lazy-ghi.js"), "export const lazy = 1;");
    await writeFile(join(dir, "assets", "index-abc.css"), "body{color:#000}");
    await writeFile(join(dir, "images", "p-1.svg"), "<svg xmlns='http://www.w3.org/2000/svg'/>");
    const app = loadWebApp(dir);
    if (!app) throw new Error("not loaded");
    server = http.createServer((req, res) => {
      if (!app.serve(req, res)) {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  it("answers the app's pages with index.html under a CSP without inline scripts, revalidated by ETag", async () => {
    for (const path of ["/", "/products/p-1", "/orders/5?x=1"]) {
      const res = await fetch(`${base}${path}`);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe(index);
      expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(res.headers.get("content-security-policy")).toBe(webAppContentSecurityPolicy);
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("cache-control")).toBe("no-cache");
    }
    expect(webAppContentSecurityPolicy).toMatch(/script-src 'self'(;|$)/);
    const etag = (await fetch(base)).headers.get("etag") as string;
    expect((await fetch(base, { headers: { "if-none-match": etag } })).status).toBe(304);
  });

  it("serves hashed assets for a year, compressed when the client accepts it", async () => {
    const raw = await new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      http
        .get(`${base}/assets/index-abc.js`, { headers: { "accept-encoding": "gzip" } }, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        })
        .on("error", reject);
    });
    expect(raw.status).toBe(200);
    expect(raw.headers["content-encoding"]).toBe("gzip");
    expect(raw.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect(raw.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(gunzipSync(raw.body).toString()).toBe(entry);
    const img = await fetch(`${base}/images/p-1.svg`);
    expect(img.headers.get("content-type")).toBe("image/svg+xml");
    expect(img.headers.get("cache-control")).toBe("no-cache");
  });

  it("leaves unknown files, API paths, RPC paths and other verbs to the other handlers", async () => {
    for (const path of [
      "/assets/missing.js",
      "/api/products",
      "/api",
      "/shop.catalog.v1.CatalogService/ListProducts",
      "/assets/",
      "/x.json",
    ]) {
      expect((await fetch(`${base}${path}`)).status, path).toBe(404);
    }
    expect((await fetch(base, { method: "POST" })).status).toBe(404);
    expect((await fetch(base, { method: "HEAD" })).status).toBe(200);
  });

  it("measures the first page: the entry and preloaded scripts, not lazy chunks", () => {
    const size = measureWebBundle(dir);
    expect(size.files).toEqual(["assets/index-abc.js", "assets/vendor-def.js", "assets/index-abc.css"]);
    expect(size.jsBytes).toBe(entry.length + "export const v = 1;".length);
    expect(size.jsGzipBytes).toBeGreaterThan(0);
    expect(size.jsGzipBytes).toBeLessThan(size.jsBytes);
  });

  it("is absent when the app was not built", () => {
    expect(loadWebApp(join(dir, "nothing-here"))).toBeUndefined();
  });
});

/** The body and headers `app` answers for a GET of `path` with `accept-encoding`. */
async function fetchFrom(
  app: WebApp,
  path: string,
  acceptEncoding: string,
): Promise<{ status: number | undefined; encoding: string | undefined; body: Buffer }> {
  const server = http.createServer((req, res) => {
    if (!app.serve(req, res)) {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  try {
    const port = (server.address() as AddressInfo).port;
    return await new Promise((resolve, reject) => {
      http
        .get(`http://127.0.0.1:${port}${path}`, { headers: { "accept-encoding": acceptEncoding } }, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode, encoding: res.headers["content-encoding"], body: Buffer.concat(chunks) }));
        })
        .on("error", reject);
    });
  } finally {
    await new Promise((r) => server.close(r));
  }
}

describe("precompressed web app files", () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "web-app-pre-"));
    await mkdir(join(dir, "assets"));
    await writeFile(join(dir, "index.html"), index);
    await writeFile(join(dir, "assets", "index-abc.js"), entry);
    await writeFile(join(dir, "assets", "tiny.js"), "export {};");
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes gzip and brotli copies of the compressible files only, and serves them decoding to the file", async () => {
    expect(precompressWebApp(dir)).toBe(1);
    expect((await readdir(join(dir, "assets"))).sort()).toEqual(["index-abc.js", "index-abc.js.br", "index-abc.js.gz", "tiny.js"]);
    const app = loadWebApp(dir) as WebApp;
    const br = await fetchFrom(app, "/assets/index-abc.js", "br");
    expect(br.encoding).toBe("br");
    expect(brotliDecompressSync(br.body).toString()).toBe(entry);
    const gz = await fetchFrom(app, "/assets/index-abc.js", "gzip");
    expect(gz.encoding).toBe("gzip");
    expect(gunzipSync(gz.body).toString()).toBe(entry);
    // The copies are not files of the app.
    expect((await fetchFrom(app, "/assets/index-abc.js.br", "identity")).status).toBe(404);
  });

  it("ignores copies older than their file, compressing the file itself", async () => {
    precompressWebApp(dir);
    const changed = `console.log(${JSON.stringify("y".repeat(4000))});`;
    await writeFile(join(dir, "assets", "index-abc.js"), changed);
    const past = new Date(Date.now() - 60_000);
    await utimes(join(dir, "assets", "index-abc.js.br"), past, past);
    await utimes(join(dir, "assets", "index-abc.js.gz"), past, past);
    const app = loadWebApp(dir) as WebApp;
    expect(brotliDecompressSync((await fetchFrom(app, "/assets/index-abc.js", "br")).body).toString()).toBe(changed);
    expect(gunzipSync((await fetchFrom(app, "/assets/index-abc.js", "gzip")).body).toString()).toBe(changed);
  });
});
