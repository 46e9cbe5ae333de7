import { once } from "node:events";
import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import type { NodeRequest, NodeResponse } from "./rest.js";

export type RequestHandler = (req: NodeRequest, res: NodeResponse) => void;

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
/** A connection that says nothing for this long is dropped before it reaches a server. */
const firstBytesTimeoutMs = 10_000;

/**
 * One port for HTTP/1.1 and cleartext HTTP/2 with prior knowledge (what grpc-js and
 * connect-node's HTTP/2 transport speak): a net server reads the first bytes of each
 * connection and hands it to an http2 or an http server that never listen themselves. Both
 * call the same handler.
 */
export function createListener(handler: RequestHandler): Listener {
  const h1 = http.createServer({ keepAliveTimeout: 5_000 }, handler);
  const h2 = http2.createServer({}, handler);
  const sockets = new Set<net.Socket>();
  const h1Busy = new Map<net.Socket, number>();
  const h2Sockets = new WeakSet<net.Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  let closing = false;

  h2.on("session", (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    if (closing) session.close();
  });
  // Track HTTP/1.1 requests in flight per socket so that close() can end idle ones at once.
  h1.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    const socket = req.socket;
    h1Busy.set(socket, (h1Busy.get(socket) ?? 0) + 1);
    res.once("close", () => {
      const n = (h1Busy.get(socket) ?? 1) - 1;
      h1Busy.set(socket, n);
      if (closing && n === 0) socket.end();
    });
  });

  const route = (socket: net.Socket) => {
    let head: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), firstBytesTimeoutMs);
    const onData = (chunk: Buffer) => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const n = Math.min(head.length, h2Preface.length);
      const isH2 = head.subarray(0, n).equals(h2Preface.subarray(0, n));
      if (isH2 && n < sniffBytes) return;
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("error", onError);
      socket.pause();
      socket.unshift(head);
      if (isH2) {
        // The HTTP/2 session reads the socket's buffered bytes itself; resuming would
        // hand them to no one.
        h2Sockets.add(socket);
        h2.emit("connection", socket);
      } else {
        h1Busy.set(socket, 0);
        socket.once("close", () => h1Busy.delete(socket));
        h1.emit("connection", socket);
        socket.resume();
      }
    };
    const onError = () => {
      clearTimeout(timer);
      socket.destroy();
    };
    socket.on("data", onData);
    socket.on("error", onError);
  };

  const server = net.createServer({ noDelay: true }, (socket) => {
    if (closing) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
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
