// Child processes of the harness: each runs in its own process group so that stopping it also
// stops anything it started, and every one still alive is killed when the harness exits,
// however it exits.
import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process";
import { once } from "node:events";

const live = new Set<ChildProcess>();

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

export function killAllChildren(): void {
  for (const child of live) signalGroup(child, "SIGKILL");
  live.clear();
}

let handlersInstalled = false;

/** Kills every tracked child on exit, on SIGINT/SIGTERM/SIGHUP and on an uncaught error. */
export function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on("exit", killAllChildren);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
      console.error(`\nbench: received ${signal}, stopping children`);
      killAllChildren();
      process.exit(128 + (signal === "SIGINT" ? 2 : signal === "SIGTERM" ? 15 : 1));
    });
  }
  const onFatal = (err: unknown) => {
    console.error("bench: fatal error:", err);
    killAllChildren();
    process.exit(1);
  };
  process.on("uncaughtException", onFatal);
  process.on("unhandledRejection", onFatal);
}

export function spawnChild(command: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  const child = spawn(command, args, { ...options, detached: true });
  live.add(child);
  child.once("exit", () => live.delete(child));
  // A spawn failure (ENOENT…) is reported through the exit/error paths of the callers.
  child.once("error", () => live.delete(child));
  return child;
}

export function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

export interface StopOutcome {
  /** From SIGTERM to exit, milliseconds. */
  readonly stopMs: number;
  /** True when the child ignored SIGTERM for `graceMs` and was killed. */
  readonly forced: boolean;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** SIGTERM to the child's group, SIGKILL after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<StopOutcome> {
  const started = performance.now();
  if (hasExited(child)) {
    return { stopMs: 0, forced: false, exitCode: child.exitCode, signal: child.signalCode };
  }
  const exited = once(child, "exit");
  signalGroup(child, "SIGTERM");
  let forced = false;
  const timer = setTimeout(() => {
    forced = true;
    signalGroup(child, "SIGKILL");
  }, graceMs);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
  // Reap anything the child left behind in its group.
  if (child.pid !== undefined) {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // group empty
    }
  }
  return {
    stopMs: Math.round(performance.now() - started),
    forced,
    exitCode: child.exitCode,
    signal: child.signalCode,
  };
}
