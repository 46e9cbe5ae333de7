import { Client } from "pg";
import { type Backoff, backoffDelay, interruptibleSleep } from "../events/backoff.js";
import type { Logger } from "../logger.js";

export interface NotificationListenerOptions {
  /** Postgres URL; the listener holds a connection of its own there. */
  readonly url: string;
  /** The channel to LISTEN on (any text; quoted as an identifier). */
  readonly channel: string;
  readonly logger: Logger;
  /** Called with the payload of every NOTIFY on the channel, in commit order. */
  readonly onNotification: (payload: string) => void;
  /**
   * Called after the connection was lost and is listening again: notifications sent meanwhile
   * are gone, so a caller that mirrors state reads it again here.
   */
  readonly onResume?: () => void;
  /** Delay between reconnection attempts; default 100 ms doubling to 5 s. */
  readonly retry?: Backoff;
}

export interface NotificationListener {
  /** Stops listening and closes the connection. */
  close(): Promise<void>;
}

/**
 * Postgres LISTEN on a connection of its own, reconnecting with backoff when the connection
 * drops (the server restarting, a network cut). Resolves once the first LISTEN is in place, so
 * every NOTIFY committed after that reaches `onNotification`; rejects when that first
 * connection fails. NOTIFY is delivered on commit only, so what a rolled-back transaction
 * announced is never heard.
 */
export async function listenForNotifications(opts: NotificationListenerOptions): Promise<NotificationListener> {
  const { url, channel, logger, onNotification, onResume, retry = { initialMs: 100, maxMs: 5_000 } } = opts;
  const listen = `LISTEN "${channel.replaceAll('"', '""')}"`;
  let closed = false;
  let client: Client | undefined;
  let sleeping: (() => void) | undefined;
  let reconnecting: Promise<void> | undefined;

  async function connect(): Promise<Client> {
    const c = new Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
    c.on("notification", (msg) => {
      if (msg.channel !== channel || closed) return;
      try {
        onNotification(msg.payload ?? "");
      } catch (err) {
        logger.error({ err, channel }, "notification handler failed");
      }
    });
    c.on("error", (err) => {
      if (!closed) logger.warn({ err, channel }, "LISTEN connection failed; reconnecting");
    });
    c.on("end", () => {
      if (client === c && !closed) reconnecting ??= reconnect().finally(() => (reconnecting = undefined));
    });
    try {
      await c.connect();
      await c.query(listen);
    } catch (err) {
      await c.end().catch(() => undefined);
      throw err;
    }
    return c;
  }

  async function reconnect(): Promise<void> {
    client = undefined;
    for (let attempt = 1; !closed; attempt++) {
      const sleep = interruptibleSleep(backoffDelay(attempt, retry));
      sleeping = sleep.wake;
      await sleep.done;
      sleeping = undefined;
      if (closed) return;
      try {
        const c = await connect();
        if (closed) {
          await c.end().catch(() => undefined);
          return;
        }
        client = c;
        logger.info({ channel, attempt }, "LISTEN connection restored");
        onResume?.();
        return;
      } catch (err) {
        logger.warn({ err, channel, attempt }, "LISTEN reconnection failed");
      }
    }
  }

  client = await connect();
  return {
    async close() {
      closed = true;
      sleeping?.();
      await reconnecting;
      const c = client;
      client = undefined;
      await c?.end().catch(() => undefined);
    },
  };
}
