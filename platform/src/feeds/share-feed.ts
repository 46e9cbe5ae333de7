import { listenForNotifications, type NotificationListener } from "../db/listen.js";
import type { Logger } from "../logger.js";
import type { KeyedFeed } from "./keyed-feed.js";

export interface ShareFeedOptions<T> {
  /** Postgres URL of the database the processes share; the listener holds a connection of its own there. */
  readonly url: string;
  /** The channel every process announces its committed items on (NOTIFY in the committing transaction). */
  readonly channel: string;
  /** The items of one announcement. */
  readonly parse: (payload: string) => T[];
  /** The current items of `keys`: read again after a lost connection, for the keys someone watches. */
  readonly reread: (keys: readonly string[]) => Promise<T[]>;
  readonly logger: Logger;
}

/**
 * Shares `feed` among the processes on one database (replicas): feeds it with the items every
 * one of them announces on `channel` (Postgres LISTEN), so its watchers see a change whichever
 * process committed it. After a lost connection it re-reads the current items of every watched
 * key, so a watcher misses at most intermediate steps, never the outcome. Resolves once
 * listening: every announcement committed after that reaches the feed.
 */
export function shareFeed<T>(feed: KeyedFeed<T>, opts: ShareFeedOptions<T>): Promise<NotificationListener> {
  const { logger } = opts;
  return listenForNotifications({
    url: opts.url,
    channel: opts.channel,
    logger,
    onNotification: (payload) => feed.publish(opts.parse(payload)),
    onResume: () => {
      opts
        .reread(feed.keys)
        .then((current) => feed.publish(current))
        .catch((err: unknown) =>
          logger.warn({ err, channel: opts.channel }, "re-reading watched keys after a lost LISTEN connection failed"),
        );
    },
  });
}
