import { createHash } from "node:crypto";

/**
 * The card tokenizer: turns a card number into the payment-method token the provider charges, as
 * a provider's tokenization would. The test cards get the test tokens, any other valid number an
 * opaque token derived from it; the number itself is kept nowhere.
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
