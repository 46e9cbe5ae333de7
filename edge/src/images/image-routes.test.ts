import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "@shopmesh/platform";
import { createTestTokenIssuer } from "@shopmesh/platform/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEdge, type Edge } from "../edge.js";
import { bearerTokenSyntax, verifyingAuthenticator } from "../protection/authenticate.js";
import { testEdgeSettings } from "../testing/edge-settings.js";
import { createDirectoryImageStore } from "./image-store.js";

const logger = createLogger({ level: "silent" });
const maxBytes = 4096;

/** A 1×1 PNG. */
const png = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==", "base64");
/** The start of a JPEG (its SOI and APP0 markers): enough for the check of its magic number. */
const jpeg = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]), Buffer.from("JFIF\0", "latin1")]);
const json = async (res: Response): Promise<any> => res.json();
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

let dir: string;
let edge: Edge;
let base: string;
let operator: string;
let shopper: string;

beforeAll(async () => {
  const issuer = await createTestTokenIssuer();
  operator = await issuer.token("operator-1", { operator: true });
  shopper = await issuer.token("shopper-1");
  dir = mkdtempSync(join(tmpdir(), "edge-images-"));
  edge = createEdge({
    config: testEdgeSettings({ EDGE_IMAGE_MAX_BYTES: maxBytes }),
    logger,
    upstreams: {},
    services: [],
    authenticate: verifyingAuthenticator(issuer.verifier),
    imageStore: createDirectoryImageStore(join(dir, "images")),
    webApp: false,
    apiDocs: false,
  });
  await edge.start();
  base = `http://127.0.0.1:${edge.port}`;
});

afterAll(async () => {
  await edge?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Uploads as the operator, or as `token`'s holder (null: without a token). */
function upload(body: Uint8Array | string, type: string | undefined, token: string | null = operator): Promise<Response> {
  const headers: Record<string, string> = {};
  if (type !== undefined) headers["content-type"] = type;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  return fetch(`${base}/api/admin/images`, { method: "POST", headers, body });
}

/** A request sent as written: fetch would resolve `..` before sending it. */
function rawGet(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port: edge.port, path, method: "GET" }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        body += c;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("POST /api/admin/images", () => {
  it("stores an operator's PNG under the hash of its bytes and answers 201 with its URL", async () => {
    const res = await upload(png, "image/png");
    expect(res.status).toBe(201);
    const url = `/media/${sha256(png)}.png`;
    expect(await json(res)).toEqual({ url, content_type: "image/png", size_bytes: png.length });
    expect(res.headers.get("location")).toBe(url);
    expect(readdirSync(join(dir, "images"))).toEqual([`${sha256(png)}.png`]);
  });

  it("answers the same URL for the same image again, storing nothing new", async () => {
    const again = await upload(png, "image/png; charset=binary");
    expect(again.status).toBe(201);
    expect((await json(again)).url).toBe(`/media/${sha256(png)}.png`);
    expect(readdirSync(join(dir, "images"))).toEqual([`${sha256(png)}.png`]);
  });

  it("refuses bytes that are not the image their Content-Type names (400, the body named)", async () => {
    for (const body of [Buffer.from("<html>not a picture</html>"), jpeg, Buffer.alloc(0)]) {
      const res = await upload(body, "image/png");
      expect(res.status).toBe(400);
      const answer = await json(res);
      expect(answer.code).toBe("invalid_argument");
      expect(answer.field_violations.map((v: { field: string }) => v.field)).toEqual(["body"]);
    }
  });

  it("refuses a type that is not an image it takes (415, the content-type named), SVG included", async () => {
    for (const type of ["text/plain", "image/svg+xml", "application/json", undefined]) {
      const res = await upload(png, type);
      expect(res.status, String(type)).toBe(415);
      const answer = await json(res);
      expect(answer.code).toBe("invalid_argument");
      expect(answer.field_violations.map((v: { field: string }) => v.field)).toEqual(["content-type"]);
    }
  });

  it("accepts JPEG, WebP and GIF by their magic numbers, each with its extension", async () => {
    const webp = Buffer.concat([Buffer.from("RIFF"), Buffer.from([4, 0, 0, 0]), Buffer.from("WEBPVP8 ")]);
    const gif = Buffer.from("GIF89a\x01\x00\x01\x00", "latin1");
    for (const [body, type, ext] of [
      [jpeg, "image/jpeg", "jpg"],
      [webp, "image/webp", "webp"],
      [gif, "image/gif", "gif"],
    ] as const) {
      const res = await upload(body, type);
      expect(res.status, type).toBe(201);
      expect((await json(res)).url).toBe(`/media/${sha256(body)}.${ext}`);
    }
  });

  it("refuses an upload over EDGE_IMAGE_MAX_BYTES with 413, by its Content-Length", async () => {
    const big = Buffer.concat([png, Buffer.alloc(maxBytes)]);
    const res = await upload(big, "image/png");
    expect(res.status).toBe(413);
    expect((await json(res)).code).toBe("resource_exhausted");
    expect(readdirSync(join(dir, "images"))).not.toContain(`${sha256(big)}.png`);
  });

  it("refuses a streamed upload with 413 as soon as it passes the limit, before it ends", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        {
          host: "127.0.0.1",
          port: edge.port,
          path: "/api/admin/images",
          method: "POST",
          headers: { "content-type": "image/png", authorization: `Bearer ${operator}`, "transfer-encoding": "chunked" },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
          req.destroy();
        },
      );
      req.on("error", (err) => {
        if (!req.destroyed) reject(err);
      });
      req.write(png);
      // More than the limit, and the request is never ended: only a refusal while reading answers it.
      req.write(Buffer.alloc(maxBytes));
    });
    expect(status).toBe(413);
  });

  it("is for operators: 401 without a token or with a bad one, 403 permission_denied for a shopper", async () => {
    const none = await upload(png, "image/png", null);
    expect(none.status).toBe(401);
    expect((await json(none)).code).toBe("unauthenticated");
    expect((await upload(png, "image/png", "not.a.token")).status).toBe(401);
    const asShopper = await upload(png, "image/png", shopper);
    expect(asShopper.status).toBe(403);
    expect((await json(asShopper)).code).toBe("permission_denied");
  });

  it("answers 405 with Allow for another method", async () => {
    const res = await fetch(`${base}/api/admin/images`, { headers: { authorization: `Bearer ${operator}` } });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("POST");
  });
});

describe("GET /media/{name}", () => {
  const url = () => `${base}/media/${sha256(png)}.png`;

  it("serves the bytes with their type, a strong ETag and a year of immutable caching", async () => {
    const res = await fetch(url());
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(png);
    expect(res.headers.get("content-type")).toBe("image/png");
    expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(res.headers.get("etag")).toBe(`"${sha256(png)}"`);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("answers 304 when If-None-Match names its ETag, weakly or in a list", async () => {
    const etag = `"${sha256(png)}"`;
    for (const tag of [etag, `W/${etag}`, `"other", ${etag}`, "*"]) {
      const res = await fetch(url(), { headers: { "if-none-match": tag } });
      expect(res.status, tag).toBe(304);
      expect(res.headers.get("etag")).toBe(etag);
      expect(await res.text()).toBe("");
    }
    expect((await fetch(url(), { headers: { "if-none-match": '"other"' } })).status).toBe(200);
  });

  it("answers HEAD with the headers and no body", async () => {
    const res = await fetch(url(), { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBe(String(png.length));
    expect(await res.text()).toBe("");
  });

  it("answers 404 for an unknown image and for any name that is not an image's, traversal included", async () => {
    writeFileSync(join(dir, "secret.png"), png);
    for (const path of [
      `/media/${"0".repeat(64)}.png`,
      `/media/${sha256(png)}.gif`,
      `/media/${sha256(png).toUpperCase()}.png`,
      "/media/../secret.png",
      "/media/%2e%2e%2fsecret.png",
      "/media/..%2fsecret.png",
      `/media/x/../${sha256(png)}.png`,
      "/media/",
    ]) {
      const res = await rawGet(path);
      expect(res.status, path).toBe(404);
      expect(JSON.parse(res.body).code).toBe("not_found");
    }
  });

  it("answers 405 with Allow for another method", async () => {
    const res = await fetch(url(), { method: "DELETE" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD");
  });
});

describe("an edge that does not verify tokens itself", () => {
  it("refuses every upload (403): no service would check the operator after it", async () => {
    const unverified = createEdge({
      config: testEdgeSettings(),
      logger,
      upstreams: {},
      services: [],
      authenticate: bearerTokenSyntax,
      imageStore: createDirectoryImageStore(join(dir, "unverified")),
      webApp: false,
      apiDocs: false,
    });
    await unverified.start();
    try {
      const res = await fetch(`${unverified.url}/api/admin/images`, {
        method: "POST",
        headers: { "content-type": "image/png", authorization: `Bearer ${operator}` },
        body: png,
      });
      expect(res.status).toBe(403);
    } finally {
      await unverified.stop();
    }
  });
});
