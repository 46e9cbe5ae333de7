// The Kafka-protocol broker of a run: the one KAFKA_BROKERS names, or librdkafka's mock cluster
// (scripts/kafka-test-broker.py, as the tests use) started for the run and stopped after it.
import { closeSync, openSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { spawnChild, stopChild } from "./children.js";
import { HarnessError, logTail } from "./system.js";

/** Debian's interpreter: a pyenv `python3` earlier on PATH lacks the system packages. */
const PYTHON = "/usr/bin/python3";
const START_TIMEOUT_MS = 10_000;

export interface BenchBroker {
  readonly brokers: readonly string[];
  /** What it is, for the report. */
  readonly description: string;
  stop(): Promise<void>;
}

/** `brokers` when given (left running), else a mock broker of the run's own. */
export async function startBroker(opts: {
  repoRoot: string;
  brokers: readonly string[] | undefined;
  logPath: string;
}): Promise<BenchBroker> {
  if (opts.brokers) {
    return { brokers: opts.brokers, description: `KAFKA_BROKERS ${opts.brokers.join(",")}`, stop: async () => {} };
  }
  const script = join(opts.repoRoot, "scripts", "kafka-test-broker.py");
  const logFd = openSync(opts.logPath, "a");
  // stdin stays open: the script ends when it closes, i.e. with the harness at the latest.
  const child = spawnChild(PYTHON, [script], { stdio: ["pipe", "pipe", logFd] });
  closeSync(logFd);
  if (!child.stdout) throw new HarnessError(`could not spawn ${PYTHON} ${script}`);

  const address = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const fail = (why: string) => {
      clearTimeout(timer);
      lines.close();
      reject(new HarnessError(`${script} ${why} (run scripts/ensure-kafka.sh): ${logTail(opts.logPath, 5)}`));
    };
    const timer = setTimeout(() => fail(`printed no address within ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
    lines.once("line", (line) => {
      clearTimeout(timer);
      lines.close();
      resolve(line.trim());
    });
    child.once("exit", (code, signal) => fail(`exited (${signal ?? code}) before listening`));
    child.once("error", (err) => fail(err.message));
  });
  child.stdout.resume();
  const brokers = address.split(",").filter(Boolean);
  if (brokers.length === 0) throw new HarnessError(`${script} printed no address: ${JSON.stringify(address)}`);
  return {
    brokers,
    description: `librdkafka mock broker at ${brokers.join(",")} (scripts/kafka-test-broker.py)`,
    async stop() {
      child.stdin?.end();
      await stopChild(child, 3_000);
    },
  };
}
