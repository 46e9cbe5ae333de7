import { createHash, randomUUID } from "node:crypto";

/**
 * The built-in fake payment provider. Pure apart from its ledger (injected): it keeps, per
 * idempotency key, how often it was called and the outcome it gave, and answers a key it has
 * settled with that outcome again without charging anew — as real providers honour
 * idempotency keys. That is what makes a crash between the provider call and our commit safe.
 * A key can also be cancelled (as a payment intent is), so that a charge given up on is not made
 * later by a call still on its way.
 */

/** Test payment-method tokens (see payment.proto). */
export const TEST_TOKENS = {
  ok: "pm_test_ok",
  declined: "pm_test_declined",
  flaky: "pm_test_flaky",
  unavailable: "pm_test_unavailable",
} as const;

/** The test cards: number → token and last four digits. */
const TEST_CARDS: ReadonlyMap<string, string> = new Map([
  ["4242424242424242", TEST_TOKENS.ok],
  ["4000000000000002", TEST_TOKENS.declined],
  ["4000000000000119", TEST_TOKENS.flaky],
  ["4000000000000341", TEST_TOKENS.unavailable],
]);

/** Last four digits of the test cards, by token. */
export const TEST_TOKEN_LAST4: ReadonlyMap<string, string> = new Map([...TEST_CARDS].map(([number, token]) => [token, number.slice(-4)]));

export interface TokenizedCard {
  readonly paymentMethod: string;
  readonly brand: string;
  readonly last4: string;
}

export function cardBrand(digits: string): string {
  if (digits.startsWith("4")) return "visa";
  if (/^(5[1-5]|2[2-7])/.test(digits)) return "mastercard";
  if (/^3[47]/.test(digits)) return "amex";
  return "unknown";
}

/**
 * The token of a valid card number: the test tokens for the test cards, else an opaque
 * `pm_` token derived from the number (the same number always gives the same token).
 */
export function tokenizeCard(digits: string): TokenizedCard {
  const paymentMethod =
    TEST_CARDS.get(digits) ?? `pm_${createHash("sha256").update(`shopmesh-fake-provider:${digits}`).digest("hex").slice(0, 24)}`;
  return { paymentMethod, brand: cardBrand(digits), last4: digits.slice(-4) };
}

export type ChargeOutcome =
  | { readonly kind: "succeeded"; readonly chargeId: string }
  | { readonly kind: "declined" }
  /** The key was cancelled before anything was charged under it. */
  | { readonly kind: "cancelled" };

/** The provider could not answer this time; nothing was charged; try again. */
export class TransientProviderError extends Error {
  override readonly name = "TransientProviderError";
}

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

export interface ChargeInput {
  /** One key per charge intent (we use the order id): a settled key is never charged again. */
  readonly idempotencyKey: string;
  readonly paymentMethod: string;
  readonly amountCents: number;
  readonly currency: string;
}

export interface PaymentProvider {
  /** Charges, or returns the outcome already given for the key; throws TransientProviderError when it fails for now. */
  charge(input: ChargeInput): Promise<ChargeOutcome>;
  /** Refunds a charge in full; idempotent per key. */
  refund(idempotencyKey: string): Promise<void>;
  /**
   * Closes a charge's key: nothing is charged under it from now on. Resolves to the outcome the
   * key holds: `cancelled`, or the charge or decline made before. Throws when the provider
   * cannot be reached (then the key may still be charged).
   */
  cancel(idempotencyKey: string): Promise<ChargeOutcome>;
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
