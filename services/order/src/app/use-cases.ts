import {
  alreadyExists,
  invalidArgument,
  encodeKeysetToken,
  failedPrecondition,
  inTransaction,
  type KeysetCursor,
  type Envelope,
  type Logger,
  notFound,
  type OutboxRow,
  recordAudit,
  uuidv7,
  writeOutbox,
} from "@shopmesh/platform";
import type { Kysely, Transaction } from "kysely";
import type { CheckoutPeers } from "../clients/peers.js";
import * as repo from "../db/order.repository.js";
import type { OrderDb } from "../db/tables.js";
import {
  type AllOrdersQuery,
  type Order,
  type OrderItem,
  type OrderStatus,
  type Refund,
  type Pricing,
  priceOrder,
  REASON_PLACED,
  REASON_STOCK_RESERVED,
  type StatusTransition,
  type StatusUpdate,
} from "../domain/order.js";
import { CANCEL_OPERATOR, CANCEL_REFUND_ID, planCancel } from "../domain/cancel.js";
import { planRefund, REASON_PARTIALLY_REFUNDED, REASON_REFUNDED, sameRefund, statusAfterRefund } from "../domain/refund.js";
import { reactTo, type SagaEvent } from "../domain/saga.js";
import { transition } from "../domain/status.js";
import type { RefundRequest } from "../domain/validation.js";
import {
  cancelledChargeRefund,
  type OrderFacts,
  orderCancelled,
  orderPaid,
  orderPlaced,
  orderRefunded,
  orderRefundRequested,
  type RefundFacts,
} from "../events/order-events.js";
import { StatusFeed } from "./status-feed.js";
import { orderMetrics } from "./order-metrics.js";

type Db = Kysely<OrderDb>;
type PricedOrder = Extract<Pricing, { kind: "priced" }>;

export interface PlaceOrderInput {
  readonly userId: string;
  /** The shopper's email address from their verified token; '' when it has none. */
  readonly email: string;
  readonly idempotencyKey: string | undefined;
  /** The card's digits, already validated; held in memory only until tokenized. */
  readonly cardDigits: string | undefined;
}

export interface PlacedOrder {
  readonly orderId: string;
  /** PENDING for a new order; the order's status now for a replayed idempotency key. */
  readonly status: OrderStatus;
}

/** What applying a saga event did: its transitions and the outbox rows it wrote, to announce after commit. */
export interface AppliedEvent {
  readonly updates: readonly StatusUpdate[];
  readonly written: readonly OutboxRow[];
}

export interface OrderPage {
  readonly items: Order[];
  readonly nextPageToken: string;
}

/** The order use cases; arguments are validated by the caller, and `userId` is the verified caller. */
export interface Orders {
  /** Places an order from the user's cart (see PlaceOrder in order.proto). */
  placeOrder(input: PlaceOrderInput): Promise<PlacedOrder>;
  /** One of the user's orders; NOT_FOUND for another user's or an unknown one. */
  getOrder(userId: string, orderId: string): Promise<Order>;
  /** The user's orders, newest first, after `after` (a decoded page token). */
  listOrders(userId: string, pageSize: number, after: KeysetCursor | undefined): Promise<OrderPage>;
  /** Every user's orders, oldest first (internal). */
  listAllOrders(query: AllOrdersQuery): Promise<OrderPage>;
  /** Any user's order (operators); NOT_FOUND for an unknown one. */
  getAnyOrder(orderId: string): Promise<Order>;
  /**
   * Records an operator's refund of a paid order and asks the payment service for it
   * (OrderRefundRequested); answers with the order. See RefundOrder in order.proto.
   */
  refundOrder(request: RefundRequest): Promise<Order>;
  /**
   * An operator's cancel of an order that is not paid, audited with their `reason`; answers with
   * the order. See CancelOrder in order.proto.
   */
  cancelOrder(orderId: string, reason: string): Promise<Order>;
  /**
   * Applies a PaymentRefunded within the caller's (inbox) transaction: completes the refund and
   * moves the order to PARTIALLY_REFUNDED or REFUNDED, writing OrderRefunded. Undefined when the
   * event was consumed before.
   */
  consumeRefund(
    trx: Transaction<OrderDb>,
    envelope: Envelope,
    event: Extract<SagaEvent, { kind: "payment-refunded" }>,
  ): Promise<AppliedEvent | undefined>;
  /** The current status of each of the user's orders `ids`; NOT_FOUND when one is not theirs. */
  currentStatuses(userId: string, ids: readonly string[]): Promise<StatusUpdate[]>;
  /**
   * Applies a stock or payment event within the caller's (inbox) transaction, writing its
   * transitions and events; returns them, to {@link Orders.announce} after commit.
   */
  applyEvent(trx: Transaction<OrderDb>, event: SagaEvent): Promise<AppliedEvent>;
  /**
   * {@link Orders.applyEvent} for the delivered `envelope`, recorded in the inbox by the same
   * statement that locks the order; undefined when it was consumed before.
   */
  consumeEvent(trx: Transaction<OrderDb>, envelope: Envelope, event: SagaEvent): Promise<AppliedEvent | undefined>;
  /**
   * Whether `event` can be consumed in one statement without a transaction ({@link Orders.consumeAlone}):
   * StockReserved, which moves a PENDING order on and is stale for any other, when no other
   * order process needs to hear of the transition.
   */
  appliesAlone(event: SagaEvent): boolean;
  /** {@link Orders.consumeEvent} for an event that {@link Orders.appliesAlone}, in one statement on `db`. */
  consumeAlone(db: Kysely<OrderDb>, envelope: Envelope, event: SagaEvent): Promise<AppliedEvent | undefined>;
  /** Tells watchers of committed transitions and hands the events to the outbox relay. */
  announce(applied: AppliedEvent): void;
  /** Transitions after their commit, for WatchOrders/StreamOrders. */
  readonly feed: StatusFeed;
}

export interface OrdersOptions {
  readonly db: Db;
  readonly logger: Logger;
  readonly peers: CheckoutPeers;
  readonly feed?: StatusFeed;
  readonly now?: () => Date;
  /** Called right after a transaction that wrote outbox rows committed, with the rows (hands them to the relay). */
  readonly onEventsWritten?: (written: readonly OutboxRow[]) => void;
  /**
   * Postgres channel the transitions are announced on (NOTIFY in the transaction that makes
   * them), for order processes sharing the database: each feeds its {@link StatusFeed} from
   * it ({@link listenForStatus}) instead of from its own transitions. Unset: one process, the
   * feed is fed directly.
   */
  readonly statusChannel?: string;
}

export function createOrders({
  db,
  logger,
  peers,
  feed = new StatusFeed(logger),
  now = () => new Date(),
  onEventsWritten,
  statusChannel,
}: OrdersOptions): Orders {
  /** The earlier order of a replayed key, if it was placed with the same payment details. */
  const replay = async (existing: repo.OrderRow, paymentMethod: () => Promise<string>): Promise<PlacedOrder> => {
    if ((await paymentMethod()) !== existing.payment_method) {
      throw alreadyExists("idempotency_key was used for an order with other payment details");
    }
    return { orderId: existing.id, status: existing.status };
  };

  /**
   * The user's cart priced at the catalog's current prices, which must be those the shopper was
   * shown; FAILED_PRECONDITION or NOT_FOUND when it cannot be ordered.
   */
  const priceCart = async (userId: string): Promise<PricedOrder> => {
    const lines = await peers.cartLines(userId);
    if (lines.length === 0) throw failedPrecondition("cart is empty");
    const pricing = priceOrder(lines, await peers.prices([...new Set(lines.map((l) => l.productId))]));
    switch (pricing.kind) {
      case "priced":
        return pricing;
      case "empty":
        throw failedPrecondition("cart is empty");
      case "missing-products":
        throw notFound(`${pricing.productIds.length === 1 ? "product" : "products"} ${pricing.productIds.join(", ")}`);
      case "archived-products":
        throw failedPrecondition(
          `${pricing.productIds.length === 1 ? "product" : "products"} ${pricing.productIds.join(", ")} no longer sold: remove ${pricing.productIds.length === 1 ? "it" : "them"} from the cart`,
        );
      case "mixed-currencies":
        throw failedPrecondition(`the cart holds products in several currencies (${pricing.currencies.join(", ")})`);
      case "price-changed":
        throw failedPrecondition(
          `the price changed since the cart showed it: ${pricing.changed
            .map((c) => `product ${c.productId} from ${c.shownCents} ${c.shownCurrency} to ${c.priceCents} ${c.currency} cents`)
            .join(", ")}; read the cart again`,
        );
      case "too-large":
        throw failedPrecondition("the order total exceeds the largest amount that can be charged");
      default: {
        const never: never = pricing;
        throw new Error(`unknown pricing ${JSON.stringify(never)}`);
      }
    }
  };

  const page = (orders: Order[], limit: number): OrderPage => {
    const items = orders.slice(0, limit);
    const last = items.at(-1);
    return { items, nextPageToken: orders.length > limit && last ? encodeKeysetToken(last) : "" };
  };

  return {
    feed,

    async placeOrder({ userId, email, idempotencyKey, cardDigits }) {
      const tokenize = async () => (cardDigits === undefined ? "" : peers.tokenizeCard(cardDigits));
      const placedWithKey = async () => (idempotencyKey === undefined ? undefined : repo.findByIdempotencyKey(db, userId, idempotencyKey));
      const existing = await placedWithKey();
      if (existing) return replay(existing, tokenize);

      const paymentMethod = await tokenize();
      let pricing: PricedOrder;
      try {
        pricing = await priceCart(userId);
      } catch (err) {
        // A concurrent call with the same key may have placed the order meanwhile, and the
        // cart may be empty because of it: that order is the answer.
        const winner = await placedWithKey();
        if (winner) return replay(winner, async () => paymentMethod);
        throw err;
      }

      const at = now();
      const orderId = uuidv7(at.getTime());
      const facts: OrderFacts = { orderId, userId, items: pricing.items, totalCents: pricing.totalCents, currency: pricing.currency };
      const placed: StatusTransition = { seq: 1, from: "UNSPECIFIED", to: transition("UNSPECIFIED", "PENDING"), at, reason: REASON_PLACED };
      const { winner, written } = await inTransaction(
        db,
        async (trx) => {
          const inserted = await repo.insertOrder(trx, {
            id: orderId,
            user_id: userId,
            email,
            idempotency_key: idempotencyKey ?? null,
            payment_method: paymentMethod,
            status: "PENDING",
            cancel_reason: null,
            payment_id: null,
            total_cents: pricing.totalCents,
            currency: pricing.currency,
            version: placed.seq,
            created_at: at,
            updated_at: at,
          });
          // Lost a race for the idempotency key: the order placed first answers.
          if (!inserted) return { winner: await repo.findByIdempotencyKey(trx, userId, idempotencyKey ?? ""), written: [] };
          const contents = repo.orderContents(orderId, pricing.items, placed);
          return { winner: undefined, written: await writeOutbox(trx, orderPlaced(facts, paymentMethod, at), contents) };
        },
        "order",
      );
      if (winner) return replay(winner, async () => paymentMethod);
      onEventsWritten?.(written);
      orderMetrics.placed();
      logger.info({ order_id: orderId, user_id: userId, lines: pricing.items.length, total_cents: pricing.totalCents }, "order placed");
      return { orderId, status: "PENDING" };
    },

    async getOrder(userId, orderId) {
      const order = await repo.findDetailedOrder(db, orderId, userId);
      if (!order) throw notFound("order");
      return order;
    },

    async listOrders(userId, pageSize, after) {
      return page(await repo.listUserOrders(db, userId, pageSize, after), pageSize);
    },

    async listAllOrders({ pageSize, ...filter }) {
      return page(await repo.listAllOrders(db, { ...filter, limit: pageSize }), pageSize);
    },

    async getAnyOrder(orderId) {
      const order = await repo.findDetailedOrder(db, orderId);
      if (!order) throw notFound("order");
      return order;
    },

    async refundOrder({ orderId, lines, restock, reason, refundId }) {
      const at = now();
      const written = await inTransaction(
        db,
        async (trx) => {
          const { order: row } = await repo.lockOrder(trx, orderId);
          if (!row) throw notFound("order");
          const refunds = (await repo.findRefunds(trx, [orderId])).get(orderId) ?? [];
          const earlier = refundId === undefined ? undefined : refunds.find((r) => r.id === refundId);
          if (earlier) {
            if (!sameRefund(earlier, lines, restock, lines.length === 0)) {
              throw alreadyExists("refund_id was used for another refund of this order");
            }
            return [];
          }
          const plan = planRefund({ status: row.status, items: row.items, refunds }, lines);
          switch (plan.kind) {
            case "refund":
              break;
            case "not-refundable":
              throw failedPrecondition(`order ${orderId} is ${plan.status.toLowerCase()}: only a paid order can be refunded`);
            case "nothing-left":
              throw failedPrecondition(`every unit of order ${orderId} is refunded or being refunded`);
            case "unknown-line":
              throw invalidArgument(`lines[${plan.index}].product_id`, "is not a product of the order");
            case "duplicate-line":
              throw invalidArgument(`lines[${plan.index}].product_id`, "names a product already listed");
            case "too-many":
              throw invalidArgument(`lines[${plan.index}].quantity`, `is more than the ${plan.left} units left to refund`);
            default: {
              const never: never = plan;
              throw new Error(`unknown refund plan ${JSON.stringify(never)}`);
            }
          }
          const refund: Refund = {
            id: refundId ?? uuidv7(at.getTime()),
            lines: plan.lines,
            amountCents: plan.amountCents,
            restock,
            reason,
            completed: false,
            requestedAt: at,
            refundedAt: undefined,
          };
          await repo.insertRefund(trx, orderId, refund);
          const facts: RefundFacts = { refundId: refund.id, items: plan.items, amountCents: plan.amountCents, restock, reason };
          const event = orderRefundRequested({ orderId, userId: row.user_id, currency: row.currency }, row.payment_id ?? "", facts, at);
          const written = await writeOutbox(trx, event);
          await recordAudit(trx, {
            action: "order.refund",
            target: orderId,
            reason,
            details: {
              refund_id: refund.id,
              amount_cents: refund.amountCents,
              restock,
              lines: refund.lines.map((l) => ({ product_id: l.productId, quantity: l.quantity })),
            },
          });
          logger.info({ order_id: orderId, refund_id: refund.id, amount_cents: refund.amountCents, restock }, "refund requested");
          return written;
        },
        "order",
      );
      if (written.length > 0) onEventsWritten?.(written);
      return (await repo.findDetailedOrder(db, orderId)) as Order;
    },

    async cancelOrder(orderId, reason) {
      const at = now();
      const applied = await inTransaction(
        db,
        async (trx): Promise<AppliedEvent> => {
          // Locked: a saga event for the order waits for the cancel, and then finds it CANCELLED.
          const { order: row } = await repo.lockOrder(trx, orderId);
          if (!row) throw notFound("order");
          const plan = planCancel(row.status);
          switch (plan.kind) {
            case "cancel":
              break;
            case "already-cancelled":
              return { updates: [], written: [] };
            case "not-cancellable":
              throw failedPrecondition(`order ${orderId} is ${plan.status.toLowerCase()}: refund it instead`);
            default: {
              const never: never = plan;
              throw new Error(`unknown cancel plan ${JSON.stringify(never)}`);
            }
          }
          const step: StatusTransition = {
            seq: row.version + 1,
            from: row.status,
            to: transition(row.status, "CANCELLED"),
            at,
            reason: CANCEL_OPERATOR,
          };
          const facts: OrderFacts = {
            orderId,
            userId: row.user_id,
            items: row.items,
            totalCents: row.total_cents,
            currency: row.currency,
          };
          const refund = plan.refundPayment && row.payment_id !== null;
          const events = [orderCancelled(facts, CANCEL_OPERATOR, row.status, at)];
          if (refund) events.push(cancelledChargeRefund(facts, row.payment_id ?? "", at));
          const written = await writeOutbox(
            trx,
            events,
            repo.orderChange(orderId, [step], { status: "CANCELLED", version: step.seq, cancel_reason: CANCEL_OPERATOR, updated_at: at }),
          );
          await recordAudit(trx, {
            action: "order.cancel",
            target: orderId,
            reason,
            details: { from: row.status, refund_requested: refund, ...(refund ? { payment_id: row.payment_id } : {}) },
          });
          logger.info(
            { order_id: orderId, from: row.status, to: step.to, reason: step.reason, refund_requested: refund },
            "order status changed",
          );
          const updates: StatusUpdate[] = [
            { orderId, status: step.to, transition: step, cancelReason: CANCEL_OPERATOR, paymentId: undefined },
          ];
          if (statusChannel !== undefined) await repo.notifyStatus(trx, statusChannel, updates);
          return { updates, written };
        },
        "order",
      );
      announce(applied);
      return (await repo.findDetailedOrder(db, orderId)) as Order;
    },

    async consumeRefund(trx, envelope, event) {
      const { claimed, order: row } = await repo.lockOrder(trx, event.orderId, envelope);
      if (!claimed) return undefined;
      return applyRefund(trx, event, row);
    },

    async currentStatuses(userId, ids) {
      const found = await repo.findStatuses(db, userId, ids);
      if (found.length !== new Set(ids).size) {
        const known = new Set(found.map((u) => u.orderId));
        throw notFound(`order ${ids.find((id) => !known.has(id))}`);
      }
      return found;
    },

    async applyEvent(trx, event) {
      return apply(trx, event, (await repo.lockOrder(trx, event.orderId)).order);
    },

    async consumeEvent(trx, envelope, event) {
      const { claimed, order } = await repo.lockOrder(trx, event.orderId, envelope);
      return claimed ? apply(trx, event, order) : undefined;
    },

    appliesAlone(event) {
      return event.kind === "stock-reserved" && statusChannel === undefined;
    },

    async consumeAlone(db, envelope, event) {
      if (event.kind !== "stock-reserved") throw new Error(`${event.kind} cannot be applied alone`);
      const at = now();
      const step = { from: "PENDING" as const, to: transition("PENDING", "STOCK_RESERVED"), reason: REASON_STOCK_RESERVED, at };
      const stepped = await repo.claimAndStep(db, envelope, event.orderId, step);
      if (!stepped) return undefined;
      const log = { order_id: event.orderId, event: event.kind };
      if (stepped.seq === undefined) {
        if (stepped.statusBefore === undefined) logger.warn(log, "event for an unknown order ignored");
        else logger.info({ ...log, status: stepped.statusBefore }, "stale event ignored");
        return { updates: [], written: [] };
      }
      logger.info({ ...log, from: step.from, to: step.to, reason: step.reason }, "order status changed");
      const transitioned: StatusTransition = { seq: stepped.seq, from: step.from, to: step.to, at, reason: step.reason };
      return {
        updates: [{ orderId: event.orderId, status: step.to, transition: transitioned, cancelReason: undefined, paymentId: undefined }],
        written: [],
      };
    },

    announce,
  };

  function announce({ updates, written }: AppliedEvent): void {
    if (written.length > 0) onEventsWritten?.(written);
    if (updates.length === 0) return;
    orderMetrics.finished(updates);
    if (statusChannel === undefined) feed.publish(updates);
  }

  /** Completes a refund of the order `row`, locked by `trx`, its payment having refunded it. */
  async function applyRefund(
    trx: Transaction<OrderDb>,
    event: Extract<SagaEvent, { kind: "payment-refunded" }>,
    row: repo.OrderWithItems | undefined,
  ): Promise<AppliedEvent> {
    const log = { order_id: event.orderId, event: event.kind, refund_id: event.refundId };
    const nothing: AppliedEvent = { updates: [], written: [] };
    if (!row) {
      logger.warn(log, "event for an unknown order ignored");
      return nothing;
    }
    if (event.refundId === CANCEL_REFUND_ID) {
      // The charge of a cancelled order given back: the order stays CANCELLED, nothing to record.
      logger.info({ ...log, status: row.status, refunded_cents: event.amountCents }, "charge of a cancelled order refunded");
      return nothing;
    }
    const at = now();
    const refunds = (await repo.findRefunds(trx, [row.id])).get(row.id) ?? [];
    let completing: Refund[];
    let rest: Refund | undefined;
    if (event.refundId !== "") {
      const refund = refunds.find((r) => r.id === event.refundId);
      if (!refund) {
        logger.error(log, "payment refunded for a refund the order does not know");
        return nothing;
      }
      if (refund.completed) {
        logger.info(log, "stale event ignored");
        return nothing;
      }
      if (refund.amountCents !== event.amountCents) {
        logger.error(
          { ...log, amount_cents: refund.amountCents, refunded_cents: event.amountCents },
          "payment refunded another amount than asked",
        );
      }
      completing = [refund];
    } else {
      // The whole payment refunded at the payment service (PaymentService.Refund): all that was
      // left there. The refunds this order asked for that payment had not made yet are in that
      // money (payment finds nothing left when they reach it), so they complete with it; the
      // units in no refund are refunded too, their goods not returned.
      const plan = planRefund({ status: row.status, items: row.items, refunds }, []);
      rest =
        plan.kind === "refund"
          ? {
              id: uuidv7(at.getTime()),
              lines: plan.lines,
              amountCents: plan.amountCents,
              restock: false,
              reason: event.reason || "payment_refunded",
              completed: false,
              requestedAt: at,
              refundedAt: undefined,
            }
          : undefined;
      let covered = event.amountCents - (rest?.amountCents ?? 0);
      const asked: Refund[] = [];
      for (const r of refunds) {
        if (r.completed || r.amountCents > covered) continue;
        asked.push(r);
        covered -= r.amountCents;
      }
      completing = rest ? [...asked, rest] : asked;
      if (completing.length === 0) {
        logger.info({ ...log, status: row.status }, "stale event ignored");
        return nothing;
      }
    }
    if (row.status !== "PAID" && row.status !== "PARTIALLY_REFUNDED") {
      logger.error({ ...log, status: row.status }, "payment refunded for an order that is not paid");
      return nothing;
    }
    if (rest) await repo.insertRefund(trx, row.id, rest);
    let refundedCents = refunds.reduce((sum, r) => (r.completed ? sum + r.amountCents : sum), 0);
    for (const refund of completing) {
      await repo.completeRefund(trx, row.id, refund.id, at);
      refundedCents += refund.amountCents;
    }
    const to = transition(row.status, statusAfterRefund(row.total_cents, refundedCents));
    const step: StatusTransition = {
      seq: row.version + 1,
      from: row.status,
      to,
      at,
      reason: to === "REFUNDED" ? REASON_REFUNDED : REASON_PARTIALLY_REFUNDED,
    };
    const byProduct = new Map(row.items.map((i) => [i.productId, i]));
    let cumulative = refundedCents - completing.reduce((sum, r) => sum + r.amountCents, 0);
    const events = completing.map((refund) => {
      cumulative += refund.amountCents;
      const items = refund.lines.map((l) => {
        const item = byProduct.get(l.productId) as OrderItem;
        return { ...item, quantity: l.quantity, lineTotalCents: item.unitPriceCents * l.quantity };
      });
      const facts: RefundFacts = {
        refundId: refund.id,
        items,
        amountCents: refund.amountCents,
        restock: refund.restock,
        reason: refund.reason,
      };
      return orderRefunded({ orderId: row.id, userId: row.user_id, currency: row.currency }, facts, to, cumulative, at);
    });
    const written = await writeOutbox(trx, events, repo.orderChange(row.id, [step], { status: to, version: step.seq, updated_at: at }));
    logger.info({ ...log, from: row.status, to, reason: step.reason, refunded_cents: refundedCents }, "order status changed");
    const updates: StatusUpdate[] = [
      { orderId: row.id, status: to, transition: step, cancelReason: undefined, paymentId: row.payment_id ?? undefined },
    ];
    if (statusChannel !== undefined) await repo.notifyStatus(trx, statusChannel, updates);
    return { updates, written };
  }

  /** Applies `event` to the order `row`, locked by `trx` (undefined: an unknown order). */
  async function apply(trx: Transaction<OrderDb>, event: SagaEvent, row: repo.OrderWithItems | undefined): Promise<AppliedEvent> {
    const log = { order_id: event.orderId, event: event.kind };
    if (!row) {
      logger.warn(log, "event for an unknown order ignored");
      return { updates: [], written: [] };
    }
    const reaction = reactTo(row.status, event, { totalCents: row.total_cents, currency: row.currency });
    if (reaction.kind === "refund-charge") {
      // The held payment of an order cancelled ON_HOLD was asked back by the cancel itself.
      if (reaction.paymentId === row.payment_id) {
        logger.info({ ...log, status: row.status }, "stale event ignored");
        return { updates: [], written: [] };
      }
      logger.warn({ ...log, status: row.status, payment_id: reaction.paymentId }, "payment succeeded for a cancelled order; refunding it");
      const facts = { orderId: row.id, userId: row.user_id, currency: row.currency };
      return { updates: [], written: await writeOutbox(trx, cancelledChargeRefund(facts, reaction.paymentId, now())) };
    }
    if (reaction.kind === "ignore") {
      if (reaction.why === "stale" && row.status === "ON_HOLD" && event.kind === "payment-succeeded")
        logger.error({ ...log, status: row.status, payment_id: event.paymentId }, "another payment succeeded for an order on hold");
      else if (reaction.why === "stale") logger.info({ ...log, status: row.status }, "stale event ignored");
      else logger.warn({ ...log, status: row.status }, "event contradicting the order's status ignored");
      return { updates: [], written: [] };
    }

    const at = now();
    const steps: StatusTransition[] = [];
    let from: OrderStatus = row.status;
    for (const step of reaction.steps) {
      const to = transition(from, step.to);
      steps.push({ seq: row.version + steps.length + 1, from, to, at, reason: step.reason });
      from = to;
    }
    const last = steps.at(-1)!;
    const cancelReason = last.to === "CANCELLED" ? last.reason : null;
    const paymentId = reaction.paymentId ?? row.payment_id;
    const change = { status: last.to, version: last.seq, cancel_reason: cancelReason, payment_id: paymentId, updated_at: at };
    let written: OutboxRow[] = [];
    if (last.to !== "PAID" && last.to !== "CANCELLED") await repo.updateOrder(trx, row.id, steps, change);
    else {
      const facts: OrderFacts = {
        orderId: row.id,
        userId: row.user_id,
        items: row.items,
        totalCents: row.total_cents,
        currency: row.currency,
      };
      // A saga's cancellation leaves PENDING or STOCK_RESERVED (the machine checked it).
      const event =
        last.to === "PAID" ? orderPaid(facts, paymentId ?? "", at) : orderCancelled(facts, last.reason, last.from as OrderStatus, at);
      // The transitions, the order's row and its event in one statement.
      written = await writeOutbox(trx, event, repo.orderChange(row.id, steps, change));
    }
    if (last.to === "ON_HOLD" && event.kind === "payment-succeeded") {
      // Money moved, but not the order's total: an operator must look at it.
      logger.error(
        {
          ...log,
          reason: last.reason,
          payment_id: event.paymentId,
          total_cents: row.total_cents,
          currency: row.currency,
          paid_cents: event.amountCents,
          paid_currency: event.currency,
        },
        "payment does not match the order's total; order held for an operator",
      );
    }
    logger.info({ ...log, from: row.status, to: last.to, reason: last.reason }, "order status changed");
    const updates = steps.map((t) => ({
      orderId: row.id,
      status: t.to,
      transition: t,
      cancelReason: t.to === "CANCELLED" ? t.reason : undefined,
      paymentId: t.to === "PAID" ? (paymentId ?? undefined) : undefined,
    }));
    if (statusChannel !== undefined) await repo.notifyStatus(trx, statusChannel, updates);
    return { updates, written };
  }
}
