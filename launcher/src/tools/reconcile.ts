/**
 * `npm run reconcile`'s reading of the books: clients of order, payment and catalog as the
 * `reconcile` workload, handed to the platform's reconciliation (platform/src/operations/reconcile.ts,
 * which the edge's GetInvariants runs too).
 */
import {
  type CheckOptions,
  type Client,
  closeClient,
  createClient,
  type Logger,
  type MeshTls,
  type ReconcileReport,
  reconcileBooks,
} from "@shopmesh/platform";
import { CatalogService } from "@shopmesh/proto/shop/catalog/v1/catalog_pb.js";
import { OrderService } from "@shopmesh/proto/shop/order/v1/order_pb.js";
import { PaymentService } from "@shopmesh/proto/shop/payment/v1/payment_pb.js";

export {
  allPages,
  type CheckOptions,
  checkBooks as check,
  type Discrepancy,
  formatReport,
  type ReconcileReport,
} from "@shopmesh/platform";

/** gRPC addresses (host:port) of the services whose books are checked. */
export interface ReconcileTargets {
  readonly order: string;
  readonly payment: string;
  readonly catalog: string;
}

export interface ReconcileOptions extends CheckOptions {
  /** Deadline of each listing call. Default 10 s. */
  readonly callTimeoutMs?: number;
  readonly logger?: Logger;
  /** Mutual TLS, as the "reconcile" workload. */
  readonly tls?: MeshTls;
}

/** Reads the books of the three services at `targets` and checks them against each other. */
export async function reconcile(targets: ReconcileTargets, opts: ReconcileOptions): Promise<ReconcileReport> {
  const clientOpts = { logger: opts.logger, defaultTimeoutMs: opts.callTimeoutMs ?? 10_000, tls: opts.tls };
  const catalog = createClient(CatalogService, targets.catalog, clientOpts);
  const payments = createClient(PaymentService, targets.payment, clientOpts);
  const orders = createClient(OrderService, targets.order, clientOpts);
  try {
    return await reconcileBooks({ catalog, payments, orders }, opts);
  } finally {
    for (const c of [catalog, payments, orders] as Client<never>[]) closeClient(c);
  }
}
