/** How the distributed launcher restarts a process that ended on its own (compose's and Kubernetes' restart policy). */
export interface RestartPolicy {
  /** Delay before the first restart. */
  readonly initialDelayMs: number;
  /** Each further restart waits twice as long as the one before, up to this. */
  readonly maxDelayMs: number;
  /** A process that stayed up this long is restarted after `initialDelayMs` again (Kubernetes' CrashLoopBackOff reset). */
  readonly resetAfterMs: number;
}

export interface RestartScheduleOptions {
  /** Starts the process again; resolves once it is ready, rejects when it did not get there. */
  readonly start: () => Promise<void>;
  /** A restart succeeded: the process is ready again. */
  readonly onRestarted?: (restarts: number) => void;
  /** A restart failed; the next one comes after `nextDelayMs`. */
  readonly onFailed?: (err: unknown, nextDelayMs: number, restarts: number) => void;
}

/**
 * The restarts of one process: each time it ends on its own, a start after the next delay of
 * the backoff (doubling from `initialDelayMs` to `maxDelayMs`). A restart that fails counts as
 * another exit, with the longer delay. A deliberate stop or start cancels what is pending.
 */
export class RestartSchedule {
  private nextDelayMs: number;
  private upSince: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Bumped by `cancel`: a restart under way from before it neither reports nor retries. */
  private generation = 0;
  private count = 0;

  constructor(
    private readonly policy: RestartPolicy,
    private readonly opts: RestartScheduleOptions,
  ) {
    this.nextDelayMs = policy.initialDelayMs;
  }

  /** How many restarts were attempted (failed ones included). */
  get restarts(): number {
    return this.count;
  }

  /** Whether a restart waits for its delay. */
  get pending(): boolean {
    return this.timer !== undefined;
  }

  /** The process is up (ready) from now; its uptime decides whether the backoff starts over. */
  up(): void {
    this.upSince = Date.now();
  }

  /** The process ended on its own: schedules a restart and returns its delay. */
  exited(): number {
    this.cancel();
    if (this.upSince !== undefined && Date.now() - this.upSince >= this.policy.resetAfterMs) {
      this.nextDelayMs = this.policy.initialDelayMs;
    }
    this.upSince = undefined;
    const delay = this.nextDelayMs;
    this.nextDelayMs = Math.min(delay * 2, this.policy.maxDelayMs);
    const generation = this.generation;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const restarts = ++this.count;
      this.opts.start().then(
        () => {
          if (generation !== this.generation) return;
          this.up();
          this.opts.onRestarted?.(restarts);
        },
        (err: unknown) => {
          if (generation !== this.generation) return;
          this.opts.onFailed?.(err, this.exited(), restarts);
        },
      );
    }, delay);
    return delay;
  }

  /** Drops a pending restart, and makes one under way neither report nor retry. */
  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.generation++;
  }
}
