import type { Logger } from "../logger.js";
import { type EnsureMeshOptions, ensureMeshCertificates } from "./issue.js";

export interface CertificateRenewer {
  /** Stops the timer; waits for a renewal in progress. */
  stop(): Promise<void>;
}

/**
 * Runs {@link ensureMeshCertificates} every `intervalMs` (default 10 minutes) while the mesh runs,
 * so each certificate is re-issued once less than a third of its lifetime is left; the processes
 * pick the new files up themselves (see `createMeshTls`). The first pass is the caller's (at
 * start, awaited); failures are logged and tried again at the next tick.
 */
export function startCertificateRenewer(
  opts: EnsureMeshOptions & { readonly logger: Logger; readonly intervalMs?: number },
): CertificateRenewer {
  const { logger, intervalMs = 10 * 60_000, ...ensure } = opts;
  let running: Promise<void> | undefined;
  const tick = () => {
    running ??= ensureMeshCertificates(ensure)
      .then(
        (r) => {
          if (r.caIssued || r.issued.length > 0) logger.info({ caIssued: r.caIssued, issued: r.issued }, "mesh certificates renewed");
        },
        (err: unknown) => logger.error({ err, dir: ensure.dir }, "renewing the mesh certificates failed"),
      )
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
