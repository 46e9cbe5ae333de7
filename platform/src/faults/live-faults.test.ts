import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { fieldViolationsOf } from "../errors.js";
import { parseFault } from "./fault-spec.js";
import { LiveFaults, noFaults } from "./live-faults.js";

const fieldsOf = (act: () => unknown): string[] => {
  try {
    act();
  } catch (err) {
    expect(ConnectError.from(err).code).toBe(Code.InvalidArgument);
    return fieldViolationsOf(ConnectError.from(err)).map((v) => v.field);
  }
  throw new Error("not refused");
};

describe("live faults", () => {
  it("starts with the configured event faults and nothing else", () => {
    const live = new LiveFaults(new Map([["*", parseFault("delay=5ms")]]));
    expect(live.settings()).toEqual({ ...noFaults, events: { "*": "delay=5ms" } });
    expect(live.eventFault("shop.a.v1.X")).toEqual({ delayMs: 5, code: undefined, rate: 1 });
    expect(live.providerFault()).toBeUndefined();
    expect(live.brokerFault()).toBeUndefined();
  });

  it("switches the provider and the broker on and off, and says so as the contract writes them", () => {
    const live = new LiveFaults(undefined, { provider: true });
    const on = live.replace({ ...noFaults, provider: "decline; rate=0.2", broker: "code=unavailable" });
    expect(on).toEqual({ ...noFaults, provider: "decline;rate=0.2", broker: "code=UNAVAILABLE" });
    expect(live.providerFault()).toEqual({ delayMs: 0, code: undefined, rate: 0.2, decline: true });
    expect(live.brokerFault()).toEqual({ delayMs: 0, code: Code.Unavailable, rate: 1 });
    expect(live.replace({ ...noFaults, provider: "code=UNAVAILABLE;rate=0.3", broker: "delay=500ms" })).toMatchObject({
      provider: "code=UNAVAILABLE;rate=0.3",
      broker: "delay=500ms",
    });
    expect(live.replace(noFaults)).toEqual(noFaults);
    expect(live.providerFault()).toBeUndefined();
    expect(live.brokerFault()).toBeUndefined();
  });

  it("refuses a provider fault in a service without a provider, naming faults.provider", () => {
    const live = new LiveFaults();
    expect(fieldsOf(() => live.replace({ ...noFaults, provider: "decline" }))).toEqual(["faults.provider"]);
    // Empty is no fault: accepted everywhere.
    expect(live.replace({ ...noFaults, provider: " ", broker: "code=UNAVAILABLE" }).broker).toBe("code=UNAVAILABLE");
  });

  it("refuses malformed specs, each named, and changes nothing then", () => {
    const live = new LiveFaults(undefined, { provider: true });
    live.replace({ ...noFaults, broker: "delay=1s" });
    const fields = fieldsOf(() =>
      live.replace({ calls: "decline", events: { "*": "decline" }, provider: "decline;code=UNAVAILABLE", broker: "code=NOPE" }),
    );
    expect(fields).toEqual(["faults.calls", "faults.provider", "faults.broker", "faults.events[*]"]);
    expect(live.settings()).toEqual({ ...noFaults, broker: "delay=1000ms" });
  });
});
