import { describe, expect, it } from "vitest";
import { rateKey } from "./protection.js";
import { createRateLimiter } from "./rate-limiter.js";

describe("rate limiter", () => {
  it("lets a burst through, then one call per refill, and says how long to wait", () => {
    let t = 0;
    const limiter = createRateLimiter({ ratePerSecond: 0.5, burst: 2, now: () => t });
    expect([limiter.take("a"), limiter.take("a")]).toEqual([0, 0]);
    expect(limiter.take("a")).toBe(2);
    expect(limiter.take("b")).toBe(0);
    t = 1_000;
    expect(limiter.take("a")).toBe(1);
    t = 2_000;
    expect(limiter.take("a")).toBe(0);
    expect(limiter.take("a")).toBe(2);
  });

  it("forgets keys whose bucket is full again", () => {
    let t = 0;
    const limiter = createRateLimiter({ ratePerSecond: 10, burst: 5, now: () => t });
    for (let i = 0; i < 100; i++) limiter.take(`k${i}`);
    expect(limiter.size).toBe(100);
    t = 61_000;
    limiter.take("fresh");
    expect(limiter.size).toBe(1);
  });
});

describe("rate-limit keys", () => {
  it("are the address for IPv4 and the /64 for IPv6", () => {
    expect(rateKey("203.0.113.7")).toBe("203.0.113.7");
    expect(rateKey("2001:db8:1:2:aaaa::1")).toBe("2001:db8:1:2::/64");
    expect(rateKey("2001:0db8:0001:0002:ffff:ffff:ffff:ffff")).toBe("2001:db8:1:2::/64");
    expect(rateKey("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(rateKey("::1")).toBe("0:0:0:0::/64");
    expect(rateKey("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
  });
});
