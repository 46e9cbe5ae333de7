import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadApiDocs } from "./api-docs.js";
import { webAppContentSecurityPolicy } from "../web/web-app.js";

/** The generated documentation in docs/api as the edge serves it. */
describe("API documentation pages", () => {
  let server: http.Server;
  let base: string;

  beforeAll(async () => {
    const docs = loadApiDocs();
    if (!docs) throw new Error("docs/api/openapi.json is missing: run npm run docs:api");
    server = http.createServer((req, res) => {
      const found = docs.match(req.method, (req.url ?? "/").split("?")[0] as string);
      if (found) found.send(req, res);
      else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  it("serves the OpenAPI document at /api/openapi.json", async () => {
    const res = await fetch(`${base}/api/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
    const doc = (await res.json()) as { openapi: string; paths: object };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toContain("/api/products/{id}");
  });

  it("serves the REST reference and the /docs pages from its own origin under the storefront's policy, with no inline script", async () => {
    const index = await fetch(`${base}/docs`);
    expect(index.status).toBe(200);
    const links = [...(await index.text()).matchAll(/href="(\/docs\/[^"]+)"/g)].map((m) => m[1] as string);
    expect(links).toContain("/docs/api");
    expect(links.filter((l) => l.startsWith("/docs/rpc/")).length).toBeGreaterThanOrEqual(6);
    for (const path of links) {
      const res = await fetch(`${base}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("content-security-policy")).toBe(webAppContentSecurityPolicy);
      const html = await res.text();
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(html).not.toMatch(/\b(?:src|href)="(?:https?:)?\/\//);
      for (const m of html.matchAll(/<(?:script|link)\b[^>]*\b(?:src|href)="(\/[^"]+)"/g)) {
        expect((await fetch(`${base}${m[1]}`)).status, m[1]).toBe(200);
      }
    }
  });
});
