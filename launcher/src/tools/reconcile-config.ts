import { type ConfigOf, checkTlsConfig, env, loadConfig, tlsVars } from "@shopmesh/platform";

/** Settings of `npm run reconcile`. Without the three addresses it reads those of the running embedded mode. */
export const reconcileConfigSchema = {
  ORDER_ADDR: env.optional(env.address({ doc: "host:port of the order service" })),
  PAYMENT_ADDR: env.optional(env.address({ doc: "host:port of the payment service" })),
  CATALOG_ADDR: env.optional(env.address({ doc: "host:port of the catalog service" })),
  SHOPMESH_DATA_DIR: env.string({
    doc: "data folder of the embedded mode whose addresses are used when the *_ADDR variables are unset",
    default: ".data",
  }),
  RECONCILE_STUCK_AFTER_SECONDS: env.int({
    doc: "an order not paid or cancelled this long after its last change is reported as stuck",
    default: 300,
    min: 1,
  }),
  RECONCILE_SETTLE_SECONDS: env.int({
    doc: "orders changed this recently are left out of the cross-service checks (their events may be in flight)",
    default: 5,
    min: 0,
  }),
  // Its calls go over mutual TLS as the "reconcile" workload; without SHOPMESH_TLS_DIR it uses the
  // folder of the running embedded mode (or <SHOPMESH_DATA_DIR>/tls).
  ...tlsVars(),
};

export type ReconcileConfig = ConfigOf<typeof reconcileConfigSchema>;

export function readReconcileConfig(source: Record<string, string | undefined> = process.env): ReconcileConfig {
  const config = loadConfig(reconcileConfigSchema, source);
  checkTlsConfig(config);
  return config;
}
