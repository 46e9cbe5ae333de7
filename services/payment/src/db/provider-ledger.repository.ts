import { withDbErrors } from "@shopmesh/platform";
import { type Kysely, sql } from "kysely";
import type { ProviderLedger } from "../clients/fake-provider.js";
import type { ChargeOutcome } from "../clients/payment-provider.js";
import type { PaymentDb } from "./tables.js";

/**
 * The fake provider's ledger in the `provider_ledger` table. Each call commits on its own,
 * outside any transaction of ours, like a remote provider's storage.
 */
export function createDbLedger(db: Kysely<PaymentDb>): ProviderLedger {
  return {
    async begin(key, first) {
      const row = await withDbErrors(() =>
        db
          .insertInto("provider_ledger")
          .values({ idempotency_key: key, calls: 1, outcome: first ? JSON.stringify(first) : null, created_at: new Date() })
          .onConflict((oc) => oc.column("idempotency_key").doUpdateSet({ calls: sql`provider_ledger.calls + 1` }))
          .returning(["calls", "outcome"])
          .executeTakeFirstOrThrow(),
      );
      return { call: row.calls, outcome: row.outcome === null ? undefined : (JSON.parse(row.outcome) as ChargeOutcome) };
    },
    async settle(key, outcome) {
      // The first outcome stays: a second settle returns it.
      const row = await withDbErrors(() =>
        db
          .updateTable("provider_ledger")
          .set((eb) => ({ outcome: eb.fn.coalesce("outcome", eb.val(JSON.stringify(outcome))) }))
          .where("idempotency_key", "=", key)
          .returning("outcome")
          .executeTakeFirstOrThrow(),
      );
      return JSON.parse(row.outcome ?? JSON.stringify(outcome)) as ChargeOutcome;
    },
  };
}
