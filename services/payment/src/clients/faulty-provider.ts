import { setTimeout as sleep } from "node:timers/promises";
import { faultStrikes, formatFault, type ProviderFaultSpec } from "@shopmesh/platform";
import { type ChargeOutcome, type PaymentProvider, TransientProviderError } from "./payment-provider.js";

/**
 * `provider` whose answers to charges an operator faults live (chaos: shop.ops.v1 Faults.provider),
 * as `faultOf` says at each charge: at the fault's rate, the answer comes after its delay, and is
 * a decline (`decline`) or a transient failure (any `code`: the provider is away, nothing was
 * charged, the use cases retry as for an outage); otherwise the provider answers. A decline closes
 * the charge's key at the provider (`cancel`), as a real decline settles it: nothing is charged
 * under the key later, and a key charged before keeps its charge, which is answered instead.
 * Refunds and cancels go through untouched.
 */
export function withProviderFaults(
  provider: PaymentProvider,
  faultOf: () => ProviderFaultSpec | undefined,
  random: () => number = Math.random,
): PaymentProvider {
  return {
    async charge(input): Promise<ChargeOutcome> {
      const spec = faultOf();
      if (!spec || !faultStrikes(spec, random)) return provider.charge(input);
      if (spec.delayMs > 0) await sleep(spec.delayMs);
      if (spec.decline) {
        const held = await provider.cancel(input.idempotencyKey);
        return held.kind === "cancelled" ? { kind: "declined" } : held;
      }
      if (spec.code !== undefined) throw new TransientProviderError(`injected provider fault (${formatFault(spec)})`);
      return provider.charge(input);
    },
    refund: (idempotencyKey) => provider.refund(idempotencyKey),
    cancel: (idempotencyKey) => provider.cancel(idempotencyKey),
  };
}
