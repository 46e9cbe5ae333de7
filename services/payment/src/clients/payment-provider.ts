/**
 * The payment provider as the use cases call it: charges, refunds and cancels, each under an
 * idempotency key. The built-in one is the fake provider (fake-provider.ts).
 */

export type ChargeOutcome =
  | { readonly kind: "succeeded"; readonly chargeId: string }
  | { readonly kind: "declined" }
  /** The key was cancelled before anything was charged under it. */
  | { readonly kind: "cancelled" };

/** The provider could not answer this time; nothing was charged; try again. */
export class TransientProviderError extends Error {
  override readonly name = "TransientProviderError";
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
