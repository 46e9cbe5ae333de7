import { randomBytes } from "node:crypto";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../logger.js";
import { postgresTestUrl } from "../testing/database-backends.js";
import { KeyedFeed } from "./keyed-feed.js";
import { shareFeed } from "./share-feed.js";

const logger = createLogger({ level: "silent" });

interface Item {
  readonly key: string;
  readonly version: number;
}

describe("shareFeed", () => {
  let admin: Client;
  beforeAll(async () => {
    admin = new Client({ connectionString: postgresTestUrl() });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
  });

  const announce = (channel: string, items: Item[]) => admin.query("select pg_notify($1, $2)", [channel, JSON.stringify(items)]);

  it("feeds what any process commits on the channel, and re-reads the watched keys after a lost connection", async () => {
    const channel = `t.${randomBytes(4).toString("hex")}.things`;
    const feed = new KeyedFeed<Item>({ name: "thing", keyOf: (i) => i.key });
    const heard: Item[] = [];
    feed.subscribe("a", (i) => heard.push(i));
    const reread: string[][] = [];
    const listener = await shareFeed(feed, {
      url: postgresTestUrl(),
      channel,
      logger,
      parse: (payload) => JSON.parse(payload) as Item[],
      reread: async (keys) => {
        reread.push([...keys]);
        return keys.map((key) => ({ key, version: 9 }));
      },
    });
    try {
      await announce(channel, [
        { key: "a", version: 1 },
        { key: "b", version: 1 },
      ]);
      await admin.query("begin");
      await announce(channel, [{ key: "a", version: 2 }]);
      await admin.query("rollback");
      await expect.poll(() => heard).toEqual([{ key: "a", version: 1 }]);

      await admin.query("select pg_terminate_backend(pid) from pg_stat_activity where query = $1", [`LISTEN "${channel}"`]);
      await expect.poll(() => reread, { timeout: 10_000 }).toEqual([["a"]]);
      expect(heard).toEqual([
        { key: "a", version: 1 },
        { key: "a", version: 9 },
      ]);
    } finally {
      await listener.close();
    }
  });
});
