// A Connect-protocol server-streaming call with JSON messages over `fetch` (undici, HTTP/1.1
// keep-alive), as a browser would make it: one enveloped request message, then enveloped
// response messages until the end-of-stream envelope. Just enough for the benchmark to follow
// an order without a client library the bench does not otherwise need.

const FLAG_COMPRESSED = 0x01;
const FLAG_END_STREAM = 0x02;
const HEADER_BYTES = 5;

/** The stream ended with a Connect error (or the server answered with a non-200 status). */
export class ConnectStreamError extends Error {
  override name = "ConnectStreamError";
  constructor(
    /** Connect code ("not_found", "unavailable"…) or `http_<status>`. */
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

function envelope(message: unknown): Uint8Array {
  const payload = Buffer.from(JSON.stringify(message));
  const out = Buffer.alloc(HEADER_BYTES + payload.length);
  out.writeUInt8(0, 0);
  out.writeUInt32BE(payload.length, 1);
  payload.copy(out, HEADER_BYTES);
  return out;
}

/**
 * POSTs `request` to `url` (`<base>/<package.Service>/<Method>`) and yields each response
 * message, parsed. Returns after a clean end-of-stream; throws `ConnectStreamError` for an
 * error end or a non-200, and the fetch error when `signal` aborts. Reading to the end lets
 * undici reuse the connection; breaking off early makes it close the connection.
 */
export async function* connectServerStream(
  url: string,
  request: unknown,
  opts: { readonly headers?: Readonly<Record<string, string>>; readonly signal?: AbortSignal } = {},
): AsyncGenerator<unknown, void, undefined> {
  const res = await fetch(url, {
    method: "POST",
    headers: { ...opts.headers, "content-type": "application/connect+json", "connect-protocol-version": "1" },
    body: envelope(request),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  if (res.status !== 200 || !res.body) {
    const text = await res.text();
    let code = `http_${res.status}`;
    try {
      code = (JSON.parse(text) as { code?: string }).code ?? code;
    } catch {
      // not a Connect error body
    }
    throw new ConnectStreamError(code, text.slice(0, 300));
  }
  const reader = res.body.getReader();
  let pending = Buffer.alloc(0);
  let ended = false;
  try {
    for (;;) {
      while (pending.length >= HEADER_BYTES) {
        const flags = pending.readUInt8(0);
        const length = pending.readUInt32BE(1);
        if (pending.length < HEADER_BYTES + length) break;
        const payload = pending.subarray(HEADER_BYTES, HEADER_BYTES + length).toString("utf8");
        pending = pending.subarray(HEADER_BYTES + length);
        if (flags & FLAG_COMPRESSED) throw new ConnectStreamError("internal", "compressed message (none was accepted)");
        if (flags & FLAG_END_STREAM) {
          const end = JSON.parse(payload) as { error?: { code?: string; message?: string } };
          // Read the body to its end so that the connection goes back to the pool.
          while (!(await reader.read()).done);
          ended = true;
          if (end.error) throw new ConnectStreamError(end.error.code ?? "unknown", end.error.message ?? "");
          return;
        }
        yield JSON.parse(payload);
      }
      const { done, value } = await reader.read();
      if (done) {
        ended = true;
        throw new ConnectStreamError("internal", "stream closed without an end-of-stream message");
      }
      pending = pending.length === 0 ? Buffer.from(value) : Buffer.concat([pending, value]);
    }
  } finally {
    if (ended) reader.releaseLock();
    else await reader.cancel().catch(() => undefined);
  }
}
