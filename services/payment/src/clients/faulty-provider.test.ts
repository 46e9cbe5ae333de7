import { parseProviderFault, type ProviderFaultSpec } from "@shopmesh/platform";
import { describe, expect, it } from "vitest";
import { createFakeProvider, createMemoryLedger } from "./fake-provider.js";
import { withProviderFaults } from "./faulty-provider.js";
import { TransientProviderError } from "./payment-provider.js";

const input = (idempotencyKey: string, paymentMethod = "pm_test_ok") => ({
  idempotencyKey,
  paymentMethod,
  amountCents: 100,
  currency: "EUR",
});

function faulted(spec: string, random?: () => number) {
  const ledger = createMemoryLedger();
  let fault: ProviderFaultSpec | undefined = spec === "" ? undefined : parseProviderFault(spec);
  const provider = withProviderFaults(createFakeProvider({ ledger }), () => fault, random);
  return {
    ledger,
    provider,
    set: (next: string) => {
      fault = next === "" ? undefined : parseProviderFault(next);
    },
  };
}

describe("provider faults", () => {
  it("answers as the provider does without a fault", async () => {
    const { provider } = faulted("");
    expect((await provider.charge(input("a"))).kind).toBe("succeeded");
    expect(await provider.charge(input("b", "pm_test_declined"))).toEqual({ kind: "declined" });
  });

  it("declines, closing the key: nothing is charged under it once the fault is off", async () => {
    const { provider, ledger, set } = faulted("decline");
    expect(await provider.charge(input("a"))).toEqual({ kind: "declined" });
    expect(ledger.entries.get("a")?.outcome).toEqual({ kind: "cancelled" });
    set("");
    expect((await provider.charge(input("a"))).kind).not.toBe("succeeded");
  });

  it("a key charged before keeps its charge: a decline answers it", async () => {
    const { provider, set } = faulted("");
    const charged = await provider.charge(input("a"));
    set("decline");
    expect(await provider.charge(input("a"))).toEqual(charged);
  });

  it("fails transiently for a code, charging nothing", async () => {
    const { provider, ledger } = faulted("code=UNAVAILABLE");
    await expect(provider.charge(input("a"))).rejects.toBeInstanceOf(TransientProviderError);
    expect(ledger.entries.has("a")).toBe(false);
  });

  it("strikes at the fault's rate", async () => {
    const values = [0.1, 0.9];
    const { provider } = faulted("decline;rate=0.5", () => values.shift() ?? 0.9);
    expect(await provider.charge(input("a"))).toEqual({ kind: "declined" });
    expect((await provider.charge(input("b"))).kind).toBe("succeeded");
  });

  it("answers after the delay", async () => {
    const { provider } = faulted("delay=150ms");
    const started = performance.now();
    expect((await provider.charge(input("a"))).kind).toBe("succeeded");
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it("leaves refunds and cancels alone", async () => {
    const { provider } = faulted("code=UNAVAILABLE");
    await provider.refund("r");
    expect(await provider.cancel("c")).toEqual({ kind: "cancelled" });
  });
});
