import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import type { ServerResponse } from "node:http";
import { extname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants as zlib, gzipSync } from "node:zlib";
import type { NodeRequest, NodeResponse } from "../http/node-http.js";

/** Where `npm run build` puts the storefront (edge/web/dist), next to this package's dist/. */
export const defaultWebAppDir = fileURLToPath(new URL("../../web/dist/", import.meta.url));

/**
 * The policy every file of the app is served with: scripts, styles, images and connections
 * from the edge's own origin only, no inline script or style, no plugins, no framing.
 */
export const webAppContentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
].join("; ");

const securityHeaders: Readonly<Record<string, string>> = {
  "content-security-policy": webAppContentSecurityPolicy,
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "x-frame-options": "DENY",
};

const contentTypes: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json; charset=utf-8",
  ".webmanifest": "application/manifest+json",
  ".txt": "text/plain; charset=utf-8",
  ".map": "application/json; charset=utf-8",
};
const compressible = new Set([".html", ".js", ".css", ".svg", ".json", ".webmanifest", ".txt", ".map"]);

/** A file held in memory, ready to send (with its compressed forms when worth it). */
export interface StaticFile {
  readonly type: string;
  readonly etag: string;
  readonly cacheControl: string;
  readonly identity: Buffer;
  readonly gzip?: Buffer;
  readonly br?: Buffer;
}

export interface WebApp {
  /** The directory it was loaded from. */
  readonly dir: string;
  /**
   * Answers a GET or HEAD for one of the app's files, or with index.html for any other path that
   * looks like a page of the app (no dot in it, not under /api): the app routes in the browser.
   * Returns false, answering nothing, for anything else.
   */
  serve(req: NodeRequest, res: NodeResponse): boolean;
}

/** Files worth compressing: a text type, and big enough that the encoding pays for its header. */
const worthCompressing = (name: string, size: number) => compressible.has(extname(name)) && size >= 512;

/** The two encodings the edge serves, at their highest levels: done once, before any request. */
function compress(identity: Buffer): { gzip: Buffer; br: Buffer } {
  return {
    gzip: gzipSync(identity, { level: 9 }),
    br: brotliCompressSync(identity, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11 } }),
  };
}

/** Suffixes of the precompressed copies {@link precompressWebApp} writes beside the files. */
const encodedSuffixes = { gzip: ".gz", br: ".br" } as const;

/** A precompressed copy of `path` when there is one at least as new as the file, else undefined. */
function precompressed(path: string, suffix: string): Buffer | undefined {
  const copy = `${path}${suffix}`;
  return existsSync(copy) && statSync(copy).mtimeMs >= statSync(path).mtimeMs ? readFileSync(copy) : undefined;
}

/**
 * Writes the gzip and brotli forms of the app's compressible files beside them (`x.js.gz`,
 * `x.js.br`), so that the edge reads them at start instead of compressing (brotli at its highest
 * level is most of the edge's start-up otherwise). Part of the storefront's build.
 */
export function precompressWebApp(dir: string = defaultWebAppDir): number {
  let written = 0;
  for (const path of listFiles(dir)) {
    const identity = readFileSync(path);
    if (!worthCompressing(path, identity.length)) continue;
    const forms = compress(identity);
    writeFileSync(`${path}${encodedSuffixes.gzip}`, forms.gzip);
    writeFileSync(`${path}${encodedSuffixes.br}`, forms.br);
    written++;
  }
  return written;
}

/**
 * Loads the built single-page app in `dir` (Vite's output: index.html plus content-hashed files
 * under assets/) into memory with its gzip and brotli forms: those the build wrote beside the
 * files, or compressed now. Returns undefined when the directory has no index.html (the app was
 * not built). Files under assets/ never change under their name and are cached for a year;
 * everything else is revalidated by its ETag.
 */
export function loadWebApp(dir: string = defaultWebAppDir): WebApp | undefined {
  if (!existsSync(join(dir, "index.html"))) return undefined;
  const files = new Map<string, StaticFile>();
  for (const path of listFiles(dir)) {
    const name = `/${relative(dir, path).split(sep).join("/")}`;
    const ext = extname(name);
    const identity = readFileSync(path);
    const gzip = precompressed(path, encodedSuffixes.gzip);
    const br = precompressed(path, encodedSuffixes.br);
    files.set(name, {
      type: contentTypes[ext] ?? "application/octet-stream",
      etag: `"${createHash("sha256").update(identity).digest("base64url").slice(0, 22)}"`,
      cacheControl: name.startsWith("/assets/") ? "public, max-age=31536000, immutable" : "no-cache",
      identity,
      ...(worthCompressing(name, identity.length) ? (gzip && br ? { gzip, br } : compress(identity)) : {}),
    });
  }
  const index = files.get("/index.html") as StaticFile;

  return {
    dir,
    serve(req, res) {
      if (req.method !== "GET" && req.method !== "HEAD") return false;
      const url = req.url ?? "/";
      const q = url.indexOf("?");
      const path = q < 0 ? url : url.slice(0, q);
      const file = files.get(path) ?? (isAppPage(path) ? index : undefined);
      if (!file) return false;
      send(req, res, file);
      return true;
    },
  };
}

/** A path the app's router owns: "/", "/products/p-1", "/orders/…"; not files, API or RPC paths. */
function isAppPage(path: string): boolean {
  if (path.includes(".") || path.includes("//")) return false;
  const top = path.split("/")[1];
  return top !== "api" && top !== "assets" && top !== "images";
}

/**
 * A file named `name` (its extension gives the type) with its gzip and brotli forms when worth
 * it: at their highest levels by default, or `fast` (gzip 6, brotli 5: tens of milliseconds
 * rather than seconds for a large bundle compressed while serving).
 */
export function staticFile(name: string, identity: Buffer, cacheControl: string, fast = false): StaticFile {
  return {
    type: contentTypes[extname(name)] ?? "application/octet-stream",
    etag: `"${createHash("sha256").update(identity).digest("base64url").slice(0, 22)}"`,
    cacheControl,
    identity,
    ...(worthCompressing(name, identity.length)
      ? fast
        ? {
            gzip: gzipSync(identity, { level: 6 }),
            br: brotliCompressSync(identity, { params: { [zlib.BROTLI_PARAM_QUALITY]: 5 } }),
          }
        : compress(identity)
      : {}),
  };
}

/**
 * Answers with a file under the storefront's security headers (its Content-Security-Policy),
 * 304 when the client has it, compressed as the client accepts.
 */
export function sendStaticFile(req: NodeRequest, res: NodeResponse, file: StaticFile): void {
  send(req, res, file);
}

function send(req: NodeRequest, res: NodeResponse, file: StaticFile): void {
  const headers: Record<string, string | number> = {
    ...securityHeaders,
    "content-type": file.type,
    "cache-control": file.cacheControl,
    etag: file.etag,
  };
  if (file.gzip) headers.vary = "Accept-Encoding";
  if (req.headers["if-none-match"] === file.etag) {
    (res as ServerResponse).writeHead(304, headers);
    res.end();
    return;
  }
  const accepted = String(req.headers["accept-encoding"] ?? "");
  let body = file.identity;
  if (file.br && /\bbr\b/.test(accepted)) {
    body = file.br;
    headers["content-encoding"] = "br";
  } else if (file.gzip && /\bgzip\b/.test(accepted)) {
    body = file.gzip;
    headers["content-encoding"] = "gzip";
  }
  headers["content-length"] = body.length;
  (res as ServerResponse).writeHead(200, headers);
  if (req.method === "HEAD") res.end();
  else res.end(body);
}

/** The app's files, without the precompressed copies beside them. */
function listFiles(dir: string): string[] {
  const suffixes = Object.values(encodedSuffixes);
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && !suffixes.some((suffix) => e.name.endsWith(suffix)))
    .map((e) => join(e.parentPath, e.name));
}

/** Size of what a browser downloads for the app's first page. */
export interface WebBundleSize {
  /** JavaScript of the first page (the entry script and the modules it preloads), gzipped at level 9. */
  readonly jsGzipBytes: number;
  /** Its CSS, gzipped. */
  readonly cssGzipBytes: number;
  /** Uncompressed JavaScript of the first page. */
  readonly jsBytes: number;
  /** The files counted, relative to the app directory. */
  readonly files: readonly string[];
}

/**
 * Measures the first page of the built app in `dir`: the scripts and stylesheets index.html
 * references (lazily imported chunks are not counted). Throws when the app was not built.
 */
export function measureWebBundle(dir: string = defaultWebAppDir): WebBundleSize {
  const html = readFileSync(join(dir, "index.html"), "utf8");
  const refs = [...html.matchAll(/<(?:script|link)\b[^>]*?\b(?:src|href)="\/([^"]+\.(?:js|css))"/g)].map((m) => m[1] as string);
  let jsGzipBytes = 0;
  let cssGzipBytes = 0;
  let jsBytes = 0;
  for (const ref of new Set(refs)) {
    const content = readFileSync(join(dir, ref));
    const gz = gzipSync(content, { level: 9 }).length;
    if (ref.endsWith(".js")) {
      jsGzipBytes += gz;
      jsBytes += content.length;
    } else cssGzipBytes += gz;
  }
  return { jsGzipBytes, cssGzipBytes, jsBytes, files: [...new Set(refs)] };
}
