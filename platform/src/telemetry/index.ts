export { type AdminServer, type AdminServerOptions, createAdminServer } from "./admin-server.js";
export {
  addMetricsSource,
  collectProcessMetrics,
  createCounter,
  createGauge,
  createHistogram,
  durationBuckets,
  metricsRegistry,
  type MetricsSnapshot,
  metricsSnapshot,
  type OutboxBacklog,
  processMetricsText,
  watchOutboxBacklog,
} from "./metrics.js";
export {
  type DependencyWatch,
  type DependencyWatchOptions,
  type ReadinessCheck,
  readinessReport,
  registerReadiness,
  watchDependency,
} from "./readiness.js";
export { logContext } from "./log-context.js";
export {
  contextFromTraceparent,
  currentTraceparent,
  lazyTracer,
  recordFailure,
  setupTracing,
  shutdownTracing,
  type TracingSetup,
  tracerFor,
} from "./tracing.js";
