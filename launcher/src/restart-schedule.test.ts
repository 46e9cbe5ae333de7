import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type RestartPolicy, RestartSchedule } from "./restart-schedule.js";

const policy: RestartPolicy = { initialDelayMs: 1_000, maxDelayMs: 30_000, resetAfterMs: 60_000 };

/** A schedule whose starts succeed unless told to fail, and which records what it did. */
function schedule(opts: { fail?: () => boolean } = {}) {
  const starts: number[] = [];
  const failures: Array<{ nextDelayMs: number; restarts: number }> = [];
  const restarted: number[] = [];
  const s = new RestartSchedule(policy, {
    start: async () => {
      starts.push(Date.now());
      if (opts.fail?.()) throw new Error("not ready");
    },
    onRestarted: (n) => restarted.push(n),
    onFailed: (_err, nextDelayMs, restarts) => failures.push({ nextDelayMs, restarts }),
  });
  return { s, starts, failures, restarted };
}

describe("RestartSchedule", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("starts the process after the delay, which doubles with each exit up to the cap", async () => {
    const { s, starts, restarted } = schedule();
    s.up();
    const delays: number[] = [];
    for (let i = 0; i < 7; i++) {
      const exitedAt = Date.now();
      delays.push(s.exited());
      expect(s.pending).toBe(true);
      await vi.advanceTimersByTimeAsync((delays.at(-1) as number) - 1);
      expect(starts).toHaveLength(i);
      await vi.advanceTimersByTimeAsync(1);
      expect(starts).toHaveLength(i + 1);
      expect(starts.at(-1) as number).toBe(exitedAt + (delays.at(-1) as number));
      // Up a moment only: no reset.
      await vi.advanceTimersByTimeAsync(500);
    }
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
    expect(restarted).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(s.restarts).toBe(7);
    expect(s.pending).toBe(false);
  });

  it("starts over at the first delay once the process stayed up for the reset time", async () => {
    const { s } = schedule();
    s.up();
    expect(s.exited()).toBe(1_000);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(s.exited()).toBe(2_000);
    await vi.advanceTimersByTimeAsync(2_000);
    // Up a little less than the reset time: the backoff goes on.
    await vi.advanceTimersByTimeAsync(policy.resetAfterMs - 1);
    expect(s.exited()).toBe(4_000);
    await vi.advanceTimersByTimeAsync(4_000);
    // Up the reset time: back to the first delay.
    await vi.advanceTimersByTimeAsync(policy.resetAfterMs);
    expect(s.exited()).toBe(1_000);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(s.restarts).toBe(4);
  });

  it("schedules the next restart with the longer delay when a restart fails", async () => {
    let failing = true;
    const { s, starts, failures, restarted } = schedule({ fail: () => failing });
    s.up();
    expect(s.exited()).toBe(1_000);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(failures).toEqual([{ nextDelayMs: 2_000, restarts: 1 }]);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(failures).toEqual([
      { nextDelayMs: 2_000, restarts: 1 },
      { nextDelayMs: 4_000, restarts: 2 },
    ]);
    failing = false;
    await vi.advanceTimersByTimeAsync(4_000);
    expect(starts).toHaveLength(3);
    expect(restarted).toEqual([3]);
    expect(s.restarts).toBe(3);
    expect(s.pending).toBe(false);
  });

  it("drops a pending restart on cancel, and neither reports nor retries one under way", async () => {
    const { s, starts } = schedule();
    s.exited();
    s.cancel();
    expect(s.pending).toBe(false);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(starts).toEqual([]);

    let reject: (err: Error) => void = () => undefined;
    const failed = vi.fn();
    const slow = new RestartSchedule(policy, {
      start: () =>
        new Promise<void>((_resolve, r) => {
          reject = r;
        }),
      onFailed: failed,
    });
    slow.exited();
    await vi.advanceTimersByTimeAsync(1_000);
    slow.cancel();
    reject(new Error("stopped while starting"));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(failed).not.toHaveBeenCalled();
    expect(slow.pending).toBe(false);
    expect(slow.restarts).toBe(1);
  });
});
