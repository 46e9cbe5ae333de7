/** An image format the edge accepts for product images. */
export interface ImageFormat {
  readonly contentType: string;
  /** Extension of its stored name, without the dot. */
  readonly ext: string;
  /** Whether `bytes` start as a file of this format does (its magic number). */
  matches(bytes: Uint8Array): boolean;
}

const startsWith = (bytes: Uint8Array, at: number, ascii: string | readonly number[]) => {
  const want = typeof ascii === "string" ? [...ascii].map((c) => c.charCodeAt(0)) : ascii;
  if (bytes.length < at + want.length) return false;
  return want.every((b, i) => bytes[at + i] === b);
};

/**
 * PNG, JPEG, WebP and GIF: what browsers show everywhere. SVG is left out on purpose: it is a
 * document that can carry script, not a picture.
 */
export const imageFormats: readonly ImageFormat[] = [
  { contentType: "image/png", ext: "png", matches: (b) => startsWith(b, 0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) },
  { contentType: "image/jpeg", ext: "jpg", matches: (b) => startsWith(b, 0, [0xff, 0xd8, 0xff]) },
  { contentType: "image/webp", ext: "webp", matches: (b) => startsWith(b, 0, "RIFF") && startsWith(b, 8, "WEBP") },
  { contentType: "image/gif", ext: "gif", matches: (b) => startsWith(b, 0, "GIF87a") || startsWith(b, 0, "GIF89a") },
];

/** The format of a Content-Type header ("image/png; foo=bar" included), or undefined when it is none of ours. */
export function formatOfContentType(header: string | undefined): ImageFormat | undefined {
  const type = header?.split(";")[0]?.trim().toLowerCase();
  return imageFormats.find((f) => f.contentType === type);
}

/**
 * Names of stored images: the sha256 of their bytes in lower-case hex and their format's
 * extension. Nothing else is ever read from or written to a store: no path can be made of one.
 */
const imageNamePattern = new RegExp(`^([0-9a-f]{64})\\.(${imageFormats.map((f) => f.ext).join("|")})$`);

/** The sha256 and format of a stored image's name, or undefined when `name` is not one. */
export function parseImageName(name: string): { sha256: string; format: ImageFormat } | undefined {
  const m = imageNamePattern.exec(name);
  if (!m) return undefined;
  return { sha256: m[1] as string, format: imageFormats.find((f) => f.ext === m[2]) as ImageFormat };
}

export function imageName(sha256: string, format: ImageFormat): string {
  return `${sha256}.${format.ext}`;
}
