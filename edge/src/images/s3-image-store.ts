import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "@shopmesh/platform";
import { parseImageName } from "./image-format.js";
import type { ImageStore } from "./image-store.js";

export interface S3ImageStoreOptions {
  readonly bucket: string;
  readonly region: string;
  /** An S3-compatible server, addressed path-style; undefined: AWS S3 of `region`. */
  readonly endpoint?: string | undefined;
  /** Undefined: the AWS SDK's own credential chain. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string } | undefined;
  readonly logger: Logger;
}

type S3 = typeof import("@aws-sdk/client-s3");

/**
 * Images as objects of one bucket of an S3-compatible store, keyed by their name, with their
 * type and immutable caching as object metadata. The AWS SDK (a signed, retried, maintained
 * client) is loaded on first use, so an edge that keeps images in a folder never loads it. A
 * failing store is UNAVAILABLE, logged here with its cause.
 */
export function createS3ImageStore(opts: S3ImageStoreOptions): ImageStore {
  let loaded: Promise<{ sdk: S3; client: InstanceType<S3["S3Client"]> }> | undefined;
  const s3 = () => {
    loaded ??= import("@aws-sdk/client-s3").then((sdk) => ({
      sdk,
      client: new sdk.S3Client({
        region: opts.region,
        ...(opts.endpoint ? { endpoint: opts.endpoint, forcePathStyle: true } : {}),
        ...(opts.credentials ? { credentials: { ...opts.credentials } } : {}),
      }),
    }));
    return loaded;
  };
  const unavailable = (what: string, name: string, err: unknown) => {
    opts.logger.warn({ err, bucket: opts.bucket, image: name }, `image store: ${what} failed`);
    return new ConnectError("image store unavailable", Code.Unavailable, undefined, undefined, err);
  };

  return {
    async put(name, bytes) {
      const { sdk, client } = await s3();
      // Another put of the same name carries the same bytes: writing them again is harmless.
      await client
        .send(
          new sdk.PutObjectCommand({
            Bucket: opts.bucket,
            Key: name,
            Body: bytes,
            ContentType: parseImageName(name)?.format.contentType,
            CacheControl: "public, max-age=31536000, immutable",
          }),
        )
        .catch((err: unknown) => {
          throw unavailable("put", name, err);
        });
    },
    async get(name) {
      const { sdk, client } = await s3();
      try {
        const res = await client.send(new sdk.GetObjectCommand({ Bucket: opts.bucket, Key: name }));
        return res.Body ? await res.Body.transformToByteArray() : new Uint8Array();
      } catch (err) {
        if (err instanceof sdk.NoSuchKey || (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404)
          return undefined;
        throw unavailable("get", name, err);
      }
    },
    close() {
      loaded?.then(
        ({ client }) => client.destroy(),
        () => undefined,
      );
    },
  };
}
