import { createHash } from "node:crypto";
import type { ServerResponse } from "node:http";
import { Code, ConnectError } from "@connectrpc/connect";
import { invalidArgument, type Logger } from "@shopmesh/platform";
import { errorBody, HttpError } from "../http/errors.js";
import { sendError } from "../http/send-error.js";
import { type NodeRequest, type NodeResponse, nodeHeaders, sendJson } from "../http/node-http.js";
import { readRequestBody } from "../http/request-body.js";
import { type AdmissionOptions, admit } from "../protection/admission.js";
import type { AccessRule } from "../rpc/public-surface.js";
import { formatOfContentType, type ImageFormat, imageFormats, imageName, parseImageName } from "./image-format.js";
import type { ImageStore } from "./image-store.js";

export interface ImageRoutesOptions extends AdmissionOptions {
  readonly store: ImageStore;
  /** Largest upload accepted (413 above it). */
  readonly maxBytes: number;
  readonly logger: Logger;
}

export interface ImageRoutes {
  /**
   * Serves the request when its path is one of the image routes (POST /api/admin/images, GET or
   * HEAD /media/<name>) and returns the route it took; undefined to let other handlers have it.
   */
  handle(req: NodeRequest, res: NodeResponse, path: string): string | undefined;
}

export const uploadPath = "/api/admin/images";
export const imagesPrefix = "/media/";
export const uploadRoute = `POST ${uploadPath}`;
export const imageRoute = "GET /media/{name}";

/** Uploads are the operators', as the other /api/admin routes are. */
const operatorOnly: AccessRule = { access: "operator", rateLimit: undefined };

/** A stored image never changes under its name (the name is the hash of its bytes). */
const immutable = "public, max-age=31536000, immutable";

const accepted = imageFormats.map((f) => f.contentType).join(", ");

/**
 * Product images, handled by the edge itself (no service holds them): operators upload an
 * image's bytes and get back the URL to put in a product's `image_urls`; anyone may read it.
 * Images are stored under the sha256 of their bytes, so uploading the same image again answers
 * the same URL and stores nothing new, and they are served as immutable.
 */
export function createImageRoutes(opts: ImageRoutesOptions): ImageRoutes {
  const upload = async (req: NodeRequest, res: NodeResponse) => {
    const caller = await admit(opts, operatorOnly, opts.protection?.clientOf(req) ?? "", nodeHeaders(req));
    // No service checks this token after the edge: an operator must be one the edge verified.
    if (caller?.operator !== true) throw new ConnectError("uploading images is for operators", Code.PermissionDenied);
    const format = formatOfContentType(req.headers["content-type"]);
    if (!format) {
      sendJson(res, 415, errorBody(invalidArgument("content-type", `must be one of ${accepted}`)));
      return;
    }
    const bytes = await readRequestBody(req, opts.maxBytes);
    if (bytes.length === 0) throw invalidArgument("body", "is empty: send the image's bytes");
    if (!format.matches(bytes)) {
      const actual = imageFormats.find((f) => f.matches(bytes));
      throw invalidArgument("body", `is not ${format.contentType}${actual ? ` (it looks like ${actual.contentType})` : ""}`);
    }
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    const name = imageName(sha256, format);
    await opts.store.put(name, bytes);
    const url = `${imagesPrefix}${name}`;
    // The services keep their audit log in their databases; the edge has none: its log line is the record.
    opts.logger.info(
      { audit: "image.upload", user_id: caller.userId, image: name, size_bytes: bytes.length, content_type: format.contentType },
      "product image uploaded",
    );
    sendJson(res, 201, JSON.stringify({ url, content_type: format.contentType, size_bytes: bytes.length }), { location: url });
  };

  const serve = async (req: NodeRequest, res: NodeResponse, name: string) => {
    opts.protection?.admitClient(undefined, opts.protection.clientOf(req));
    const parsed = parseImageName(name);
    const bytes = parsed ? await opts.store.get(name) : undefined;
    if (!parsed || !bytes) throw new ConnectError(`no image ${name}`, Code.NotFound);
    sendImage(req, res, parsed.format, `"${parsed.sha256}"`, bytes);
  };

  const fail = (req: NodeRequest, res: NodeResponse, route: string, err: unknown) =>
    sendError(req, res, err, opts.logger, "image route failed", route);

  const notAllowed = (req: NodeRequest, path: string, allow: string) =>
    new HttpError(405, Code.Unimplemented, `${req.method} is not allowed on ${path}`, { allow });

  return {
    handle(req, res, path) {
      if (path === uploadPath) {
        const run = req.method === "POST" ? upload(req, res) : Promise.reject(notAllowed(req, path, "POST"));
        run.catch((err: unknown) => fail(req, res, uploadRoute, err));
        return uploadRoute;
      }
      if (path.startsWith(imagesPrefix)) {
        const name = path.slice(imagesPrefix.length);
        const run =
          req.method === "GET" || req.method === "HEAD" ? serve(req, res, name) : Promise.reject(notAllowed(req, path, "GET, HEAD"));
        run.catch((err: unknown) => fail(req, res, imageRoute, err));
        return imageRoute;
      }
      return undefined;
    },
  };
}

/** The `If-None-Match` header names `etag` (or is `*`), comparing weakly as RFC 9110 §13.1.2 says. */
function matchesEtag(header: string | string[] | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const tags = (Array.isArray(header) ? header.join(",") : header).split(",").map((t) => t.trim().replace(/^W\//, ""));
  return tags.some((t) => t === "*" || t === etag);
}

function sendImage(req: NodeRequest, res: NodeResponse, format: ImageFormat, etag: string, bytes: Uint8Array): void {
  const headers: Record<string, string | number> = { "content-type": format.contentType, "cache-control": immutable, etag };
  if (matchesEtag(req.headers["if-none-match"], etag)) {
    (res as ServerResponse).writeHead(304, headers);
    res.end();
    return;
  }
  headers["content-length"] = bytes.length;
  (res as ServerResponse).writeHead(200, headers);
  if (req.method === "HEAD") res.end();
  else res.end(bytes);
}
