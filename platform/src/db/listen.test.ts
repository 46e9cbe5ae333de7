import { randomBytes } from "node:crypto";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../logger.js";
import { postgresTestUrl } from "../testing/database-backends.js";
import { listenForNotifications } from "./listen.js";

const logger = createLogger({ level: "silent" });

describe("listenForNotifications", () => {
  let admin: Client;
  beforeAll(async () => {
    admin = new Client({ connectionString: postgresTestUrl() });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.end();
  });

  const notify = (channel: string, payload: string) => admin.query("select pg_notify($1, $2)", [channel, payload]);
  const listenerPids = async (channel: string) =>
    (await admin.query<{ pid: number }>("select pid from pg_stat_activity where query = $1", [`LISTEN "${channel}"`])).rows.map(
      (r) => r.pid,
    );

  it("hears what is committed on its channel, in order, and nothing of a rolled-back transaction", async () => {
    const channel = `t.${randomBytes(4).toString("hex")}.status`;
    const heard: string[] = [];
    const listener = await listenForNotifications({ url: postgresTestUrl(), channel, logger, onNotification: (p) => heard.push(p) });
    try {
      await notify(channel, "one");
      await notify(`${channel}.other`, "elsewhere");
      await admin.query("begin");
      await notify(channel, "rolled back");
      await admin.query("rollback");
      await notify(channel, "two");
      await expect.poll(() => heard).toEqual(["one", "two"]);
    } finally {
      await listener.close();
    }
    expect(await listenerPids(channel)).toEqual([]);
    await notify(channel, "after close");
    await new Promise((r) => setTimeout(r, 100));
    expect(heard).toEqual(["one", "two"]);
  });

  it("listens again after its connection is killed, and says so through onResume", async () => {
    const channel = `t.${randomBytes(4).toString("hex")}.status`;
    const heard: string[] = [];
    let resumed = 0;
    const listener = await listenForNotifications({
      url: postgresTestUrl(),
      channel,
      logger,
      onNotification: (p) => heard.push(p),
      onResume: () => resumed++,
      retry: { initialMs: 20, maxMs: 200 },
    });
    try {
      const [pid] = await listenerPids(channel);
      expect(pid).toBeDefined();
      await admin.query("select pg_terminate_backend($1)", [pid]);
      await expect.poll(() => resumed, { timeout: 10_000 }).toBe(1);
      expect(await listenerPids(channel)).not.toContain(pid);
      await notify(channel, "after the cut");
      await expect.poll(() => heard).toEqual(["after the cut"]);
    } finally {
      await listener.close();
    }
  });

  it("rejects when it cannot connect at first", async () => {
    await expect(
      listenForNotifications({ url: "postgres://postgres@127.0.0.1:1/none", channel: "x", logger, onNotification: () => {} }),
    ).rejects.toThrow();
  });
});
