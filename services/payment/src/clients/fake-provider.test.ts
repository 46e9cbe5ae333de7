import { describe, expect, it } from "vitest";
import { createFakeProvider, createMemoryLedger } from "./fake-provider.js";
import { TransientProviderError } from "./payment-provider.js";

const input = (paymentMethod: string, idempotencyKey = "o-1") => ({ idempotencyKey, paymentMethod, amountCents: 100, currency: "EUR" });

describe("fake provider", () => {
  it("honours idempotency keys: a settled key is answered again, never charged twice", async () => {
    const ledger = createMemoryLedger();
    const provider = createFakeProvider({ ledger });
    const first = await provider.charge(input("pm_test_ok"));
    expect(first.kind).toBe("succeeded");
    expect(await provider.charge(input("pm_test_ok"))).toEqual(first);
    expect(ledger.entries.get("o-1")).toMatchObject({ calls: 2, outcome: first });
  });

  it("declines, fails once for the flaky card, always for the unavailable one", async () => {
    const provider = createFakeProvider({ ledger: createMemoryLedger() });
    expect(await provider.charge(input("pm_test_declined", "a"))).toEqual({ kind: "declined" });
    await expect(provider.charge(input("pm_test_flaky", "b"))).rejects.toBeInstanceOf(TransientProviderError);
    expect((await provider.charge(input("pm_test_flaky", "b"))).kind).toBe("succeeded");
    await expect(provider.charge(input("pm_test_unavailable", "c"))).rejects.toBeInstanceOf(TransientProviderError);
    await expect(provider.charge(input("pm_test_unavailable", "c"))).rejects.toBeInstanceOf(TransientProviderError);
  });

  it("a cancelled key charges nothing later; cancelling a charged key answers the charge", async () => {
    const ledger = createMemoryLedger();
    const provider = createFakeProvider({ ledger });
    expect(await provider.cancel("given-up")).toEqual({ kind: "cancelled" });
    expect(await provider.charge(input("pm_test_ok", "given-up"))).toEqual({ kind: "cancelled" });
    const charged = await provider.charge(input("pm_test_ok", "charged"));
    expect(await provider.cancel("charged")).toEqual(charged);
    expect(await provider.charge(input("pm_test_ok", "charged"))).toEqual(charged);
  });

  it("fails transiently at the injected rate", async () => {
    const values = [0.1, 0.9];
    const provider = createFakeProvider({ ledger: createMemoryLedger(), failureRate: 0.5, random: () => values.shift() ?? 0.9 });
    await expect(provider.charge(input("pm_test_ok"))).rejects.toBeInstanceOf(TransientProviderError);
    expect((await provider.charge(input("pm_test_ok"))).kind).toBe("succeeded");
  });
});
