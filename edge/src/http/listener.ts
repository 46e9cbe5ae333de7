import { once } from "node:events";
import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import { errorBody } from "./errors.js";
import { type NodeRequest, type NodeResponse, sendJson } from "./node-http.js";

export type RequestHandler = (req: NodeRequest, res: NodeResponse) => void;

export interface ListenerOptions {
  /**
   * Time a connection has to complete its request headers: from accept (which includes sending
   * the HTTP/2 preface), and on HTTP/1.1 again each time the connection is idle after a response.
   */
  readonly headersTimeoutMs: number;
  /** Time an HTTP/1.1 client has to send the rest of a request (its body) once its headers are in. */
  readonly requestTimeoutMs: number;
  /** Largest request header section: HTTP/1.1 gets 431 from the parser, HTTP/2 peers are told in SETTINGS. */
  readonly maxHeaderBytes?: number;
  /** An HTTP/2 session with no open stream for this long is closed (GOAWAY). Default 60 s. */
  readonly h2IdleTimeoutMs?: number;
  /** Streams an HTTP/2 client may have open at once on one session (told in SETTINGS, refused above). Default 100. */
  readonly h2MaxConcurrentStreams?: number;
  /**
   * Paths whose request body is a stream of messages that lives as long as the call (client and
   * bidi streaming): no body timeout applies to them. Every other HTTP/2 stream must send its
   * whole body within `requestTimeoutMs`, as on HTTP/1.1.
   */
  readonly streamingRequestPaths?: ReadonlySet<string>;
}

export interface Listener {
  /** Binds; resolves to the bound port. */
  listen(port: number, host: string): Promise<number>;
  /**
   * Graceful close: stop accepting, close idle HTTP/1.1 connections and the rest once their
   * response is done, send GOAWAY on HTTP/2 sessions and let their streams finish; whatever is
   * still open after `graceMs` is destroyed.
   */
  close(graceMs: number): Promise<void>;
  /** True once close() began: HTTP/1.1 answers then carry `Connection: close`. */
  readonly closing: boolean;
}

/** The connection preface every HTTP/2 client sends first (RFC 9113 §3.4). */
const h2Preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
/** Enough bytes to tell the preface from any HTTP/1.x request line. */
const sniffBytes = 4;
/** The answer to a request whose headers did not arrive in time (Node's own, with an explicit empty body). */
const requestTimeoutHead = "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";

/**
 * One port for HTTP/1.1 and cleartext HTTP/2 with prior knowledge (what grpc-js and
 * connect-node's HTTP/2 transport speak): a net server reads the first bytes of each
 * connection and hands it to an http2 or an http server that never listen themselves. Both
 * call the same handler.
 *
 * Because the http server never listens, Node's headersTimeout and requestTimeout (enforced by a
 * checker that starts on "listening") do not run: the slow-client limits are kept here instead.
 */
export function createListener(handler: RequestHandler, opts: ListenerOptions): Listener {
  const maxHeaderBytes = opts.maxHeaderBytes ?? 16 * 1024;
  const h1 = http.createServer({ keepAliveTimeout: 5_000, maxHeaderSize: maxHeaderBytes }, handler);
  const h2IdleTimeoutMs = opts.h2IdleTimeoutMs ?? 60_000;
  const h2 = http2.createServer(
    { settings: { maxHeaderListSize: maxHeaderBytes, maxConcurrentStreams: opts.h2MaxConcurrentStreams ?? 100 } },
    handler,
  );
  const sockets = new Set<net.Socket>();
  const h1Busy = new Map<net.Socket, number>();
  const h2Sockets = new WeakSet<net.Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  let closing = false;

  /** The socket being handed to the http2 server, whose "session" event fires synchronously. */
  let handingOver: net.Socket | undefined;
  h2.on("session", (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    // Idle: no stream open. Streams that stay open (watches) keep their session.
    let open = 0;
    let idleTimer: NodeJS.Timeout | undefined;
    const awaitIdle = () => {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => session.close(), h2IdleTimeoutMs);
    };
    awaitIdle();
    session.on("stream", (stream: http2.ServerHttp2Stream) => {
      open++;
      clearTimeout(idleTimer);
      stream.once("close", () => {
        open--;
        if (open === 0 && !session.closed) awaitIdle();
      });
    });
    session.once("close", () => {
      clearTimeout(idleTimer);
      sessions.delete(session);
    });
    const socket = handingOver;
    // The client's SETTINGS follow the preface: from then on HTTP/2 flow control governs.
    if (socket) session.once("remoteSettings", () => clearHeadersTimer(socket));
    if (closing) session.close();
  });
  /** Per connection: the timer running until the next request's headers are complete. */
  const headerTimers = new Map<net.Socket, NodeJS.Timeout>();
  const clearHeadersTimer = (socket: net.Socket) => {
    clearTimeout(headerTimers.get(socket));
    headerTimers.delete(socket);
  };
  /** Starts the headers timer of a connection that is waiting for a request (or the HTTP/2 preface). */
  const awaitHeaders = (socket: net.Socket) => {
    clearTimeout(headerTimers.get(socket));
    const readBefore = socket.bytesRead;
    const timer = setTimeout(() => {
      headerTimers.delete(socket);
      if (socket.bytesRead === readBefore || h2Sockets.has(socket)) {
        socket.destroy(); // idle, or an HTTP/2 client: no HTTP/1.1 answer to give
        return;
      }
      socket.end(requestTimeoutHead, () => socket.destroy());
    }, opts.headersTimeoutMs);
    headerTimers.set(socket, timer);
  };

  // An HTTP/2 stream's body must arrive in time too, unless it is a stream of messages.
  h2.on("request", (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
    const stream = req.stream;
    if (stream.endAfterHeaders || opts.streamingRequestPaths?.has((req.url ?? "").split("?")[0] ?? "")) return;
    const bodyTimer = setTimeout(() => {
      // The client's END_STREAM is what counts, whether or not the handler has read the body.
      if (stream.closed || stream.destroyed || stream.state.remoteClose === 1) return;
      if (res.headersSent) {
        res.stream.close(http2.constants.NGHTTP2_CANCEL);
        return;
      }
      // The answer, then the stream is reset: the rest of the body is not wanted.
      res.once("finish", () => {
        if (!res.stream.closed) res.stream.close(http2.constants.NGHTTP2_NO_ERROR);
      });
      sendJson(res, 408, errorBody(new ConnectError("request not received in time", Code.DeadlineExceeded)));
    }, opts.requestTimeoutMs);
    const received = () => clearTimeout(bodyTimer);
    stream.once("close", received);
  });

  // Track HTTP/1.1 requests in flight per socket so that close() can end idle ones at once.
  h1.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    const socket = req.socket;
    clearHeadersTimer(socket);
    h1Busy.set(socket, (h1Busy.get(socket) ?? 0) + 1);
    // The body (one message on HTTP/1.1: unary, server-streaming or REST) must arrive in time.
    const bodyTimer = req.complete
      ? undefined
      : setTimeout(() => {
          if (req.complete) return;
          if (res.headersSent) {
            socket.destroy();
            return;
          }
          res.once("finish", () => socket.destroy());
          sendJson(res, 408, errorBody(new ConnectError("request not received in time", Code.DeadlineExceeded)), { connection: "close" });
        }, opts.requestTimeoutMs);
    const received = () => clearTimeout(bodyTimer);
    req.once("end", received);
    req.once("close", received);
    res.once("close", () => {
      received();
      const n = (h1Busy.get(socket) ?? 1) - 1;
      h1Busy.set(socket, n);
      if (closing && n === 0) socket.end();
      else if (n === 0 && !socket.destroyed) awaitHeaders(socket);
    });
  });

  const route = (socket: net.Socket) => {
    let head: Buffer = Buffer.alloc(0);
    // Until the first request's headers (HTTP/1.1) or the preface (HTTP/2) are in.
    awaitHeaders(socket);
    const onData = (chunk: Buffer) => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const n = Math.min(head.length, h2Preface.length);
      const isH2 = head.subarray(0, n).equals(h2Preface.subarray(0, n));
      if (isH2 && n < sniffBytes) return;
      socket.off("data", onData);
      socket.off("error", onError);
      socket.pause();
      socket.unshift(head);
      if (isH2) {
        // The HTTP/2 session reads the socket's buffered bytes itself; resuming would
        // hand them to no one.
        h2Sockets.add(socket);
        handingOver = socket;
        try {
          h2.emit("connection", socket);
        } finally {
          handingOver = undefined;
        }
      } else {
        h1Busy.set(socket, 0);
        socket.once("close", () => h1Busy.delete(socket));
        h1.emit("connection", socket);
        socket.resume();
      }
    };
    const onError = () => socket.destroy();
    socket.on("data", onData);
    socket.on("error", onError);
  };

  const server = net.createServer({ noDelay: true }, (socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.once("close", () => {
      sockets.delete(socket);
      clearHeadersTimer(socket);
    });
    route(socket);
  });

  return {
    get closing() {
      return closing;
    },
    async listen(port, host) {
      server.listen(port, host);
      await once(server, "listening");
      return (server.address() as net.AddressInfo).port;
    },
    async close(graceMs) {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const session of sessions) session.close();
      for (const socket of sockets) {
        // Idle HTTP/1.1 connections and connections still being sniffed end now.
        if (!h2Sockets.has(socket) && (h1Busy.get(socket) ?? 0) === 0) socket.end();
      }
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      });
      await Promise.race([closed, grace]);
      clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/** Whether a response can still say `Connection: close` (HTTP/1.x only). */
export function isHttp1(req: NodeRequest): boolean {
  return req.httpVersionMajor === 1;
}
