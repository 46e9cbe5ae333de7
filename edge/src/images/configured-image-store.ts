import type { Logger } from "@shopmesh/platform";
import type { EdgeConfig } from "../config.js";
import { createDirectoryImageStore, type ImageStore } from "./image-store.js";
import { createS3ImageStore } from "./s3-image-store.js";

/** The image store settings of the edge's configuration; EDGE_IMAGE_STORE defaults to dir. */
export type ImageStoreSettings = Partial<
  Pick<
    EdgeConfig,
    | "EDGE_IMAGE_STORE"
    | "EDGE_IMAGE_DIR"
    | "EDGE_IMAGE_S3_BUCKET"
    | "EDGE_IMAGE_S3_REGION"
    | "EDGE_IMAGE_S3_ENDPOINT"
    | "EDGE_IMAGE_S3_ACCESS_KEY_ID"
    | "EDGE_IMAGE_S3_SECRET_ACCESS_KEY"
  >
>;

/**
 * The store EDGE_IMAGE_STORE names: the folder EDGE_IMAGE_DIR, or the bucket EDGE_IMAGE_S3_BUCKET.
 * Undefined when the settings name no folder (a literal in tests): the edge serves no image routes.
 */
export function configuredImageStore(config: ImageStoreSettings, logger: Logger): ImageStore | undefined {
  if (config.EDGE_IMAGE_STORE === "s3") {
    const { EDGE_IMAGE_S3_ACCESS_KEY_ID: accessKeyId, EDGE_IMAGE_S3_SECRET_ACCESS_KEY: secretAccessKey } = config;
    return createS3ImageStore({
      bucket: config.EDGE_IMAGE_S3_BUCKET as string,
      region: config.EDGE_IMAGE_S3_REGION ?? "us-east-1",
      endpoint: config.EDGE_IMAGE_S3_ENDPOINT,
      credentials: accessKeyId !== undefined && secretAccessKey !== undefined ? { accessKeyId, secretAccessKey } : undefined,
      logger,
    });
  }
  return config.EDGE_IMAGE_DIR === undefined ? undefined : createDirectoryImageStore(config.EDGE_IMAGE_DIR);
}
