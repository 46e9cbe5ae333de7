import {
  alreadyExists,
  decodeKeysetToken,
  encodeKeysetToken,
  failedPrecondition,
  inTransaction,
  type Envelope,
  type Logger,
  notFound,
  type OutboxRow,
  uuidv7,
  writeOutbox,
} from "@shopmesh/platform";
import type { Kysely } from "kysely";
import { TEST_TOKEN_LAST4, TEST_TOKENS, type TokenizedCard, tokenizeCard } from "../clients/card-tokenizer.js";
import { type ChargeOutcome, type PaymentProvider, TransientProviderError } from "../clients/payment-provider.js";
import { type CheckoutFact, findPlacedCheckout, recordCheckout } from "../db/checkout.repository.js";
import * as repo from "../db/payment.repository.js";
import type { PaymentDb } from "../db/tables.js";
import { type ChargeIntent, decideRefund, type FailureReason, type ListQuery, type Payment, sameCharge } from "../domain/payment.js";
import { paymentEvent, paymentRefunded } from "../events/payment-events.js";

type Db = Kysely<PaymentDb>;

/** Retries of transient provider failures inside one charge. */
export interface ChargeRetry {
  /** Provider calls per charge, the first included. */
  readonly attempts: number;
  readonly initialMs: number;
  readonly maxMs: number;
}

export interface PaymentsOptions {
  readonly db: Db;
  readonly logger: Logger;
  readonly provider: PaymentProvider;
  readonly retry?: ChargeRetry;
  /** Called right after a transaction that wrote outbox rows committed, with the rows (hands them to the relay). */
  readonly onEventsWritten?: (written: readonly OutboxRow[]) => void;
}

/** A refund of an order's payment; `amountCents` undefined for all that is left. */
export interface RefundIntent {
  readonly orderId: string;
  /** The order's refund id; "" for a refund of the rest (Refund). */
  readonly refundId: string;
  readonly amountCents: number | undefined;
  readonly reason: string;
}

/** What the saga consumer hands over, decoded. */
export type SagaEvent =
  | { readonly kind: "order-placed"; readonly intent: ChargeIntent }
  | { readonly kind: "stock-reserved"; readonly orderId: string }
  | { readonly kind: "stock-rejected"; readonly orderId: string }
  | { readonly kind: "refund-requested"; readonly orderId: string; readonly refund: RefundIntent };

/** What recording a saga event left to charge. */
export interface RecordedSagaEvent {
  readonly orderId: string;
  /** Whether the order is now placed and its stock reserved: its payment may be charged. */
  readonly complete: boolean;
  /** The PENDING payment the event created, and how to charge it. */
  readonly created: PendingCharge | undefined;
}

/** A PENDING payment and the payment method it charges. */
interface PendingCharge {
  readonly payment: Payment;
  readonly paymentMethod: string;
}

export interface PaymentPage {
  readonly items: Payment[];
  readonly nextPageToken: string;
}

export interface Payments {
  /** Tokenizes a card number given as its digits (the handler checked it). */
  tokenizeCard(digits: string): Promise<TokenizedCard>;
  /**
   * Charges an order once; asking again returns its payment (settling it if a crash left it
   * PENDING). FAILED_PRECONDITION for an order no OrderPlaced told of, or told of with another
   * user, amount or currency.
   */
  charge(intent: ChargeIntent): Promise<Payment>;
  /** Refunds what is left of the order's payment (Refund); a REFUNDED payment is returned unchanged. */
  refund(orderId: string, reason: string): Promise<Payment>;
  /**
   * Refunds `amountCents` of the order's payment for the order's refund `refundId`, once: a
   * refund id seen before returns the payment unchanged. FAILED_PRECONDITION when the payment
   * did not succeed or has less left than asked.
   */
  refundPart(refund: RefundIntent): Promise<Payment>;
  /**
   * {@link Payments.refundPart} for an OrderRefundRequested, then the event recorded in the
   * inbox; undefined when it was recorded before (the refund, being keyed, was not made twice).
   */
  refundFromEvent(event: Envelope, refund: RefundIntent): Promise<RecordedSagaEvent | undefined>;
  /** The caller's payment by id or order id; NOT_FOUND for another user's. */
  getPayment(lookup: { id: string } | { orderId: string }, userId: string): Promise<Payment>;
  listPayments(query: ListQuery): Promise<PaymentPage>;
  /**
   * Records a saga event and its inbox row in one statement; may create a PENDING payment.
   * Undefined when the event was consumed before.
   */
  recordSagaEvent(event: Envelope, saga: SagaEvent): Promise<RecordedSagaEvent | undefined>;
  /** Charges the payment a recorded saga event created, or else the order's if it is PENDING. */
  settleRecorded(recorded: RecordedSagaEvent): Promise<Payment | undefined>;
  /** Charges the order's payment if it is PENDING (after the saga created it, or after a crash). */
  settlePending(orderId: string): Promise<Payment | undefined>;
  /** Settles every PENDING payment (at start: work a crash interrupted); one that fails stays PENDING, the others go on. */
  resumePending(): Promise<number>;
}

/** How a charge ends: what the provider answered, or why it was not charged. */
type Settled = Exclude<ChargeOutcome, { kind: "cancelled" }> | { readonly kind: "failed"; readonly reason: FailureReason };

/** A cancelled key was given up on while the provider was unavailable (by this call or another). */
const settledBy = (outcome: ChargeOutcome): Settled =>
  outcome.kind === "cancelled" ? { kind: "failed", reason: "provider_unavailable" } : outcome;

const DEFAULT_RETRY: ChargeRetry = { attempts: 4, initialMs: 50, maxMs: 400 };
const DEFAULT_METHOD = TEST_TOKENS.ok;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function createPayments({ db, logger, provider, retry = DEFAULT_RETRY, onEventsWritten }: PaymentsOptions): Payments {
  const createPending = async (trx: Db, intent: ChargeIntent) => {
    const createdAt = new Date();
    return repo.insertPendingPayment(trx, {
      id: uuidv7(createdAt.getTime()),
      order_id: intent.orderId,
      user_id: intent.userId,
      amount_cents: intent.amountCents,
      currency: intent.currency,
      payment_method: intent.paymentMethod || DEFAULT_METHOD,
      card_last4: "",
      created_at: createdAt,
    });
  };

  const cardLast4 = async (token: string): Promise<string | undefined> =>
    TEST_TOKEN_LAST4.get(token) ?? (await repo.findCardLast4(db, token));

  /** Moves a PENDING payment to its final state with its event, in one transaction; a no-op if another call did. */
  const finalize = async (orderId: string, result: { outcome: Settled; calls: number; last4: string }): Promise<Payment> => {
    const payment = await inTransaction(db, async (trx) => {
      const { outcome } = result;
      const set =
        outcome.kind === "succeeded"
          ? { status: "SUCCEEDED" as const, provider_charge_id: outcome.chargeId }
          : { status: "FAILED" as const, failure_reason: outcome.kind === "declined" ? "declined" : outcome.reason };
      const updated = await repo.finishPending(trx, orderId, { ...set, card_last4: result.last4 }, result.calls, new Date());
      if (!updated) {
        const current = await repo.findByOrderId(trx, orderId);
        if (!current) throw new Error(`payment of order ${orderId} vanished`);
        return { payment: current, changed: false, written: [] };
      }
      const event = paymentEvent(updated);
      const written = event ? await writeOutbox(trx, event) : [];
      return { payment: updated, changed: true, written };
    });
    if (payment.changed) {
      onEventsWritten?.(payment.written);
      logger.info(
        { order_id: orderId, payment_id: payment.payment.id, status: payment.payment.status, reason: payment.payment.failureReason },
        "payment settled",
      );
    }
    return payment.payment;
  };

  const settle = async ({ payment, paymentMethod: method }: PendingCharge): Promise<Payment> => {
    const last4 = await cardLast4(method);
    if (last4 === undefined) {
      return finalize(payment.orderId, { outcome: { kind: "failed", reason: "invalid_payment_method" }, calls: 0, last4: "" });
    }
    // The order id is the idempotency key: whatever retries, redeliveries or restarts happen
    // before our commit, the provider charges the order at most once.
    const idempotencyKey = `charge:${payment.orderId}`;
    let calls = 0;
    for (;;) {
      calls++;
      try {
        const outcome = await provider.charge({
          idempotencyKey,
          paymentMethod: method,
          amountCents: payment.amountCents,
          currency: payment.currency,
        });
        return finalize(payment.orderId, { outcome: settledBy(outcome), calls, last4 });
      } catch (err) {
        if (!(err instanceof TransientProviderError)) throw err;
        if (calls >= retry.attempts) {
          logger.warn({ order_id: payment.orderId, calls }, "payment provider unavailable; giving up");
          // The key is cancelled before the payment is recorded FAILED: a charge of this order
          // still on its way to the provider (another replica's, a redelivery's) can no longer
          // be made, and one made meanwhile is what the key holds, so it ends SUCCEEDED. Should
          // the cancel fail, the payment stays PENDING for a redelivery, a Charge or the next start.
          const held = await provider.cancel(idempotencyKey);
          return finalize(payment.orderId, { outcome: settledBy(held), calls, last4 });
        }
        const delayMs = Math.min(retry.maxMs, retry.initialMs * 2 ** (calls - 1));
        logger.debug({ order_id: payment.orderId, calls, delay_ms: delayMs }, "payment provider failed transiently; retrying");
        await sleep(delayMs);
      }
    }
  };

  const settlePending = async (orderId: string): Promise<Payment | undefined> => {
    const charge = await repo.findChargeByOrderId(db, orderId);
    if (charge?.payment.status !== "PENDING") return charge?.payment;
    return settle(charge);
  };

  /** Refunds through the provider, then records the refund and its PaymentRefunded, once per refund id. */
  async function refundPayment({ orderId, refundId, amountCents, reason }: RefundIntent): Promise<Payment> {
    const before = await repo.findByOrderId(db, orderId);
    if (!before) throw notFound("payment");
    if (await repo.hasRefund(db, orderId, refundId)) return before;
    // Nothing left to give back: a refund of the rest finds it all refunded already, and so does an
    // order's refund that a refund of the whole payment (Refund) overtook, whose money that took.
    if (before.status === "REFUNDED") return before;
    const decided = decideRefund(before, amountCents);
    if (decided.kind === "not-refundable") {
      throw failedPrecondition(`payment of order ${orderId} is ${before.status.toLowerCase()}, not succeeded`);
    }
    if (decided.kind === "too-much") throw failedPrecondition(`payment of order ${orderId} has ${decided.leftCents} cents left to refund`);
    // Outside our transaction (the provider is remote), keyed so that a repeat refunds once.
    await provider.refund(refundId === "" ? `refund:${orderId}` : `refund:${orderId}:${refundId}`);
    const result = await inTransaction(db, async (trx) => {
      const current = await repo.findByOrderId(trx, orderId, { forUpdate: true });
      if (!current) throw notFound("payment");
      const now = new Date();
      const decision = decideRefund(current, amountCents);
      if (decision.kind !== "refund") return { payment: current, changed: false, written: [] };
      if (!(await repo.insertRefund(trx, orderId, refundId, decision.amountCents, now))) {
        return { payment: current, changed: false, written: [] };
      }
      const updated = await repo.updatePayment(
        trx,
        orderId,
        { status: decision.status, refund_reason: reason, refunded_cents: decision.refundedCents },
        now,
      );
      const written = await writeOutbox(trx, paymentRefunded(updated, refundId, decision.amountCents));
      return { payment: updated, changed: true, written };
    });
    if (result.changed) {
      onEventsWritten?.(result.written);
      logger.info(
        { order_id: orderId, payment_id: result.payment.id, refund_id: refundId, refunded_cents: result.payment.refundedCents },
        "payment refunded",
      );
    }
    return result.payment;
  }

  return {
    async tokenizeCard(digits) {
      const card = tokenizeCard(digits);
      await repo.saveCard(db, { token: card.paymentMethod, brand: card.brand, last4: card.last4 });
      return card;
    },

    async charge(intent) {
      if (!(await repo.findChargeByOrderId(db, intent.orderId))) {
        // Only what the order service announced can be charged, and only as it announced it.
        const placed = await findPlacedCheckout(db, intent.orderId);
        if (!placed) throw failedPrecondition(`order ${intent.orderId} is unknown here: no OrderPlaced was recorded for it`);
        if (placed.userId !== intent.userId || placed.amountCents !== intent.amountCents || placed.currency !== intent.currency) {
          throw failedPrecondition(`order ${intent.orderId} was placed by another user, or for another amount or currency`);
        }
      }
      const { payment, created, paymentMethod } = await createPending(db, intent);
      if (!created && !sameCharge(payment, intent)) {
        throw alreadyExists(`order ${intent.orderId} was charged with another user, amount or currency`);
      }
      return payment.status === "PENDING" ? settle({ payment, paymentMethod }) : payment;
    },

    refund(orderId, reason) {
      return refundPayment({ orderId, refundId: "", amountCents: undefined, reason });
    },

    refundPart: refundPayment,

    async refundFromEvent(event, refund) {
      // Refunding first and recording after: a crash in between redelivers the event, which
      // then refunds nothing more (the refund id is recorded with the payment).
      await refundPayment(refund);
      if (!(await repo.claimEvent(db, event))) return undefined;
      return { orderId: refund.orderId, complete: false, created: undefined };
    },

    async getPayment(lookup, userId) {
      const payment = "id" in lookup ? await repo.findById(db, lookup.id) : await repo.findByOrderId(db, lookup.orderId);
      if (!payment || payment.userId !== userId) throw notFound("payment");
      return payment;
    },

    async listPayments(query) {
      const limit = query.pageSize === 0 ? 100 : query.pageSize;
      const rows = await repo.listPayments(db, {
        limit,
        after: decodeKeysetToken(query.pageToken),
        statuses: query.statuses,
        orderId: query.orderId || undefined,
        userId: query.userId || undefined,
      });
      const items = rows.slice(0, limit);
      const last = items.at(-1);
      return { items, nextPageToken: rows.length > limit && last ? encodeKeysetToken(last) : "" };
    },

    async recordSagaEvent(event, saga) {
      if (saga.kind === "refund-requested") throw new Error("a refund is recorded by refundFromEvent");
      const fact: CheckoutFact =
        saga.kind === "order-placed"
          ? { kind: "placed", intent: saga.intent }
          : { kind: "stock", orderId: saga.orderId, stock: saga.kind === "stock-reserved" ? "reserved" : "rejected" };
      const createdAt = new Date();
      const recorded = await recordCheckout(db, event, fact, {
        id: uuidv7(createdAt.getTime()),
        createdAt,
        defaultMethod: DEFAULT_METHOD,
      });
      if (!recorded) return undefined;
      const { created } = recorded;
      return {
        orderId: saga.kind === "order-placed" ? saga.intent.orderId : saga.orderId,
        complete: recorded.complete,
        created: created && { payment: repo.toPayment(created), paymentMethod: created.payment_method },
      };
    },

    async settleRecorded({ orderId, complete, created }) {
      if (created) return settle(created);
      // Not created by this event: one the order has may be PENDING still (a Charge's, say).
      return complete ? settlePending(orderId) : undefined;
    },

    settlePending,

    async resumePending() {
      const orderIds = await repo.pendingOrderIds(db);
      let failed = 0;
      for (const orderId of orderIds) {
        try {
          await settlePending(orderId);
        } catch (err) {
          // Still PENDING: settled by the event's redelivery, a Charge or the next start; the
          // orders after it must not wait for that.
          failed++;
          logger.error({ err, order_id: orderId }, "resuming a pending payment failed");
        }
      }
      if (orderIds.length > 0) logger.info({ payments: orderIds.length, failed }, "pending payments resumed");
      return orderIds.length;
    },
  };
}
