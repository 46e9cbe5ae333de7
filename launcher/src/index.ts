export { startEmbedded, type EmbeddedMesh } from "./embedded-mesh.js";
export {
  type DistributedMesh,
  type DistributedOptions,
  describeExit,
  dropServiceDatabases,
  type OutputSink,
  type ProcessExit,
  type ServiceName,
  serviceNames,
  startDistributed,
} from "./distributed-mesh.js";
export {
  liveServiceWorkers,
  type ServiceWorker,
  type StartedUnit,
  startServiceWorker,
  startWorkerHost,
  type WorkerExit,
  type WorkerHost,
  type WorkerHostOptions,
  type WorkerName,
} from "./service-worker.js";
export { distributedConfigSchema, embeddedConfigSchema, readDistributedConfig, readEmbeddedConfig } from "./config.js";
export { type OrderJson, productStock, type RestReply, RestError, rest, Shopper } from "./shopper.js";
export { type EmbeddedAddresses, embeddedAddressesFile, readEmbeddedAddresses } from "./embedded-addresses.js";
export {
  check as checkBooks,
  type Discrepancy,
  formatReport,
  type ReconcileReport,
  type ReconcileTargets,
  reconcile,
} from "./tools/reconcile.js";
export { databaseUrl, serviceDatabases } from "./service-databases.js";
export {
  AlreadySeededError,
  defaultUsers,
  progressBar,
  type SeedSummary,
  type SeedTargets,
  seedCategories,
  seedProductId,
  seedShop,
  seedShopperEmail,
} from "./tools/seed.js";
