import { KeyedFeed, type Logger, type NotificationListener, shareFeed } from "@shopmesh/platform";
import type { Kysely } from "kysely";
import type { OrderDb } from "../db/tables.js";
import type { StatusUpdate } from "../domain/order.js";
import { findStatuses, parseStatusNotification } from "../db/order.repository.js";

/**
 * In-process feed of order status changes: the order service publishes each transition after
 * the transaction that made it committed, and WatchOrders/StreamOrders subscribers receive it.
 *
 * On its own this reaches the subscribers of this process only. Order processes sharing a
 * Postgres database (replicas) feed it with {@link listenForStatus} instead, so a transition
 * committed by one reaches the watchers connected to any.
 */
export class StatusFeed extends KeyedFeed<StatusUpdate> {
  constructor(logger?: Logger) {
    super({ name: "status", keyOf: (update) => update.orderId, logger });
  }
}

/**
 * Feeds `feed` with the transitions every order process on the database announces on
 * `channel` (see the `statusChannel` option of createOrders), so watchers see them whichever
 * replica applied them; after a lost connection the watched orders' statuses are read again.
 */
export function listenForStatus(opts: {
  readonly url: string;
  readonly channel: string;
  readonly feed: StatusFeed;
  readonly db: Kysely<OrderDb>;
  readonly logger: Logger;
}): Promise<NotificationListener> {
  const { db } = opts;
  return shareFeed(opts.feed, {
    url: opts.url,
    channel: opts.channel,
    logger: opts.logger,
    parse: parseStatusNotification,
    reread: (orderIds) => findStatuses(db, null, orderIds),
  });
}
