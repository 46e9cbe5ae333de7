import { describe, expect, it, vi } from "vitest";
import { Code, ConnectError, notFound } from "../errors.js";
import { createLogger } from "../logger.js";
import { KeyedFeed } from "./keyed-feed.js";
import { KeyedWatch, type KeyedWatchOptions } from "./keyed-watch.js";

/** A change of `key` to its `version`th state; `final` ends its changes. */
interface Item {
  readonly key: string;
  readonly version: number;
  readonly final?: boolean;
}

const item = (key: string, version: number, final = false): Item => ({ key, version, ...(final ? { final } : {}) });
const text = (i: Item) => `${i.key}${i.version}${i.final ? "!" : ""}`;

const every: KeyedWatchOptions<Item> = {
  versionOf: (i) => i.version,
  maxKeys: 3,
  noun: "things",
  field: "add_ids",
  queue: "every",
  isFinal: (i) => i.final === true,
};
const newest: KeyedWatchOptions<Item> = { ...every, queue: "newest", isFinal: undefined };

/** A source whose reads answer from `current`, each read held until `release()` when `gated`. */
function source(current: Map<string, Item>, gated = false) {
  const feed = new KeyedFeed<Item>({ name: "thing", keyOf: (i) => i.key });
  const waiting: Array<() => void> = [];
  return {
    feed,
    source: {
      feed,
      async current(keys: readonly string[]) {
        const snapshot = keys.map((key) => current.get(key));
        if (gated) await new Promise<void>((resolve) => waiting.push(resolve));
        if (snapshot.some((i) => i === undefined)) throw notFound("thing");
        return snapshot as Item[];
      },
    },
    release: () => waiting.shift()?.(),
  };
}

async function take(it: AsyncIterator<Item>, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const next = await it.next();
    if (next.done) break;
    out.push(text(next.value));
  }
  return out;
}

describe("keyed watch", () => {
  it("answers an add with the current item, then sends every later change in order; ends once requests ended and all are final", async () => {
    const { source: src, feed } = source(new Map([["a", item("a", 1)]]));
    const watch = new KeyedWatch(src, new AbortController().signal, every);
    const it = watch[Symbol.asyncIterator]();
    await watch.add(["a"]);
    feed.publish([item("a", 2), item("b", 1), item("a", 3, true)]);
    watch.endRequests();
    expect(await take(it, 5)).toEqual(["a1", "a2", "a3!"]);
    expect(feed.subscriptions).toBe(0);
  });

  it("loses nothing and repeats nothing when changes commit while the current item is read", async () => {
    // The read saw version 2; 2 (seen) and 3 (not seen) are published while it is in flight.
    const { source: src, feed, release } = source(new Map([["a", item("a", 2)]]), true);
    const watch = new KeyedWatch(src, new AbortController().signal, every);
    const it = watch[Symbol.asyncIterator]();
    const adding = watch.add(["a"]);
    feed.publish([item("a", 3, true), item("a", 2)]);
    release();
    await adding;
    watch.endRequests();
    expect(await take(it, 5)).toEqual(["a2", "a3!"]);
  });

  it("answers a re-add again, never with an older item than already sent", async () => {
    const { source: src, feed } = source(new Map([["a", item("a", 1)]]));
    const watch = new KeyedWatch(src, new AbortController().signal, every);
    const it = watch[Symbol.asyncIterator]();
    await watch.add(["a"]);
    expect(await take(it, 1)).toEqual(["a1"]);
    feed.publish([item("a", 2)]);
    expect(await take(it, 1)).toEqual(["a2"]);
    await watch.add(["a"]); // the read is stale (version 1): the newer item known answers
    expect(await take(it, 1)).toEqual(["a2"]);
    watch.close();
  });

  it("remove drops the key's queued items; the watch ends once requests ended and the rest is final", async () => {
    const { source: src, feed } = source(
      new Map([
        ["a", item("a", 1)],
        ["b", item("b", 2, true)],
      ]),
    );
    const watch = new KeyedWatch(src, new AbortController().signal, every);
    const it = watch[Symbol.asyncIterator]();
    await watch.add(["a", "b"]);
    watch.remove(["a"]);
    feed.publish([item("a", 2)]);
    watch.endRequests();
    expect(await take(it, 5)).toEqual(["b2!"]);
    expect(feed.subscriptions).toBe(0);
  });

  it('"newest" drops a current item older than a change that overtook it, and coalesces for a slow reader', async () => {
    const {
      source: src,
      feed,
      release,
    } = source(
      new Map([
        ["a", item("a", 1)],
        ["b", item("b", 1)],
      ]),
      true,
    );
    const watch = new KeyedWatch(src, new AbortController().signal, newest);
    const it = watch[Symbol.asyncIterator]();
    const adding = watch.add(["a", "b"]);
    feed.publish([item("a", 2)]);
    release();
    await adding;
    for (let v = 3; v < 50; v++) feed.publish([item("a", v)]);
    expect(await take(it, 2)).toEqual(["a49", "b1"]);
    // Without isFinal it ends once requests ended and nothing is watched any more.
    watch.endRequests();
    watch.remove(["a", "b"]);
    expect((await it.next()).done).toBe(true);
  });

  it("ends when the signal aborts, and unsubscribes; a rejected read fails the add", async () => {
    const { source: src, feed } = source(new Map([["a", item("a", 1)]]));
    const abort = new AbortController();
    const watch = new KeyedWatch(src, abort.signal, every);
    const it = watch[Symbol.asyncIterator]();
    await watch.add(["a"]);
    expect(await take(it, 1)).toEqual(["a1"]);
    const next = it.next();
    abort.abort();
    expect((await next).done).toBe(true);
    expect(feed.subscriptions).toBe(0);

    const other = new KeyedWatch(src, new AbortController().signal, every);
    await expect(other.add(["nope"])).rejects.toMatchObject({ code: Code.NotFound });
    other.close();
    expect(feed.subscriptions).toBe(0);
  });

  it("fail ends the iteration with the error", async () => {
    const { source: src } = source(new Map([["a", item("a", 1)]]));
    const watch = new KeyedWatch(src, new AbortController().signal, every);
    const it = watch[Symbol.asyncIterator]();
    const boom = new Error("stream broke");
    watch.fail(boom);
    await expect(it.next()).rejects.toBe(boom);
  });

  it("refuses more keys than its limit with RESOURCE_EXHAUSTED naming the field, watching nothing new", async () => {
    const { source: src, feed } = source(new Map([["a", item("a", 1)]]));
    const watch = new KeyedWatch(src, new AbortController().signal, every);
    await watch.add(["a"]);
    const err = await watch.add(["b", "c", "d"], "ids").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.ResourceExhausted);
    expect((err as ConnectError).rawMessage).toMatch(/^ids: at most 3 things/);
    expect(feed.subscriptions).toBe(1);
    watch.close();
  });
});

describe("keyed feed", () => {
  it("hands items to the listeners of every key first, then to those of the item's key; a failing listener is logged", () => {
    const logger = createLogger({ level: "silent" });
    const error = vi.spyOn(logger, "error");
    const feed = new KeyedFeed<Item>({ name: "thing", keyOf: (i) => i.key, logger });
    const heard: string[] = [];
    feed.subscribeAll((i) => heard.push(`all:${text(i)}`));
    const unsubscribe = feed.subscribe("a", (i) => heard.push(`a:${text(i)}`));
    feed.subscribe("a", () => {
      throw new Error("listener broke");
    });
    feed.publish([item("a", 1), item("b", 1)]);
    expect(heard).toEqual(["all:a1", "a:a1", "all:b1"]);
    expect(error).toHaveBeenCalledWith(expect.objectContaining({ key: "a" }), "thing listener failed");
    expect(feed.keys).toEqual(["a"]);
    expect(feed.subscriptions).toBe(2);
    unsubscribe();
    expect(feed.subscriptions).toBe(1);
  });
});
