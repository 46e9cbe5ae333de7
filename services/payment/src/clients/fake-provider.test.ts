import { describe, expect, it } from "vitest";
import { normalizeCardNumber } from "@shopmesh/platform";
import { createFakeProvider, createMemoryLedger, TransientProviderError, tokenizeCard } from "./fake-provider.js";

const input = (paymentMethod: string, idempotencyKey = "o-1") => ({ idempotencyKey, paymentMethod, amountCents: 100, currency: "EUR" });

describe("fake provider", () => {
  it("tokenizes the test cards and other Luhn-valid numbers; refuses malformed ones", () => {
    expect(tokenizeCard(normalizeCardNumber("4242 4242 4242 4242")!)).toEqual({
      paymentMethod: "pm_test_ok",
      brand: "visa",
      last4: "4242",
    });
    expect(tokenizeCard("4000000000000002").paymentMethod).toBe("pm_test_declined");
    expect(tokenizeCard("4000000000000119").paymentMethod).toBe("pm_test_flaky");
    expect(tokenizeCard("4000000000000341").paymentMethod).toBe("pm_test_unavailable");
    const other = tokenizeCard(normalizeCardNumber("5555-5555-5555-4444")!);
    expect(other).toMatchObject({ brand: "mastercard", last4: "4444" });
    expect(other.paymentMethod).toMatch(/^pm_[0-9a-f]{24}$/);
    expect(tokenizeCard("5555555555554444").paymentMethod).toBe(other.paymentMethod);
    for (const bad of ["4242424242424241", "1234", "4242x4242424242424", ""]) expect(normalizeCardNumber(bad)).toBeUndefined();
  });

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
