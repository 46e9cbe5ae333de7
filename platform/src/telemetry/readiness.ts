/**
 * What the process depends on to serve, as the admin server's `GET /readyz` reports it. Each
 * hosted service registers its dependencies (its database; the broker in distributed mode);
 * the process is ready when all of them are.
 */

/** One dependency's state, kept current by whoever watches it. */
export interface ReadinessCheck {
  /** e.g. "order/database". */
  readonly name: string;
  ready(): boolean;
}

const checks = new Set<ReadinessCheck>();

/** Adds a check to the process's readiness; returns the function that removes it. */
export function registerReadiness(check: ReadinessCheck): () => void {
  checks.add(check);
  return () => {
    checks.delete(check);
  };
}

/** The process's readiness: ready when every registered check is. */
export function readinessReport(): { ready: boolean; checks: Record<string, "ok" | "failing"> } {
  const out: Record<string, "ok" | "failing"> = {};
  let ready = true;
  for (const c of checks) {
    const ok = c.ready();
    out[c.name] = ok ? "ok" : "failing";
    ready &&= ok;
  }
  return { ready, checks: out };
}

export interface DependencyWatchOptions {
  readonly name: string;
  /** Resolves when the dependency answers; rejects (or times out) when it does not. */
  readonly probe: () => Promise<unknown>;
  /** How often to probe; default 2 s. */
  readonly intervalMs?: number;
  /** How long a probe may take before it counts as failed; default 1 s. */
  readonly timeoutMs?: number;
  /** Called when the state changes (after the first probe too). */
  readonly onChange?: (ready: boolean, err?: unknown) => void;
}

export interface DependencyWatch extends ReadinessCheck {
  /** Probes now and then every interval; resolves after the first probe. */
  start(): Promise<void>;
  stop(): void;
}

/** Probes a dependency (a database, a broker) on a timer and remembers whether it answered. */
export function watchDependency(opts: DependencyWatchOptions): DependencyWatch {
  const intervalMs = opts.intervalMs ?? 2_000;
  const timeoutMs = opts.timeoutMs ?? 1_000;
  let ready = false;
  let known = false;
  let timer: NodeJS.Timeout | undefined;
  let running = false;

  const probeOnce = async () => {
    let deadline: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        opts.probe(),
        new Promise((_, reject) => {
          deadline = setTimeout(() => reject(new Error(`${opts.name}: no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      set(true);
    } catch (err) {
      set(false, err);
    } finally {
      clearTimeout(deadline);
    }
  };
  const set = (now: boolean, err?: unknown) => {
    if (known && now === ready) return;
    known = true;
    ready = now;
    opts.onChange?.(now, err);
  };
  const schedule = () => {
    if (!running) return;
    timer = setTimeout(() => {
      void probeOnce().then(schedule);
    }, intervalMs);
    timer.unref();
  };

  return {
    name: opts.name,
    ready: () => ready,
    async start() {
      if (running) return;
      running = true;
      await probeOnce();
      schedule();
    },
    stop() {
      running = false;
      clearTimeout(timer);
    },
  };
}
