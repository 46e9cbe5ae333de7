import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";

/** How a child process ended. */
export interface ProcessExit {
  readonly name: string;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Whether the launcher asked for it (stop, kill); otherwise the process died on its own. */
  readonly expected: boolean;
  /** The last lines it wrote, stdout and stderr interleaved. */
  readonly tail: readonly string[];
}

export type OutputSink = (name: string, stream: "stdout" | "stderr", line: string) => void;

export interface ManagedProcessOptions {
  /** Name in logs and errors ("order", "order-2", "edge"). */
  readonly name: string;
  /** The Node script to run. */
  readonly script: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly output: OutputSink;
  /** Called when the process ends without the launcher asking. */
  readonly onUnexpectedExit: (exit: ProcessExit) => void;
}

const TAIL_LINES = 30;
/** The compiled preload, found the same way from src/ (tests) and dist/. */
const PARENT_WATCH = new URL("../dist/parent-watch.js", import.meta.url).href;

/**
 * One child Node process of the launcher, which can be started again after it ended: its lines
 * go to the sink, the last ones are kept for error messages, and it is started with the
 * parent watch (it stops when the launcher goes away) in a process group of its own (a Ctrl-C in
 * the terminal reaches the launcher only, which stops the children in order).
 */
export class ManagedProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<ProcessExit> | undefined;
  private expectExit = false;
  private readonly lines: string[] = [];

  constructor(readonly opts: ManagedProcessOptions) {}

  get name(): string {
    return this.opts.name;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get tail(): readonly string[] {
    return [...this.lines];
  }

  /** Spawns the process (no-op when it runs); resolves the returned promise when it ends. */
  start(): Promise<ProcessExit> {
    if (this.child && this.exited) return this.exited;
    this.expectExit = false;
    this.lines.length = 0;
    const child = spawn(process.execPath, ["--import", PARENT_WATCH, this.opts.script], {
      env: this.opts.env,
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      detached: true,
    });
    this.child = child;
    const streamsDone = [this.pipe(child, "stdout"), this.pipe(child, "stderr")];
    this.exited = new Promise<ProcessExit>((resolve) => {
      let finished = false;
      const finish = (code: number | null, signal: NodeJS.Signals | null) => {
        if (finished) return;
        finished = true;
        // The last lines (often the reason) arrive after the exit event.
        void Promise.all(streamsDone).then(() => {
          if (this.child === child) this.child = undefined;
          const exit: ProcessExit = { name: this.name, code, signal, expected: this.expectExit, tail: this.tail };
          resolve(exit);
          if (!exit.expected) this.opts.onUnexpectedExit(exit);
        });
      };
      child.once("exit", finish);
      child.once("error", (err) => {
        this.note("stderr", `failed to spawn: ${err.message}`);
        finish(null, null);
      });
    });
    return this.exited;
  }

  /** Sends `signal` and resolves when the process has ended (at once when it is not running). */
  async kill(signal: NodeJS.Signals = "SIGTERM"): Promise<ProcessExit | undefined> {
    const child = this.child;
    const exited = this.exited;
    if (!child || !exited) return undefined;
    this.expectExit = true;
    child.kill(signal);
    return exited;
  }

  /** SIGTERM, then SIGKILL when it is still running after `graceMs`. */
  async stop(graceMs: number): Promise<ProcessExit | undefined> {
    const exited = this.exited;
    if (!this.child || !exited) return undefined;
    const timer = setTimeout(() => {
      this.note("stderr", `still running ${graceMs} ms after SIGTERM: SIGKILL`);
      this.child?.kill("SIGKILL");
    }, graceMs);
    try {
      return await this.kill("SIGTERM");
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL without waiting: for the launcher's own exit, when nothing can be awaited. */
  killNow(): void {
    if (!this.child) return;
    this.expectExit = true;
    this.child.kill("SIGKILL");
  }

  private pipe(child: ChildProcess, stream: "stdout" | "stderr"): Promise<void> {
    const input = child[stream];
    if (!input) return Promise.resolve();
    const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
    lines.on("line", (line) => this.note(stream, line));
    return new Promise((resolve) => lines.once("close", resolve));
  }

  private note(stream: "stdout" | "stderr", line: string): void {
    this.lines.push(line);
    if (this.lines.length > TAIL_LINES) this.lines.shift();
    this.opts.output(this.name, stream, line);
  }
}
