import { Code, ConnectError } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as Status } from "@shopmesh/proto/grpc/health/v1/health_pb.js";
import { type ServiceRegistration, serviceRegistration } from "./service.js";

export { Status as ServingStatus };

/**
 * grpc.health.v1 on our own adapter, so that Watch streams end with the server like every
 * other stream. Statuses are kept per service name ("" is the server as a whole).
 */
export class HealthRegistry {
  readonly #status = new Map<string, Status>();
  readonly #watchers = new Map<string, Set<(s: Status) => void>>();

  constructor(names: readonly string[]) {
    for (const n of names) this.#status.set(n, Status.NOT_SERVING);
  }

  set(name: string, status: Status): void {
    if (this.#status.get(name) === status) return;
    this.#status.set(name, status);
    for (const w of this.#watchers.get(name) ?? []) w(status);
  }

  setAll(status: Status): void {
    for (const n of this.#status.keys()) this.set(n, status);
  }

  get(name: string): Status | undefined {
    return this.#status.get(name);
  }

  registration(): ServiceRegistration {
    return serviceRegistration(Health, {
      check: async (req) => {
        const status = this.#status.get(req.service);
        if (status === undefined) throw new ConnectError(`unknown service ${req.service}`, Code.NotFound);
        return { status };
      },
      watch: (req, ctx) => this.#watch(req.service, ctx.signal),
    });
  }

  async *#watch(name: string, signal: AbortSignal): AsyncIterable<{ status: Status }> {
    const queue: Status[] = [this.#status.get(name) ?? Status.SERVICE_UNKNOWN];
    let wake: (() => void) | undefined;
    const watcher = (s: Status) => {
      queue.push(s);
      wake?.();
    };
    const set = this.#watchers.get(name) ?? new Set<(s: Status) => void>();
    this.#watchers.set(name, set);
    set.add(watcher);
    const onAbort = () => wake?.();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      while (!signal.aborted) {
        const next = queue.shift();
        if (next !== undefined) {
          yield { status: next };
          continue;
        }
        await new Promise<void>((r) => {
          wake = r;
        });
        wake = undefined;
      }
    } finally {
      set.delete(watcher);
      signal.removeEventListener("abort", onAbort);
    }
  }
}
