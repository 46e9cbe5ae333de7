import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { createLogger } from "@shopmesh/platform";
import S3rver from "s3rver";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkImageStore, edgeConfigSchema, readEdgeConfig } from "../config.js";
import { createEdge } from "../edge.js";
import { testEdgeSettings } from "../testing/edge-settings.js";
import { configuredImageStore } from "./configured-image-store.js";
import { createDirectoryImageStore, type ImageStore } from "./image-store.js";
import { createS3ImageStore } from "./s3-image-store.js";

/**
 * Both image stores under one contract: the folder, and an S3 bucket of s3rver, an S3-protocol
 * server run here on a loopback port (the AWS SDK signs and sends its requests as it would to S3).
 */

const logger = createLogger({ level: "silent" });
const name = (c: string, ext = "png") => `${c.repeat(64)}.${ext}`;
const bucket = "shop-images";
/** s3rver takes any key pair; these are the ones it documents. */
const credentials = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

let dir: string;
let s3rver: S3rver;
let endpoint: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "image-store-"));
  s3rver = new S3rver({
    port: 0,
    address: "127.0.0.1",
    silent: true,
    directory: join(dir, "s3"),
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  const { port } = await s3rver.run();
  endpoint = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await s3rver?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const stores: ReadonlyArray<readonly [string, () => ImageStore]> = [
  ["a folder", () => createDirectoryImageStore(join(dir, "folder"))],
  ["an S3 bucket", () => createS3ImageStore({ bucket, region: "us-east-1", endpoint, credentials, logger })],
];

describe.each(stores)("the image store of %s", (_, make) => {
  it("gives back what was put under a name, and nothing for a name never put", async () => {
    const store = make();
    try {
      const bytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
      await store.put(name("a"), bytes);
      expect(Buffer.from((await store.get(name("a"))) as Uint8Array)).toEqual(Buffer.from(bytes));
      expect(await store.get(name("b"))).toBeUndefined();
      // The same image again, and two at once: the same bytes stay.
      await Promise.all([store.put(name("a"), bytes), store.put(name("a"), bytes)]);
      expect(Buffer.from((await store.get(name("a"))) as Uint8Array)).toEqual(Buffer.from(bytes));
    } finally {
      store.close?.();
    }
  });
});

describe("the folder store", () => {
  it("leaves no partial file behind", async () => {
    expect(readdirSync(join(dir, "folder")).filter((f) => f.includes("partial"))).toEqual([]);
  });
});

describe("the S3 store", () => {
  it("answers UNAVAILABLE when the bucket is not there", async () => {
    const store = createS3ImageStore({ bucket: "no-such-bucket", region: "us-east-1", endpoint, credentials, logger });
    try {
      const err = await store.put(name("c"), new Uint8Array([1])).then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
      expect(err?.code).toBe(Code.Unavailable);
    } finally {
      store.close?.();
    }
  });

  it("is what EDGE_IMAGE_STORE=s3 configures: an edge stores uploads in the bucket and serves them from it", async () => {
    const config = readEdgeConfig({
      EDGE_IMAGE_STORE: "s3",
      EDGE_IMAGE_S3_BUCKET: bucket,
      EDGE_IMAGE_S3_ENDPOINT: endpoint,
      EDGE_IMAGE_S3_ACCESS_KEY_ID: credentials.accessKeyId,
      EDGE_IMAGE_S3_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    });
    const png = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==", "base64");
    const operator = { token: "t", userId: "operator-1", operator: true };
    const edge = createEdge({
      config: testEdgeSettings(Object.fromEntries(Object.entries(config).filter(([k]) => k.startsWith("EDGE_IMAGE_")))),
      logger,
      upstreams: {},
      services: [],
      authenticate: (headers) => (headers.get("authorization") ? operator : undefined),
      webApp: false,
      apiDocs: false,
    });
    await edge.start();
    try {
      const res = await fetch(`${edge.url}/api/admin/images`, {
        method: "POST",
        headers: { "content-type": "image/png", authorization: "Bearer t" },
        body: png,
      });
      expect(res.status).toBe(201);
      const { url } = (await res.json()) as { url: string };
      const bucketStore = configuredImageStore(config, logger) as ImageStore;
      expect(Buffer.from((await bucketStore.get(url.slice("/media/".length))) as Uint8Array)).toEqual(png);
      bucketStore.close?.();
      const served = await fetch(`${edge.url}${url}`);
      expect(served.status).toBe(200);
      expect(Buffer.from(await served.arrayBuffer())).toEqual(png);
      expect((await fetch(`${edge.url}/media/${name("d")}`)).status).toBe(404);
    } finally {
      await edge.stop();
    }
  });

  it("needs a bucket, and both keys or neither", () => {
    expect(() => checkImageStore({ EDGE_IMAGE_STORE: "s3" })).toThrow(/EDGE_IMAGE_S3_BUCKET/);
    expect(() => checkImageStore({ EDGE_IMAGE_STORE: "s3", EDGE_IMAGE_S3_BUCKET: bucket, EDGE_IMAGE_S3_ACCESS_KEY_ID: "k" })).toThrow(
      /EDGE_IMAGE_S3_SECRET_ACCESS_KEY/,
    );
    expect(() => readEdgeConfig({ EDGE_IMAGE_STORE: "gcs" })).toThrow(/EDGE_IMAGE_STORE/);
    expect(readEdgeConfig({}).EDGE_IMAGE_STORE).toBe("dir");
    expect(Object.keys(edgeConfigSchema)).toContain("EDGE_IMAGE_S3_ENDPOINT");
  });
});
