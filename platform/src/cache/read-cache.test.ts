import { describe, expect, it } from "vitest";
import { ReadCache } from "./read-cache.js";

/** A cache over a counter of loads; `clock.ms` is its time. */
function setup(opts: { maxEntries?: number; maxAgeMs?: number } = {}) {
  const clock = { ms: 0 };
  const cache = new ReadCache<string>({ maxEntries: opts.maxEntries ?? 10, maxAgeMs: opts.maxAgeMs ?? 1_000, now: () => clock.ms });
  let loads = 0;
  const load = (value: string) => async () => {
    loads++;
    return value;
  };
  return { cache, clock, load, loads: () => loads };
}

/** A load that answers when `release` is called, as a slow query would. */
function heldLoad(value: string) {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const load = async () => {
    await gate;
    return value;
  };
  return { load, release };
}

describe("ReadCache", () => {
  it("answers a key read before from memory; past its max age it answers it once more while reading it again", async () => {
    const { cache, clock, load, loads } = setup({ maxAgeMs: 1_000 });
    expect(await cache.get("knife", load("v1"))).toBe("v1");
    clock.ms = 999;
    expect(await cache.get("knife", load("v2"))).toBe("v1");
    expect(loads()).toBe(1);
    clock.ms = 1_000;
    expect(await cache.get("knife", load("v3"))).toBe("v1");
    expect(loads()).toBe(2);
    expect(await cache.get("knife", load("v4"))).toBe("v3");
    expect(loads()).toBe(2);
  });

  it("waits for a new answer once the kept one is twice its max age", async () => {
    const { cache, clock, load, loads } = setup({ maxAgeMs: 1_000 });
    await cache.get("knife", load("v1"));
    clock.ms = 2_000;
    expect(await cache.get("knife", load("v2"))).toBe("v2");
    expect(loads()).toBe(2);
  });

  it("reads again after clear, and a load under way when it is cleared stores nothing", async () => {
    const { cache, load } = setup();
    const held = heldLoad("before the change");
    const pending = cache.get("knife", held.load);
    cache.clear();
    held.release();
    expect(await pending).toBe("before the change");
    expect(await cache.get("knife", load("after the change"))).toBe("after the change");
    expect(cache.size).toBe(1);
  });

  it("shares one load among concurrent reads of a key not yet kept", async () => {
    const { cache } = setup();
    const held = heldLoad("v1");
    let loads = 0;
    const counted = () => {
      loads++;
      return held.load();
    };
    const lookups = Array.from({ length: 5 }, () => cache.lookup("teapot", counted));
    held.release();
    expect(await Promise.all(lookups.map((l) => l.value))).toEqual(["v1", "v1", "v1", "v1", "v1"]);
    expect(loads).toBe(1);
    expect(lookups.map((l) => l.result)).toEqual(["miss", "shared", "shared", "shared", "shared"]);
    expect(cache.lookup("teapot", counted).result).toBe("hit");
  });

  it("keeps at most maxEntries answers, dropping the least recently read", async () => {
    const { cache, load, loads } = setup({ maxEntries: 2 });
    await cache.get("a", load("a1"));
    await cache.get("b", load("b1"));
    await cache.get("a", load("a2")); // a is now the most recently read
    await cache.get("c", load("c1")); // evicts b
    expect(cache.size).toBe(2);
    expect(await cache.get("a", load("a3"))).toBe("a1");
    expect(await cache.get("b", load("b2"))).toBe("b2");
    expect(loads()).toBe(4);
  });

  it("drops answers past twice their max age as new ones are kept, however few it holds", async () => {
    const { cache, clock, load } = setup({ maxEntries: 10, maxAgeMs: 1_000 });
    await cache.get("a", load("a1"));
    await cache.get("b", load("b1"));
    clock.ms = 1_500;
    await cache.get("c", load("c1"));
    expect(cache.size).toBe(3);
    clock.ms = 2_000;
    await cache.get("d", load("d1")); // a and b are 2 s old: no read would answer them
    expect(cache.size).toBe(2);
    expect(await cache.get("c", load("c2"))).toBe("c1");
  });

  it("keeps nothing when its size is 0, and a failed load is not kept", async () => {
    const off = setup({ maxEntries: 0 });
    await off.cache.get("a", off.load("a1"));
    await off.cache.get("a", off.load("a2"));
    expect(off.loads()).toBe(2);

    const { cache, load } = setup();
    await expect(
      cache.get("a", async () => {
        throw new Error("database away");
      }),
    ).rejects.toThrow();
    expect(await cache.get("a", load("a1"))).toBe("a1");
  });
});
