import { randomUUID } from "node:crypto";
import { TEST_TOKENS } from "./card-tokenizer.js";
import { type ChargeOutcome, type PaymentProvider, TransientProviderError } from "./payment-provider.js";

/**
 * The built-in fake payment provider. Pure apart from its ledger (injected): it keeps, per
 * idempotency key, how often it was called and the outcome it gave, and answers a key it has
 * settled with that outcome again without charging anew — as real providers honour
 * idempotency keys. That is what makes a crash between the provider call and our commit safe.
 * A key can also be cancelled (as a payment intent is), so that a charge given up on is not made
 * later by a call still on its way.
 */

/** What the provider remembers per idempotency key (its own storage, not ours). */
export interface ProviderLedger {
  /**
   * Counts one more call under `key`; returns the call's number (1 for the first) and the settled
   * outcome, if any. Given `first`, the first call settles the key with it in the same step.
   */
  begin(key: string, first?: ChargeOutcome): Promise<{ readonly call: number; readonly outcome: ChargeOutcome | undefined }>;
  /** Settles `key` with `outcome` unless it is settled already; returns the outcome that holds. */
  settle(key: string, outcome: ChargeOutcome): Promise<ChargeOutcome>;
}

export interface FakeProviderOptions {
  readonly ledger: ProviderLedger;
  /** Share 0..1 of calls failing transiently, on top of the test cards' behaviour. */
  readonly failureRate?: number;
  /** Random numbers in [0, 1), for tests. */
  readonly random?: () => number;
}

export function createFakeProvider({ ledger, failureRate = 0, random = Math.random }: FakeProviderOptions): PaymentProvider {
  return {
    async charge({ idempotencyKey, paymentMethod }) {
      const unlucky = failureRate > 0 && random() < failureRate;
      const transient = (call: number) =>
        unlucky || paymentMethod === TEST_TOKENS.unavailable || (paymentMethod === TEST_TOKENS.flaky && call === 1);
      const decide = (): ChargeOutcome =>
        paymentMethod === TEST_TOKENS.declined ? { kind: "declined" } : { kind: "succeeded", chargeId: `ch_${randomUUID()}` };
      // A first call that does not fail settles the key as it opens it.
      const { call, outcome } = await ledger.begin(idempotencyKey, transient(1) ? undefined : decide());
      if (outcome) return outcome;
      if (transient(call)) throw new TransientProviderError("payment provider temporarily unavailable");
      return ledger.settle(idempotencyKey, decide());
    },
    async refund(idempotencyKey) {
      await ledger.begin(idempotencyKey);
      await ledger.settle(idempotencyKey, { kind: "succeeded", chargeId: `re_${randomUUID()}` });
    },
    async cancel(idempotencyKey) {
      await ledger.begin(idempotencyKey);
      return ledger.settle(idempotencyKey, { kind: "cancelled" });
    },
  };
}

/** A ledger in memory (tests, or a provider that forgets on restart). */
export function createMemoryLedger(): ProviderLedger & {
  readonly entries: ReadonlyMap<string, { calls: number; outcome?: ChargeOutcome }>;
} {
  const entries = new Map<string, { calls: number; outcome?: ChargeOutcome }>();
  return {
    entries,
    async begin(key, first) {
      const entry = entries.get(key) ?? { calls: 0, ...(first ? { outcome: first } : {}) };
      entry.calls++;
      entries.set(key, entry);
      return { call: entry.calls, outcome: entry.outcome };
    },
    async settle(key, outcome) {
      const entry = entries.get(key) ?? { calls: 1 };
      entry.outcome ??= outcome;
      entries.set(key, entry);
      return entry.outcome;
    },
  };
}
